/*
 * The progress line of long file reads (private to the program): bytes
 * read of the inputs' total, percent, packets a second, connections open
 * and the time left, redrawn in place on stderr a few times a second and
 * erased at the end. The read loop pays one decrement a frame; the clock
 * is read only every few thousand frames.
 */
#ifndef TCPLENS_PROGRESS_H
#define TCPLENS_PROGRESS_H

#include <stdio.h>

#include "tcplens/engine.h"
#include "tcplens/source.h"

/* The first line appears after this long: short runs print nothing. */
#define TL_PROGRESS_DELAY_NS 1000000000LL
/* Lines are redrawn at most this often. */
#define TL_PROGRESS_PERIOD_NS 250000000LL

/* What one progress line says. */
struct tl_progress_sample {
    uint64_t bytes;       /* bytes of the inputs read */
    uint64_t total;       /* their total; 0 when unknown (a pipe): no percent, no ETA */
    uint64_t frames;      /* frames read */
    uint64_t packets;     /* frames analysed (those the filter passed) */
    uint64_t max_packets; /* -c, 0 = none: the run may end before the inputs do */
    size_t open;          /* connections open */
    double elapsed;       /* seconds since the read began */
};

/* Writes the line's text (no control characters) into buf, cut to width
 * columns when width > 0. Returns its length. */
size_t tl_progress_format(char *buf, size_t size, const struct tl_progress_sample *s,
                          unsigned width);

struct tl_progress {
    FILE *out; /* NULL: no progress line */
    const struct tl_source *src;
    const struct tl_engine *e;
    uint64_t max_packets;
    uint32_t every;   /* frames between two looks at the clock */
    uint32_t left;    /* frames until the next look */
    int64_t start_ns; /* CLOCK_MONOTONIC */
    int64_t last_look_ns, next_draw_ns;
    bool shown; /* a line is on the terminal */
};

/* Starts the clock. out NULL turns the line off; src and e are borrowed
 * until tl_progress_end(). */
void tl_progress_start(struct tl_progress *p, FILE *out, const struct tl_source *src,
                       const struct tl_engine *e, uint64_t max_packets);

/* Looks at the clock and redraws when due; called by tl_progress_tick(). */
void tl_progress_look(struct tl_progress *p);

/* Once per frame analysed. */
static inline void tl_progress_tick(struct tl_progress *p)
{
    if (--p->left == 0)
        tl_progress_look(p);
}

/* SIGUSR1: the progress line, then how many connections are open and
 * their endpoints' states, on out as lines of their own (the line
 * redrawn in place, if any, comes back at the next redraw). */
void tl_progress_snapshot(struct tl_progress *p, FILE *out);

/* Erases the line, if one was drawn. */
void tl_progress_end(struct tl_progress *p);

#endif
