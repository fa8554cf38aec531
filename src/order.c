/*
 * The ordering stage (order.h): a min-heap of the connections that ended
 * before an older one, keyed by id, each entry holding every reporter's
 * text in one block; past the memory budget the blocks go to one overflow
 * file and come back when their turn comes.
 *
 * The overflow file is appended to in the order connections end and read
 * back in id order, which is another order: each block comes back with one
 * pread(2) of its own length. A stdio stream would refill its whole buffer
 * after every seek, and switch between reading and writing with a seek:
 * that read a mebibyte for each block of a few kilobytes, a fifth of the
 * time of a triage run that spills and two thirds of an NDJSON run's.
 */
#include "tcplens/order.h"

#include "report_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Spilled text is appended through a buffer of this size: one write(2) a
 * mebibyte. A block still in the buffer comes back from it. */
#define OVERFLOW_BUFFER ((size_t)1024 * 1024)

/* A connection that ended before an older one: the reporters' texts one
 * after the other (lens[i] bytes each, 0 for a reporter that does not
 * list it) in blob, or (blob NULL) at offset off of the overflow file. */
struct pending {
    uint64_t id;
    char *blob;
    uint64_t off;
    size_t len;
    uint32_t lens[TL_ORDER_MAX_REPORTS];
    uint8_t listed; /* bit i: reporter i lists it (its text may be empty) */
    bool skip;      /* nobody lists it: it only holds its place in the order */
};

struct tl_order {
    struct tl_report *r[TL_ORDER_MAX_REPORTS];
    size_t n;
    size_t budget; /* bytes of waiting text kept in memory */
    struct pending *heap;
    size_t nheap, capheap;
    size_t waiting_bytes; /* text of heap entries held in memory */
    FILE *overflow;       /* heap text beyond the budget; NULL until needed */
    /* Its tail, not written yet: the bytes from file offset tail_off on
     * (tail_len of them; no buffer when it could not be allocated). */
    char *tail;
    uint64_t tail_off;
    size_t tail_len;
    bool reorders;        /* some reporter writes in id order */
    uint64_t next_id;     /* lowest id not yet written */
    uint64_t oldest_held; /* every lower id has come (tl_order_oldest_held); 0: unknown */
    /* Tallied once for every reporter: each connection as it comes, the
     * host anomalies at the end. */
    struct report_summary sum;
    bool hosts_tallied;
};

struct tl_order *tl_order_new(struct tl_report *const *reports, size_t n)
{
    if (n > TL_ORDER_MAX_REPORTS)
        return NULL;
    struct tl_order *o = calloc(1, sizeof *o);
    if (o == NULL)
        return NULL;
    o->n = n;
    o->next_id = 1;
    tl_report_summary_init(&o->sum);
    o->budget = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        o->r[i] = reports[i];
        size_t b = tl_report_wait_budget(reports[i]);
        if (b < o->budget)
            o->budget = b;
        o->reorders = o->reorders || tl_report_reorders(reports[i]);
    }
    return o;
}

void tl_order_free(struct tl_order *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->nheap; i++)
        free(o->heap[i].blob);
    free(o->heap);
    if (o->overflow != NULL)
        fclose(o->overflow);
    free(o->tail);
    tl_report_summary_free(&o->sum);
    free(o);
}

static void heap_swap(struct pending *a, struct pending *b)
{
    struct pending t = *a;
    *a = *b;
    *b = t;
}

static void heap_up(struct pending *h, size_t i)
{
    while (i > 0 && h[(i - 1) / 2].id > h[i].id) {
        heap_swap(&h[(i - 1) / 2], &h[i]);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct pending *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && h[l].id < h[m].id)
            m = l;
        if (l + 1 < n && h[l + 1].id < h[m].id)
            m = l + 1;
        if (m == i)
            return;
        heap_swap(&h[i], &h[m]);
        i = m;
    }
}

/* Writes or reads all n bytes at off, through interruptions and short
 * transfers; false on an error or an early end of file. */
static bool transfer(int fd, char *buf, size_t n, uint64_t off, bool write)
{
    while (n > 0) {
        ssize_t k = write ? pwrite(fd, buf, n, (off_t)off) : pread(fd, buf, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        buf += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return true;
}

/* Writes the buffered tail out; the tail then starts where it ended. */
static bool flush_tail(struct tl_order *o)
{
    if (o->tail_len > 0 && !transfer(fileno(o->overflow), o->tail, o->tail_len, o->tail_off, true))
        return false;
    o->tail_off += o->tail_len;
    o->tail_len = 0;
    return true;
}

/* Moves an entry's text to the overflow file; the entry then refers to it. */
static enum tl_status spill(struct tl_order *o, struct pending *p)
{
    if (o->overflow == NULL) {
        if ((o->overflow = tmpfile()) == NULL)
            return TL_EIO;
        o->tail = malloc(OVERFLOW_BUFFER); /* without it, every block is a write */
        o->tail_off = 0;
        o->tail_len = 0;
    }
    size_t room = o->tail != NULL ? OVERFLOW_BUFFER - o->tail_len : 0;
    if (p->len > room && !flush_tail(o))
        return TL_EIO;
    p->off = o->tail_off + o->tail_len;
    if (o->tail != NULL && p->len <= OVERFLOW_BUFFER) {
        memcpy(o->tail + o->tail_len, p->blob, p->len);
        o->tail_len += p->len;
    } else {
        if (!transfer(fileno(o->overflow), p->blob, p->len, p->off, true))
            return TL_EIO;
        o->tail_off += p->len;
    }
    free(p->blob);
    p->blob = NULL;
    return TL_OK;
}

/* Brings spilled text back into memory. A block is never split between
 * the file and the tail: spill() writes the whole tail out before a block
 * that does not fit in it. */
static enum tl_status unspill(struct tl_order *o, struct pending *p)
{
    p->blob = malloc(p->len + 1);
    if (p->blob == NULL)
        return TL_ENOMEM;
    if (p->off >= o->tail_off)
        memcpy(p->blob, o->tail + (p->off - o->tail_off), p->len);
    else if (!transfer(fileno(o->overflow), p->blob, p->len, p->off, false))
        return TL_EIO;
    return TL_OK;
}

/* Hands each reporter that lists p its text. */
static enum tl_status write_entry(struct tl_order *o, const struct pending *p)
{
    enum tl_status st = TL_OK;
    size_t at = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (p->listed & (1u << i)) {
            enum tl_status s = tl_report_put(o->r[i], p->id, p->blob + at, p->lens[i]);
            if (st == TL_OK)
                st = s;
        }
        at += p->lens[i];
    }
    return st;
}

/* Takes the lowest waiting connection off the heap and, if write, writes it. */
static enum tl_status pop_one(struct tl_order *o, bool write)
{
    struct pending p = o->heap[0];
    enum tl_status st = TL_OK;
    o->heap[0] = o->heap[--o->nheap];
    heap_down(o->heap, o->nheap, 0);
    if (p.skip)
        ;
    else if (p.blob != NULL)
        o->waiting_bytes -= p.len;
    else if (write)
        st = unspill(o, &p);
    if (write && st == TL_OK && !p.skip)
        st = write_entry(o, &p);
    if (p.id >= o->next_id)
        o->next_id = p.id + 1;
    free(p.blob);
    return st;
}

/* Whether every connection older than the lowest waiting one has come. */
static bool turn_of_top(const struct tl_order *o)
{
    return o->heap[0].id <= o->next_id || o->heap[0].id < o->oldest_held;
}

/* Writes waiting connections whose turn has come (all of them if force). */
static enum tl_status drain(struct tl_order *o, bool force)
{
    enum tl_status st = TL_OK;
    while (o->nheap > 0 && (force || turn_of_top(o))) {
        enum tl_status s = pop_one(o, st == TL_OK);
        if (st == TL_OK)
            st = s;
    }
    /* Nothing waits any more: the overflow file can start over. */
    if (o->nheap == 0) {
        o->tail_off = 0;
        o->tail_len = 0;
    }
    return st;
}

/* Takes p, whatever it returns: once its text is in the heap, a failure to
 * write an older entry (pop_one()) must not make the caller free it too. */
static enum tl_status heap_push(struct tl_order *o, struct pending *p)
{
    if (o->nheap == o->capheap) {
        size_t cap = o->capheap ? o->capheap * 2 : 64;
        struct pending *h = realloc(o->heap, cap * sizeof *h);
        if (h == NULL) {
            free(p->blob);
            return TL_ENOMEM;
        }
        o->heap = h;
        o->capheap = cap;
    }
    if (!p->skip && o->waiting_bytes + p->len > o->budget) {
        enum tl_status st = spill(o, p);
        if (st != TL_OK) {
            free(p->blob); /* still the text: spill() frees it once written */
            return st;
        }
    } else {
        o->waiting_bytes += p->len;
    }
    o->heap[o->nheap] = *p;
    heap_up(o->heap, o->nheap++);
    /* Memory is bounded by the cap, not by how long an older one stays open. */
    return o->nheap > TL_ORDER_WAIT_MAX ? drain(o, true) : TL_OK;
}

/*
 * Every reporter tallies v and formats it if it lists it. A reporter that
 * writes as connections end (live streams) gets its text at once; the
 * texts of the others, one after the other, make p's blob (p->skip when
 * none of them lists v).
 */
static enum tl_status take_all(struct tl_order *o, const struct tl_conn_view *v, struct pending *p)
{
    char *text[TL_ORDER_MAX_REPORTS] = {NULL};
    enum tl_status st = TL_OK;
    for (size_t i = 0; i < o->n && st == TL_OK; i++) {
        size_t len = 0;
        st = tl_report_take(o->r[i], v, &text[i], &len);
        if (st != TL_OK || text[i] == NULL)
            continue;
        if (!tl_report_reorders(o->r[i])) {
            st = tl_report_put(o->r[i], p->id, text[i], len);
            continue;
        }
        p->listed |= (uint8_t)(1u << i);
        p->lens[i] = (uint32_t)len;
        p->len += len;
    }
    p->skip = p->listed == 0;
    if (st == TL_OK && !p->skip && (p->blob = malloc(p->len + 1)) == NULL)
        st = TL_ENOMEM;
    for (size_t i = 0, at = 0; i < o->n; i++) {
        if (p->blob != NULL && p->lens[i] != 0)
            memcpy(p->blob + at, text[i], p->lens[i]);
        at += p->lens[i];
        free(text[i]);
    }
    return st;
}

static enum tl_status take_conn(struct tl_order *o, const struct tl_conn_view *v)
{
    uint64_t id = v->conn->id;
    struct pending p = {.id = id};
    tl_report_summary_add(&o->sum, v);
    enum tl_status st = take_all(o, v, &p);
    if (st != TL_OK) {
        free(p.blob);
        return st;
    }
    bool in_turn = !o->reorders || id == o->next_id || (o->nheap == 0 && id < o->oldest_held);
    if (in_turn) {
        st = write_entry(o, &p);
        free(p.blob);
        if (id >= o->next_id)
            o->next_id = id + 1;
        return st != TL_OK ? st : drain(o, false);
    }
    /* Not listed, and every older one accounted for: nothing to wait for. */
    if (p.skip && o->oldest_held != 0)
        return drain(o, false);
    return heap_push(o, &p);
}

/* What the connection released goes on to the readers of streams. */
enum tl_status tl_order_conn(struct tl_order *o, const struct tl_conn_view *v)
{
    enum tl_status st = take_conn(o, v);
    for (size_t i = 0; i < o->n; i++) {
        enum tl_status s = tl_report_released(o->r[i]);
        if (st == TL_OK)
            st = s;
    }
    return st;
}

void tl_order_oldest_held(struct tl_order *o, uint64_t oldest)
{
    if (oldest > o->oldest_held)
        o->oldest_held = oldest;
}

enum tl_status tl_order_flush(struct tl_order *o) { return drain(o, true); }

size_t tl_order_waiting(const struct tl_order *o) { return o->nheap; }

const struct report_summary *tl_order_summary(const struct tl_order *o) { return &o->sum; }

void tl_order_tally_hosts(struct tl_order *o, const struct tl_host_anomaly_list *h)
{
    if (!o->hosts_tallied)
        tl_report_summary_hosts(&o->sum, h);
    o->hosts_tallied = true;
}
