/*
 * flow_loop.c - the floor under any design of tcplens's analysis.
 *
 * The bare loop (bare_loop.c) plus what no TCP analysis can leave out:
 * tcplens's own decoder on every frame, its flow table to find each
 * segment's connection, and a state of three cache lines per connection
 * (sequence numbers, windows, flags and counters each way) written by
 * every segment. A connection leaves the table at its end: an RST, or
 * the ACK after both FINs. Nothing else runs: no state machine, no Zeek
 * emulation, no tracker, timeline, detector or report, no 60 s linger.
 *
 * run.sh measures it beside the bare loop, so a table shows what share of
 * tcplens's time the floor takes and what the analysis adds on top. It
 * links tcplens's library (libtcplens.a), so it measures the same decoder
 * and table tcplens runs.
 */
/* pcap.h uses the BSD u_char/u_int types, which glibc hides under -std=c11. */
#define _DEFAULT_SOURCE

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>

#include "tcplens/decode.h"
#include "tcplens/flow.h"

/* One direction of the three-line state. */
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

_Static_assert(sizeof(struct hot) <= 192, "three cache lines at most");

struct tally {
    uint64_t packets, segments, skipped, conns, ended, mix;
};

static struct hot *hot_of(struct tl_conn *c) { return (struct hot *)(void *)c->ext; }

/* Both FINs out, and this segment no FIN of its own: the last ACK. */
static bool ends(const struct hot *h, const struct tl_pkt *p)
{
    if (p->flags & TL_TH_RST)
        return true;
    return (h->dir[0].flags & TL_TH_FIN) && (h->dir[1].flags & TL_TH_FIN) &&
           !(p->flags & TL_TH_FIN);
}

/* Returns -1 when the table is out of memory. */
static int segment(struct tl_flow_table *t, struct tally *y, const struct tl_pkt *p, int64_t ts,
                   uint64_t pkt_no)
{
    struct tl_flow_key k;
    bool from_a;
    tl_flow_key_make(p, &k, &from_a);
    uint32_t hash = tl_flow_hash(t, &k);
    struct tl_conn *c = tl_flow_lookup(t, &k, hash);
    if (c == NULL) {
        if ((c = tl_flow_insert(t, &k, hash)) == NULL)
            return -1;
        hot_of(c)->first_ts = ts;
        hot_of(c)->first_pkt = pkt_no;
        y->conns++;
    }
    struct hot *h = hot_of(c);
    struct hot_dir *d = &h->dir[from_a ? 0 : 1];
    d->seq = p->seq;
    d->ack = p->ack;
    d->win = p->win;
    d->flags |= p->flags;
    d->packets++;
    d->bytes += p->payload_len;
    d->last_ts = ts;
    c->last_ts = c->seen_us = ts;
    tl_flow_touch(t, c);
    y->mix = (y->mix << 7 | y->mix >> 57) ^ d->seq ^ (d->packets << 40);
    if (ends(h, p)) {
        tl_flow_remove(t, c);
        y->ended++;
    }
    return 0;
}

/* Returns 0 at the end of the file, 1 on a read error or out of memory. */
static int read_all(pcap_t *pc, struct tl_flow_table *t, struct tally *y)
{
    int linktype = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        struct tl_pkt p;
        y->packets++;
        if (tl_decode(data, h->caplen, h->len, linktype, &p) != TL_DEC_OK) {
            y->skipped++;
            continue;
        }
        y->segments++;
        int64_t ts = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        if (segment(t, y, &p, ts, y->packets) != 0) {
            fputs("flow_loop: out of memory\n", stderr);
            return 1;
        }
    }
    if (rc != PCAP_ERROR_BREAK)
        fprintf(stderr, "flow_loop: %s\n", pcap_geterr(pc));
    return rc == PCAP_ERROR_BREAK ? 0 : 1;
}

int main(int argc, char **argv)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    if (argc != 2) {
        fputs("usage: flow_loop FILE|-\n", stderr);
        return 2;
    }
    pcap_t *pc = pcap_open_offline(argv[1], errbuf);
    if (pc == NULL) {
        fprintf(stderr, "flow_loop: %s\n", errbuf);
        return 2;
    }
    struct tl_flow_cfg cfg = {.ext_size = sizeof(struct hot)};
    struct tl_flow_table *t = tl_flow_table_new(&cfg);
    if (t == NULL) {
        fputs("flow_loop: out of memory\n", stderr);
        pcap_close(pc);
        return 2;
    }
    struct tally y;
    memset(&y, 0, sizeof y);
    int rc = read_all(pc, t, &y);
    printf("packets %" PRIu64 " segments %" PRIu64 " skipped %" PRIu64 " connections %" PRIu64
           " ended %" PRIu64 " open %zu checksum %016" PRIx64 "\n",
           y.packets, y.segments, y.skipped, y.conns, y.ended, tl_flow_count(t), y.mix);
    tl_flow_table_free(t);
    pcap_close(pc);
    return rc;
}
