/*
 * flow_loop.c - the floor under any design of tcplens's analysis.
 *
 * The bare loop (bare_loop.c) plus what no TCP analysis can leave out:
 * tcplens's own decoder on every frame, a table to find each segment's
 * connection, and a state of 96 bytes per connection (sequence numbers,
 * windows, flags and counters each way) written by every segment. A connection leaves the table at its end: an RST, or the ACK
 * after both FINs. Nothing else runs: no state machine, no Zeek
 * emulation, no tracker, timeline, detector or report, no 60 s linger.
 *
 * Two tables, one per run:
 *   default   tcplens's own flow table (src/flow.c), as tcplens uses it:
 *             chained hash, recency list touched by every segment;
 *   --open    a table built for this loop alone: open addressing with a
 *             tag byte per slot in an array of its own, the key and the
 *             state together in three cache lines, no recency list, and
 *             the lookups of 16 segments started (prefetched) before the
 *             first is done.
 * Both must give the same counts and checksum (tests/bench-floor.sh).
 *
 * run.sh measures both beside the bare loop, so a table shows what share
 * of tcplens's time the floor takes and what the analysis adds on top. It
 * links tcplens's library (libtcplens.a): the same decoder tcplens runs.
 */
/* pcap.h uses the BSD u_char/u_int types, which glibc hides under -std=c11. */
#define _DEFAULT_SOURCE

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "tcplens/decode.h"
#include "tcplens/flow.h"

#define BATCH 16
#define LINE 64

/* One direction of the state. */
struct hot_dir {
    uint32_t seq, ack, win;
    uint8_t flags; /* every TL_TH_* flag it sent */
    uint64_t packets, bytes;
    int64_t last_ts;
};

struct hot {
    struct hot_dir dir[2];
    int64_t first_ts;
    uint64_t first_pkt;
};

_Static_assert(sizeof(struct hot) <= 2 * LINE, "two cache lines at most");

struct tally {
    uint64_t packets, segments, skipped, conns, ended, open, mix;
};

/* A decoded segment waiting in a batch. */
struct seg {
    uint32_t seq, ack, win, payload_len;
    uint8_t flags;
    bool from_a;
    int64_t ts;
    uint64_t pkt_no;
    uint32_t hash;
    struct tl_flow_key key; /* padding zeroed: the open table hashes its bytes */
};

/* Writes s into the state; true when it ends the connection. */
static bool update(struct hot *h, const struct seg *s, struct tally *y)
{
    struct hot_dir *d = &h->dir[s->from_a ? 0 : 1];
    d->seq = s->seq;
    d->ack = s->ack;
    d->win = s->win;
    d->flags |= s->flags;
    d->packets++;
    d->bytes += s->payload_len;
    d->last_ts = s->ts;
    y->mix = (y->mix << 7 | y->mix >> 57) ^ d->seq ^ (d->packets << 40);
    if (s->flags & TL_TH_RST)
        return true;
    return (h->dir[0].flags & TL_TH_FIN) && (h->dir[1].flags & TL_TH_FIN) &&
           !(s->flags & TL_TH_FIN);
}

static void start(struct hot *h, const struct seg *s, struct tally *y)
{
    h->first_ts = s->ts;
    h->first_pkt = s->pkt_no;
    y->conns++;
}

/* ---- tcplens's flow table ------------------------------------------------ */

static struct hot *hot_of(struct tl_conn *c) { return (struct hot *)(void *)c->ext; }

/* Returns -1 when the table is out of memory. */
static int tl_segment(struct tl_flow_table *t, const struct seg *s, struct tally *y)
{
    uint32_t hash = tl_flow_hash(t, &s->key);
    struct tl_conn *c = tl_flow_lookup(t, &s->key, hash);
    if (c == NULL) {
        if ((c = tl_flow_insert(t, &s->key, hash)) == NULL)
            return -1;
        start(hot_of(c), s, y);
    }
    c->last_ts = c->seen_us = s->ts;
    tl_flow_touch(t, c);
    if (update(hot_of(c), s, y)) {
        tl_flow_remove(t, c);
        y->ended++;
    }
    return 0;
}

/* ---- a table built for the loop ----------------------------------------- */

/* Three cache lines: the key and its hash first, the state after them. */
struct entry {
    _Alignas(LINE) struct tl_flow_key key;
    uint32_t hash;
    struct hot hot;
};

_Static_assert(sizeof(struct entry) == 3 * LINE, "an entry is three cache lines");

struct open_table {
    uint8_t *tag; /* 0: free; else the hash's top bits, never 0 */
    struct entry *e;
    size_t cap, n; /* cap a power of two, at most half used */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= UINT64_C(0x9e3779b97f4a7c15);
    return h ^ (h >> 29);
}

/* The key's bytes (its padding zeroed), then a finaliser: the slot is the
 * low bits, the tag the top ones. */
static uint32_t open_hash(const struct tl_flow_key *k)
{
    uint64_t w[5], h = UINT64_C(0x243f6a8885a308d3);
    _Static_assert(sizeof *k >= sizeof w, "the key's first 40 bytes");
    memcpy(w, k, sizeof w);
    for (int i = 0; i < 5; i++)
        h = mix(h, w[i]);
    h = mix(h, k->vlan);
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    return (uint32_t)(h ^ (h >> 32));
}

static uint8_t tag_of(uint32_t hash) { return (uint8_t)(hash >> 24) | 1; }

static bool open_init(struct open_table *t, size_t cap)
{
    t->cap = cap;
    t->n = 0;
    t->tag = calloc(cap, 1);
    t->e = aligned_alloc(LINE, cap * sizeof *t->e);
    if (t->tag == NULL || t->e == NULL) {
        free(t->tag);
        free(t->e);
        return false;
    }
    return true;
}

/* The slot of key, or the free slot where it would go. */
static size_t open_slot(const struct open_table *t, const struct tl_flow_key *k, uint32_t hash)
{
    size_t m = t->cap - 1, i = hash & m;
    uint8_t tg = tag_of(hash);
    while (t->tag[i] != 0 &&
           !(t->tag[i] == tg && t->e[i].hash == hash && memcmp(&t->e[i].key, k, sizeof *k) == 0))
        i = (i + 1) & m;
    return i;
}

static bool open_grow(struct open_table *t)
{
    struct open_table old = *t;
    if (!open_init(t, old.cap * 2)) {
        *t = old;
        return false;
    }
    for (size_t i = 0; i < old.cap; i++) {
        if (old.tag[i] == 0)
            continue;
        size_t j = open_slot(t, &old.e[i].key, old.e[i].hash);
        t->tag[j] = old.tag[i];
        t->e[j] = old.e[i];
        t->n++;
    }
    free(old.tag);
    free(old.e);
    return true;
}

/* Frees slot i; later entries of its run move back, so that a lookup
 * never needs to step over a removed one. */
static void open_remove(struct open_table *t, size_t i)
{
    size_t m = t->cap - 1, j = i;
    t->tag[i] = 0;
    t->n--;
    for (;;) {
        j = (j + 1) & m;
        if (t->tag[j] == 0)
            return;
        size_t home = t->e[j].hash & m;
        bool stays = i <= j ? home > i && home <= j : home > i || home <= j;
        if (stays)
            continue;
        t->tag[i] = t->tag[j];
        t->e[i] = t->e[j];
        t->tag[j] = 0;
        i = j;
    }
}

static void open_prefetch(const struct open_table *t, uint32_t hash)
{
    size_t i = hash & (t->cap - 1);
    __builtin_prefetch(&t->tag[i]);
    for (int l = 0; l < 3; l++)
        __builtin_prefetch((const char *)&t->e[i] + l * LINE);
}

/* Returns -1 when the table is out of memory. */
static int open_segment(struct open_table *t, const struct seg *s, struct tally *y)
{
    if ((t->n + 1) * 2 > t->cap && !open_grow(t))
        return -1;
    size_t i = open_slot(t, &s->key, s->hash);
    if (t->tag[i] == 0) {
        t->tag[i] = tag_of(s->hash);
        memset(&t->e[i], 0, sizeof t->e[i]);
        t->e[i].key = s->key;
        t->e[i].hash = s->hash;
        t->n++;
        start(&t->e[i].hot, s, y);
    }
    if (update(&t->e[i].hot, s, y)) {
        open_remove(t, i);
        y->ended++;
    }
    return 0;
}

/* ---- the loop ------------------------------------------------------------ */

struct run {
    struct tl_flow_table *tl; /* NULL with --open */
    struct open_table open;
    struct tally y;
};

/* Decodes the next frames into b; returns how many, 0 at the end. */
static int fill(pcap_t *pc, int linktype, struct run *r, struct seg *b, int *rc)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int n = 0;
    while (n < BATCH && (*rc = pcap_next_ex(pc, &h, &data)) == 1) {
        struct tl_pkt p;
        r->y.packets++;
        if (tl_decode(data, h->caplen, h->len, linktype, &p) != TL_DEC_OK) {
            r->y.skipped++;
            continue;
        }
        r->y.segments++;
        struct seg *s = &b[n++];
        memset(&s->key, 0, sizeof s->key);
        tl_flow_key_make(&p, &s->key, &s->from_a);
        s->seq = p.seq;
        s->ack = p.ack;
        s->win = p.win;
        s->payload_len = p.payload_len;
        s->flags = p.flags;
        s->ts = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        s->pkt_no = r->y.packets;
        if (r->tl == NULL) { /* start the lookup now, finish it later */
            s->hash = open_hash(&s->key);
            open_prefetch(&r->open, s->hash);
        }
    }
    return n;
}

/* Returns 0 at the end of the file, 1 on a read error or out of memory. */
static int read_all(pcap_t *pc, struct run *r)
{
    int linktype = pcap_datalink(pc), rc = 1, n;
    struct seg b[BATCH];
    while ((n = fill(pc, linktype, r, b, &rc)) > 0) {
        for (int i = 0; i < n; i++) {
            int st = r->tl != NULL ? tl_segment(r->tl, &b[i], &r->y)
                                   : open_segment(&r->open, &b[i], &r->y);
            if (st != 0) {
                fputs("flow_loop: out of memory\n", stderr);
                return 1;
            }
        }
    }
    if (rc != PCAP_ERROR_BREAK)
        fprintf(stderr, "flow_loop: %s\n", pcap_geterr(pc));
    return rc == PCAP_ERROR_BREAK ? 0 : 1;
}

static bool run_open(struct run *r, bool open)
{
    if (open)
        return open_init(&r->open, 1024);
    struct tl_flow_cfg cfg = {.ext_size = sizeof(struct hot)};
    return (r->tl = tl_flow_table_new(&cfg)) != NULL;
}

static void run_close(struct run *r)
{
    if (r->tl != NULL) {
        r->y.open = tl_flow_count(r->tl);
        tl_flow_table_free(r->tl);
    } else {
        r->y.open = r->open.n;
        free(r->open.tag);
        free(r->open.e);
    }
}

int main(int argc, char **argv)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    bool open = argc == 3 && strcmp(argv[1], "--open") == 0;
    if (argc != 2 + open) {
        fputs("usage: flow_loop [--open] FILE|-\n", stderr);
        return 2;
    }
    pcap_t *pc = pcap_open_offline(argv[argc - 1], errbuf);
    if (pc == NULL) {
        fprintf(stderr, "flow_loop: %s\n", errbuf);
        return 2;
    }
    struct run r;
    memset(&r, 0, sizeof r);
    if (!run_open(&r, open)) {
        fputs("flow_loop: out of memory\n", stderr);
        pcap_close(pc);
        return 2;
    }
    int rc = read_all(pc, &r);
    run_close(&r);
    printf("packets %" PRIu64 " segments %" PRIu64 " skipped %" PRIu64 " connections %" PRIu64
           " ended %" PRIu64 " open %" PRIu64 " checksum %016" PRIx64 "\n",
           r.y.packets, r.y.segments, r.y.skipped, r.y.conns, r.y.ended, r.y.open, r.y.mix);
    pcap_close(pc);
    return rc;
}
