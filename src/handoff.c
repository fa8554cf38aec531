/*
 * The handoff (handoff.h): a bounded queue of finished connections between
 * the engine and a thread that runs the rest. Each copy is one block: the
 * view's parts and the tracker, then the connection, the timeline's
 * entries and sums, and the tracker's lists. Nothing in a copy points back
 * into the engine, which reuses or frees the originals at once.
 */
#include "tcplens/handoff.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct snap {
    struct tl_finished f; /* points into this block, or NULL */
    struct tl_tcpstate tcp;
    struct tl_zeek zeek;
    struct tl_timeline tl;
    struct tl_track track;
};

/* One place in the queue: the copy lives in buf, which stays the slot's
 * from one connection to the next. Only the engine's thread allocates it
 * (a free from the other thread took glibc's arena lock each time). */
struct slot {
    struct snap *s;
    unsigned char *buf;
    size_t cap;
};

struct tl_handoff {
    enum tl_status (*fn)(void *ctx, const struct tl_finished *f);
    void *ctx;
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t more; /* signalled when TL_HANDOFF_BATCH wait */
    pthread_cond_t room; /* ... when the queue stops being full */
    struct slot ring[TL_HANDOFF_DEPTH];
    /* Under mu. Slots head .. head + count - 1 hold copies, the oldest
     * first; the thread releases those it has handed on. */
    size_t head, count;
    bool done;          /* nothing more will come */
    enum tl_status err; /* the thread's first failure */
};

/* A slot's buffer keeps at most this much between connections: one long
 * timeline must not keep its room in every slot it passed through. */
#define SLOT_KEEP ((size_t)64 << 10)

/* Offsets in a copy: every part starts on a 16-byte boundary, which
 * struct tl_conn needs and malloc gives. */
static size_t up16(size_t n) { return (n + 15u) & ~(size_t)15u; }

/* Makes room for size bytes in sl's buffer. */
static bool slot_room(struct slot *sl, size_t size)
{
    if (size <= sl->cap && (sl->cap <= SLOT_KEEP || size > SLOT_KEEP / 2))
        return true;
    unsigned char *b = realloc(sl->buf, size);
    if (b == NULL)
        return false;
    sl->buf = b;
    sl->cap = size;
    return true;
}

/* Copies f into sl. */
static bool snap_into(struct slot *sl, const struct tl_finished *f)
{
    const struct tl_conn_view *v = &f->v;
    const struct tl_timeline *t = v->timeline;
    size_t nev = t != NULL ? t->n : 0, nsum = t != NULL ? t->nsum : 0;
    size_t at_conn = up16(sizeof(struct snap));
    size_t at_ev = at_conn + up16(sizeof(struct tl_conn));
    size_t at_sum = at_ev + up16(nev * sizeof(struct tl_event));
    size_t at_track = at_sum + up16(nsum * sizeof(struct tl_sum));
    size_t track_extra = f->track != NULL ? tl_track_copy_size(f->track) : 0;
    if (!slot_room(sl, at_track + track_extra))
        return false;
    unsigned char *b = sl->buf;
    struct snap *s = (struct snap *)(void *)b;
    sl->s = s;
    /* The parts below are read only where s->f points to them. */
    s->f = (struct tl_finished){.now_us = f->now_us, .oldest = f->oldest, .detect = f->detect};
    struct tl_conn *c = (struct tl_conn *)(void *)(b + at_conn);
    memcpy(c, v->conn, sizeof *c);
    s->f.v.conn = c;
    s->f.v.released_pkt = v->released_pkt;
    if (v->tcp != NULL) {
        s->tcp = *v->tcp;
        s->f.v.tcp = &s->tcp;
    }
    if (v->zeek != NULL) {
        tl_zeek_copy_for_report(&s->zeek, v->zeek);
        s->f.v.zeek = &s->zeek;
    }
    if (t != NULL) {
        s->tl = *t;
        s->tl.ev = nev != 0 ? (struct tl_event *)(void *)(b + at_ev) : NULL;
        s->tl.sum = nsum != 0 ? (struct tl_sum *)(void *)(b + at_sum) : NULL;
        s->tl.cap = (uint32_t)nev;
        s->tl.sumcap = (uint32_t)nsum;
        if (nev != 0)
            memcpy(s->tl.ev, t->ev, nev * sizeof *t->ev);
        if (nsum != 0)
            memcpy(s->tl.sum, t->sum, nsum * sizeof *t->sum);
        s->f.v.timeline = &s->tl;
    }
    if (f->track != NULL) {
        tl_track_copy(&s->track, f->track, b + at_track);
        s->f.track = &s->track;
    }
    return true;
}

/* Waits for a batch (or the end): the first slot and how many. */
static size_t take(struct tl_handoff *h, size_t *first)
{
    pthread_mutex_lock(&h->mu);
    while (h->count < TL_HANDOFF_BATCH && !h->done)
        pthread_cond_wait(&h->more, &h->mu);
    size_t n = h->count;
    *first = h->head;
    pthread_mutex_unlock(&h->mu);
    return n;
}

/* Gives n slots back to the engine; st is how handing them on went (the
 * first failure sticks). */
static void release(struct tl_handoff *h, size_t n, enum tl_status st)
{
    pthread_mutex_lock(&h->mu);
    if (h->count == TL_HANDOFF_DEPTH)
        pthread_cond_signal(&h->room);
    h->head = (h->head + n) % TL_HANDOFF_DEPTH;
    h->count -= n;
    if (h->err == TL_OK)
        h->err = st;
    pthread_mutex_unlock(&h->mu);
}

/* The thread: hands each copy on in the order queued. A failure does not
 * stop it: the engine learns of it at its next connection and stops
 * reading, and what it still hands over is written where it can be, as
 * on one thread. */
static void *run(void *arg)
{
    struct tl_handoff *h = arg;
#ifdef __GLIBC__
    pthread_setname_np(pthread_self(), "tcplens-report"); /* in top -H and perf */
#endif
    size_t first, n;
    while ((n = take(h, &first)) > 0) {
        enum tl_status st = TL_OK;
        for (size_t i = 0; i < n; i++) {
            enum tl_status cs = h->fn(h->ctx, &h->ring[(first + i) % TL_HANDOFF_DEPTH].s->f);
            if (st == TL_OK)
                st = cs;
        }
        release(h, n, st);
    }
    return NULL;
}

struct tl_handoff *tl_handoff_new(enum tl_status (*fn)(void *ctx, const struct tl_finished *f),
                                  void *ctx)
{
    struct tl_handoff *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->fn = fn;
    h->ctx = ctx;
    bool mu = pthread_mutex_init(&h->mu, NULL) == 0;
    bool more = pthread_cond_init(&h->more, NULL) == 0;
    bool room = pthread_cond_init(&h->room, NULL) == 0;
    h->running = mu && more && room && pthread_create(&h->thread, NULL, run, h) == 0;
    if (!h->running) {
        if (mu)
            pthread_mutex_destroy(&h->mu);
        if (more)
            pthread_cond_destroy(&h->more);
        if (room)
            pthread_cond_destroy(&h->room);
        free(h);
        return NULL;
    }
    return h;
}

enum tl_status tl_handoff_conn(struct tl_handoff *h, const struct tl_finished *f)
{
    pthread_mutex_lock(&h->mu);
    while (h->count == TL_HANDOFF_DEPTH)
        pthread_cond_wait(&h->room, &h->mu);
    /* The next free slot stays the next while the thread releases
     * others: they are all before it. */
    struct slot *sl = &h->ring[(h->head + h->count) % TL_HANDOFF_DEPTH];
    pthread_mutex_unlock(&h->mu);
    bool copied = snap_into(sl, f);
    pthread_mutex_lock(&h->mu);
    if (copied && ++h->count == TL_HANDOFF_BATCH)
        pthread_cond_signal(&h->more);
    enum tl_status st = copied ? h->err : TL_ENOMEM;
    pthread_mutex_unlock(&h->mu);
    return st;
}

/* Lets the thread drain the queue and end. */
static void stop(struct tl_handoff *h)
{
    if (!h->running)
        return;
    pthread_mutex_lock(&h->mu);
    h->done = true;
    pthread_cond_signal(&h->more);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    h->running = false;
}

enum tl_status tl_handoff_finish(struct tl_handoff *h)
{
    stop(h);
    return h->err;
}

void tl_handoff_free(struct tl_handoff *h)
{
    if (h == NULL)
        return;
    stop(h);
    for (size_t i = 0; i < TL_HANDOFF_DEPTH; i++)
        free(h->ring[i].buf);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->more);
    pthread_cond_destroy(&h->room);
    free(h);
}
