/*
 * tcplens merge of units in time: which later records are the same
 * connection as an earlier unit's (merge_cross.h). A unit that followed
 * into a later one's files took every segment there of the 4-tuples it
 * held: a later record of the same 4-tuple (with VLAN and tunnel) whose
 * first segment came while the earlier record still had segments is in
 * the earlier unit's records. Without --follow, a record whose sequence
 * numbers go on from those of an earlier one left open is its part after
 * the cut.
 */
#include "merge_cross.h"

#include <stdlib.h>
#include <string.h>

#include "tcplens/tcpstate.h"

/* How far past an entry's highest sequence number a connection left open
 * may go on unseen and still be taken for it: a gigabyte, a quarter of
 * the sequence space. */
#define SPLIT_SEQ_AHEAD (UINT32_C(1) << 30)
/* And how long it may have been quiet: an hour. */
#define SPLIT_QUIET_US (3600 * INT64_C(1000000))

struct entry {
    struct tl_flow_key key;  /* zeroed, then filled: compared whole */
    uint32_t isn[2], nxt[2]; /* by key side (a, b) */
    bool seen[2];
    bool open; /* ended open: its unit's run ended with it held */
    uint32_t unit;
    int64_t first_ts, last_ts;
    uint64_t first_packet, id;
    uint64_t ends;
};

struct tl_merge_cross {
    struct entry *e; /* sorted by key once sealed */
    size_t n, cap;
    struct mark {
        uint64_t first_packet;
        size_t at;  /* in e[] */
    } * by_packet;  /* by first_packet, for written() */
    uint64_t *ends; /* the entries' endpoint digests, sorted */
    size_t next;    /* the next of them to be written */
    uint32_t nunits;
    bool *follows; /* [u * nunits + later]: u followed into later's inputs */
};

struct tl_merge_cross *tl_merge_cross_new(uint32_t nunits)
{
    struct tl_merge_cross *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->nunits = nunits;
    t->follows = calloc((size_t)nunits * nunits, sizeof *t->follows);
    if (t->follows == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void tl_merge_cross_follows(struct tl_merge_cross *t, uint32_t u, uint32_t later)
{
    if (u < t->nunits && later < t->nunits)
        t->follows[(size_t)u * t->nunits + later] = true;
}

void tl_merge_cross_free(struct tl_merge_cross *t)
{
    if (t == NULL)
        return;
    free(t->e);
    free(t->by_packet);
    free(t->ends);
    free(t->follows);
    free(t);
}

/* key and sequence spaces of v, by key side. */
static void entry_of(const struct tl_conn_view *v, struct entry *x)
{
    memset(x, 0, sizeof *x);
    x->key = v->conn->key;
    x->first_ts = v->conn->first_ts;
    x->last_ts = v->conn->last_ts;
    x->open = v->conn->end == TL_END_OPEN;
    for (int side = 0; side < 2 && v->tcp != NULL; side++) {
        /* Key side a is the client when client_is_a. */
        const struct tl_ep *ep = &v->tcp->ep[(side == 0) != v->conn->client_is_a];
        x->seen[side] = ep->seen;
        x->isn[side] = ep->isn;
        x->nxt[side] = ep->snd_nxt;
    }
}

bool tl_merge_cross_add(struct tl_merge_cross *t, const struct tl_conn_view *v, uint32_t unit,
                        uint64_t first_packet, uint64_t ends)
{
    if (t->n == t->cap) {
        size_t c = t->cap ? t->cap * 2 : 256;
        struct entry *e = realloc(t->e, c * sizeof *e);
        if (e == NULL)
            return false;
        t->e = e;
        t->cap = c;
    }
    struct entry *x = &t->e[t->n++];
    entry_of(v, x);
    x->unit = unit;
    x->first_packet = first_packet;
    x->ends = ends;
    return true;
}

static int by_key(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    int k = memcmp(&a->key, &b->key, sizeof a->key);
    return k != 0 ? k : a->first_packet < b->first_packet ? -1 : a->first_packet > b->first_packet;
}

static int by_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

static int by_packet(const void *pa, const void *pb)
{
    const struct mark *a = pa, *b = pb;
    return a->first_packet < b->first_packet ? -1 : a->first_packet > b->first_packet;
}

void tl_merge_cross_seal(struct tl_merge_cross *t)
{
    if (t->n > 1)
        qsort(t->e, t->n, sizeof *t->e, by_key);
    t->ends = malloc((t->n ? t->n : 1) * sizeof *t->ends);
    for (size_t i = 0; t->ends != NULL && i < t->n; i++)
        t->ends[i] = t->e[i].ends;
    if (t->ends != NULL && t->n > 1)
        qsort(t->ends, t->n, sizeof *t->ends, by_u64);
    t->by_packet = malloc((t->n ? t->n : 1) * sizeof *t->by_packet);
    if (t->by_packet == NULL)
        return; /* ids are then not known: 0 */
    for (size_t i = 0; i < t->n; i++)
        t->by_packet[i] = (struct mark){t->e[i].first_packet, i};
    if (t->n > 1)
        qsort(t->by_packet, t->n, sizeof *t->by_packet, by_packet);
}

bool tl_merge_cross_may(const struct tl_merge_cross *t, uint64_t ends)
{
    if (t->ends == NULL) /* short of memory when sealed: every record is read */
        return t->n > 0;
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ends[mid] < ends)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n && t->ends[lo] == ends;
}

/*
 * r's first segment while q still had segments: the earlier unit took it,
 * for q or for a connection on the 4-tuple it started (--follow starts
 * one that reuses the 4-tuple of one it holds): followed. Else, q left
 * open, r's sequence numbers on each side going on from q's within the
 * hour: the part after (split).
 */
static enum tl_merge_cross_is relation(const struct entry *q, const struct entry *r, bool followed)
{
    if (followed && r->first_ts >= q->first_ts && r->first_ts <= q->last_ts)
        return TL_CROSS_FOLLOWED;
    bool common = false, within = true, ahead = true;
    for (int side = 0; side < 2; side++) {
        if (!q->seen[side] || !r->seen[side])
            continue;
        common = true;
        uint32_t span = q->nxt[side] - q->isn[side], at = r->isn[side] - q->isn[side];
        within = within && at <= span;
        ahead = ahead && at - span <= SPLIT_SEQ_AHEAD;
    }
    if (!common)
        return TL_CROSS_OWN;
    if (q->open && (within || ahead) && r->first_ts > q->last_ts &&
        r->first_ts - q->last_ts <= SPLIT_QUIET_US)
        return TL_CROSS_SPLIT;
    return TL_CROSS_OWN;
}

enum tl_merge_cross_is tl_merge_cross_of(const struct tl_merge_cross *t,
                                         const struct tl_conn_view *v, uint32_t unit, uint64_t *id)
{
    *id = 0;
    if (t->n == 0)
        return TL_CROSS_OWN;
    struct entry r;
    entry_of(v, &r);
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(&t->e[mid].key, &r.key, sizeof r.key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* The latest earlier unit's entry that claims it. */
    enum tl_merge_cross_is is = TL_CROSS_OWN;
    for (size_t i = lo; i < t->n && memcmp(&t->e[i].key, &r.key, sizeof r.key) == 0; i++) {
        const struct entry *q = &t->e[i];
        if (q->unit >= unit)
            continue;
        enum tl_merge_cross_is k = relation(q, &r, t->follows[(size_t)q->unit * t->nunits + unit]);
        if (k != TL_CROSS_OWN && (is == TL_CROSS_OWN || k == TL_CROSS_FOLLOWED)) {
            is = k;
            *id = q->id;
        }
    }
    return is;
}

void tl_merge_cross_written(struct tl_merge_cross *t, uint64_t first_packet, uint64_t id)
{
    if (t->by_packet == NULL)
        return;
    while (t->next < t->n && t->by_packet[t->next].first_packet < first_packet)
        t->next++;
    if (t->next < t->n && t->by_packet[t->next].first_packet == first_packet)
        t->e[t->by_packet[t->next++].at].id = id;
}
