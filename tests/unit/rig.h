/*
 * An engine with one report, fed segments of one 4-tuple
 * (10.0.0.1:cport <-> 10.0.0.2:80), for the unit tests that drive whole
 * connections through it (test_engine.c, test_detect.c).
 *
 * Everything is static inline and works on the caller's struct: no globals.
 */
#ifndef TCPLENS_TEST_RIG_H
#define TCPLENS_TEST_RIG_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "tcplens/engine.h"
#include "tcplens/lookahead.h"

enum { RIG_C2S = 0, RIG_S2C = 1 };

struct rig {
    struct tl_engine *e;
    struct tl_report *r;
    FILE *out;
    uint64_t pkt_no;
    uint16_t cport;          /* client port of the 4-tuple in use */
    uint16_t vlan[2];        /* 802.1Q id by direction, 0: untagged */
    struct tl_lookahead *la; /* frames go through it when set */
};

/* The engine of configuration ec with one report of configuration rc,
 * writing to a temporary file. */
static inline void rig_start(struct rig *g, const struct tl_report_cfg *rc,
                             const struct tl_engine_cfg *ec)
{
    memset(g, 0, sizeof *g);
    g->out = tmpfile();
    struct tl_report_cfg c = *rc;
    c.out = g->out;
    g->r = tl_report_new(&c);
    struct tl_engine_cfg e = *ec;
    e.reports = &g->r;
    e.nreports = 1;
    g->e = tl_engine_new(&e);
    if (g->out == NULL || g->r == NULL || g->e == NULL)
        abort();
    g->cport = 40000;
}

/* One segment at ts_us, sent by dir, with window win. */
static inline void rig_feed(struct rig *g, int64_t ts_us, int dir, uint8_t flags, uint32_t seq,
                            uint32_t ack, size_t len, uint16_t win)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    if (g->vlan[dir] != 0) {
        pkt_eth(&p, PKT_ETH_VLAN);
        pkt_vlan(&p, g->vlan[dir], PKT_ETH_IPV4);
    } else {
        pkt_eth(&p, PKT_ETH_IPV4);
    }
    uint32_t a = PKT_V4(10, 0, 0, 1), b = PKT_V4(10, 0, 0, 2);
    pkt_ipv4(&p, dir == RIG_C2S ? a : b, dir == RIG_C2S ? b : a, PKT_PROTO_TCP, 0);
    struct pkt_tcp t = {.sport = dir == RIG_C2S ? g->cport : 80,
                        .dport = dir == RIG_C2S ? 80 : g->cport,
                        .seq = seq,
                        .ack = ack,
                        .flags = flags,
                        .win = win,
                        .paylen = len};
    pkt_tcp(&p, &t);
    pkt_finish(&p);
    struct tl_frame f = {ts_us, (uint32_t)p.len, (uint32_t)p.len, buf, TL_DLT_EN10MB,
                         0,     ++g->pkt_no};
    bool fed;
    if (g->la != NULL ? tl_lookahead_feed(g->la, &f, &fed) != TL_OK
                      : tl_engine_feed(g->e, &f) != TL_OK)
        abort();
}

/* An ICMP error of type and code (rest: the MTU of fragmentation needed)
 * from address from, at ts_us, to the sender of the segment of direction
 * dir it quotes (its first 20 bytes; sequence number seq) on port cport. */
static inline void rig_icmp(struct rig *g, int64_t ts_us, uint32_t from, int dir, uint8_t type,
                            uint8_t code, uint32_t rest, uint16_t cport, uint32_t seq)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    pkt_eth(&p, PKT_ETH_IPV4);
    uint32_t a = PKT_V4(10, 0, 0, 1), b = PKT_V4(10, 0, 0, 2);
    pkt_ipv4(&p, from, dir == RIG_C2S ? a : b, PKT_PROTO_ICMP, 0);
    pkt_icmp(&p, type, code, rest);
    pkt_quote_ipv4(&p, dir == RIG_C2S ? a : b, dir == RIG_C2S ? b : a, 40); /* no payload */
    pkt_quote_tcp(&p, dir == RIG_C2S ? cport : 80, dir == RIG_C2S ? 80 : cport, seq, 0,
                  dir == RIG_C2S ? 0x02 : 0x12, 20);
    pkt_finish(&p);
    struct tl_frame f = {ts_us, (uint32_t)p.len, (uint32_t)p.len, buf, TL_DLT_EN10MB,
                         0,     ++g->pkt_no};
    bool fed;
    if (g->la != NULL ? tl_lookahead_feed(g->la, &f, &fed) != TL_OK
                      : tl_engine_feed(g->e, &f) != TL_OK)
        abort();
}

/* Ends the run and the report; cap gets the capture's counters, and runs
 * (unless NULL) how many times the detectors ran. */
static inline void rig_finish(struct rig *g, struct tl_capture_info *cap, uint64_t *runs)
{
    if (g->la != NULL && tl_lookahead_drain(g->la) != TL_OK)
        abort();
    tl_lookahead_free(g->la);
    g->la = NULL;
    if (tl_engine_finish(g->e) != TL_OK)
        abort();
    *cap = *tl_engine_capture(g->e);
    if (runs != NULL)
        *runs = tl_engine_detector_runs(g->e);
    struct tl_run run = {.capture = cap, .summary = tl_engine_summary(g->e)};
    if (tl_report_finish(g->r, &run) != TL_OK)
        abort();
    tl_engine_free(g->e);
    tl_report_free(g->r);
}

/* After rig_finish(): the NDJSON report's connections (its "connection"
 * records; the summary line and host anomalies left out) as a JSON array
 * (the caller frees it); the report's file is closed. */
static inline json_t *rig_read(struct rig *g)
{
    rewind(g->out);
    json_t *all = json_array();
    char *line = NULL;
    size_t size = 0;
    while (getline(&line, &size, g->out) > 0) {
        json_t *rec = json_loads(line, 0, NULL);
        const char *kind = json_string_value(json_object_get(rec, "record"));
        if (kind == NULL || strcmp(kind, "connection") == 0)
            json_array_append_new(all, rec);
        else
            json_decref(rec);
    }
    free(line);
    fclose(g->out);
    return all;
}

#endif
