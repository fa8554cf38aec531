/*
 * The handoff: what follows a connection's end, on a thread of its own
 * (--threads 2). The engine finishes a connection (its clock, its last
 * timeline entry) and copies it into a queue, then goes on with the next
 * packet; the thread takes the copies in the order they came and calls
 * the engine's function for each: the detectors, host-level detection,
 * the ordering stage and the formatters. They see what they would have
 * seen on one thread, in the same order, so the output is the same byte
 * for byte. The queue holds at most TL_HANDOFF_DEPTH connections, so
 * memory stays bounded when the thread is the slower side.
 */
#ifndef TCPLENS_HANDOFF_H
#define TCPLENS_HANDOFF_H

#include "tcplens/detect.h"
#include "tcplens/model.h"
#include "tcplens/status.h"

#define TL_HANDOFF_DEPTH 1024

/* The thread sleeps until this many wait (or the end): waking it for
 * each connection cost a system call each, more than the formatting. */
#define TL_HANDOFF_BATCH 256

/* A connection the engine has finished with, before its report. */
struct tl_finished {
    struct tl_conn_view v;        /* without anomalies: the detectors come after */
    const struct tl_track *track; /* for the detectors and host-level detection */
    int64_t now_us;               /* the detectors' clock */
    uint64_t oldest;              /* the oldest connection still held (order.h) */
    bool detect;                  /* false: the engine ran out of memory before */
};

struct tl_handoff;

/* Starts the thread, which calls fn(ctx, f) for every connection queued;
 * what fn touches is the thread's until tl_handoff_finish(). NULL when out
 * of memory or the thread could not start. */
TL_MUST_CHECK struct tl_handoff *
tl_handoff_new(enum tl_status (*fn)(void *ctx, const struct tl_finished *f), void *ctx);

/*
 * Queues a copy of f. Waits while the queue is full. Returns the first
 * failure fn returned so far, or TL_ENOMEM when the copy could not be
 * made.
 */
TL_MUST_CHECK enum tl_status tl_handoff_conn(struct tl_handoff *h, const struct tl_finished *f);

/* Waits until the thread has taken everything queued, and stops it. What
 * fn touches is the caller's again. Returns fn's first failure. */
TL_MUST_CHECK enum tl_status tl_handoff_finish(struct tl_handoff *h);

/* Stops the thread if it still runs (it takes what is queued first), and
 * frees h. */
void tl_handoff_free(struct tl_handoff *h);

#endif
