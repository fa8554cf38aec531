/*
 * Where a connection's state machines live: allocated (or the spare one
 * reused), packed while the connection is quiet or has ended (pack.h: the
 * non-zero words only, timeline included), unpacked by its next packet or
 * the report, and freed.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "pack.h"

struct conn_ext *tl_engine_ext_alloc(struct tl_engine *e)
{
    struct conn_ext *x = e->spare;
    e->spare = NULL;
    return x != NULL ? x : malloc(sizeof *x);
}

static void ext_release(struct tl_engine *e, struct conn_ext *x)
{
    if (e->spare == NULL)
        e->spare = x;
    else
        free(x);
}

void tl_engine_pack(struct tl_engine *e, struct tl_conn *c)
{
    struct conn_slot *s = slot(c);
    struct conn_ext *x = s->x;
    if (x == NULL)
        return;
    /* Packed once into the scratch buffer, then copied at its size. */
    size_t evbytes = (size_t)x->tl.n * sizeof *x->tl.ev;
    size_t sumbytes = (size_t)x->tl.nsum * sizeof *x->tl.sum;
    size_t bound = tl_pack_bound(sizeof *x) + tl_pack_bound(evbytes) + tl_pack_bound(sumbytes);
    if (bound > e->scratch_size) {
        uint8_t *b = realloc(e->scratch, bound);
        if (b == NULL)
            return;
        e->scratch = b;
        e->scratch_size = bound;
    }
    tl_track_compact(&x->track); /* what only an active connection needs */
    size_t size = tl_pack(e->scratch, x, sizeof *x);
    if (evbytes)
        size += tl_pack(e->scratch + size, x->tl.ev, evbytes);
    if (sumbytes)
        size += tl_pack(e->scratch + size, x->tl.sum, sumbytes);
    uint8_t *p = malloc(size);
    if (p == NULL)
        return;
    memcpy(p, e->scratch, size);
    free(x->tl.ev);
    free(x->tl.sum);
    ext_release(e, x);
    s->x = NULL;
    s->packed = p;
}

enum tl_status tl_engine_unpack_into(struct conn_ext *x, const uint8_t *p)
{
    p += tl_unpack(x, sizeof *x, p);
    struct tl_timeline *t = &x->tl;
    size_t evbytes = (size_t)t->n * sizeof *t->ev;
    size_t sumbytes = (size_t)t->nsum * sizeof *t->sum; /* a summary is an entry */
    t->cap = t->n;
    t->sumcap = t->nsum;
    t->ev = NULL;
    t->sum = NULL;
    if (evbytes == 0)
        return TL_OK;
    if ((t->ev = malloc(evbytes)) == NULL)
        return TL_ENOMEM;
    p += tl_unpack(t->ev, evbytes, p);
    if (sumbytes == 0)
        return TL_OK;
    if ((t->sum = malloc(sumbytes)) == NULL) {
        tl_timeline_free(t);
        return TL_ENOMEM;
    }
    tl_unpack(t->sum, sumbytes, p);
    return TL_OK;
}

enum tl_status tl_engine_unpack(struct tl_engine *e, struct tl_conn *c)
{
    struct conn_slot *s = slot(c);
    if (s->x != NULL)
        return TL_OK;
    struct conn_ext *x = tl_engine_ext_alloc(e);
    if (x == NULL)
        return TL_ENOMEM;
    if (tl_engine_unpack_into(x, s->packed) != TL_OK) {
        ext_release(e, x);
        return TL_ENOMEM;
    }
    free(s->packed);
    s->packed = NULL;
    s->x = x;
    return TL_OK;
}

void tl_engine_drop_state(struct tl_engine *e, struct tl_conn *c)
{
    struct conn_slot *s = slot(c);
    if (s->x == NULL && s->packed != NULL) {
        /* Only the send lists the tracker allocated are left to free. The
         * copy is on the stack: this runs when memory has run out too, and
         * the lists would leak if it needed any. */
        struct conn_ext x;
        tl_unpack(&x, sizeof x, s->packed);
        tl_track_free(&x.track);
        tl_zeek_free(&x.zeek);
    } else if (s->x != NULL) {
        tl_timeline_free(&s->x->tl);
        tl_track_free(&s->x->track);
        tl_zeek_free(&s->x->zeek);
        ext_release(e, s->x);
    }
    free(s->packed);
    s->x = NULL;
    s->packed = NULL;
}
