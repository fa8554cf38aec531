/*
 * gen.h - what the two halves of the benchmark's pcap generator share.
 *
 * gen.c owns the file: random numbers, packet encoding, the schedule that
 * interleaves connections, the command line.  gen_tcp.c owns TCP: the
 * packet script of one connection of each kind, with seq/ack/timestamp
 * arithmetic as Linux does it.
 */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include <stdbool.h>
#include <stdint.h>

enum { CLI = 0, SRV = 1 }; /* endpoint index; also a segment's direction */

enum {
    TH_FIN = 0x01,
    TH_SYN = 0x02,
    TH_RST = 0x04,
    TH_PSH = 0x08,
    TH_ACK = 0x10,
};

/* A segment's TCP options; OPT_ICMP marks an ICMP error instead, from
 * the segment's sender, quoting the client's SYN (its seq). */
enum opt_kind { OPT_NONE, OPT_TS, OPT_SYN_TS, OPT_SYN_NOTS, OPT_ICMP };

/* What a connection does; gen_tcp.c tells each one's story, README.md
 * lists which tcplens anomalies each one shows. */
enum kind {
    K_NORMAL,
    K_RST,
    K_REFUSED,
    K_SYN_TIMEOUT,
    K_RETRANS,
    K_REUSE,
    K_CLOSE_WAIT,
    K_SYN_RETRY,
    K_SYNACK_RETRANS,
    K_RST_AFTER_CLOSE,
    K_FIN_RETRANS,
    K_FIN_WAIT2,
    K_SIMUL_CLOSE,
    K_HALF_CLOSE,
    K_ZERO_WINDOW,
    K_KEEPALIVE,
    K_KEEPALIVE_DEAD,
    K_STALL,
    K_MIDSTREAM,
    K_RST_REORDER,
    K_CAPTURE_GAP,
    K_ICMP_REJECT,
    K_NKINDS
};

struct kind_info {
    const char *name; /* as --mix and the statistics spell it */
    uint32_t pcm;     /* default share, in 1/100000 */
    bool reusable;    /* leaves its 4-tuple free for `reuse` */
};

extern const struct kind_info kind_info[K_NKINDS];

/* Shares are kept in units of 1/100000 so "0.5%" is exact. */
#define PCM_ONE 100000u

#define MAX_PAYLOAD 1460u
#define RTO_MIN_US 200000u /* Linux TCP_RTO_MIN */
#define MAX_SEGS_ROUND 16u /* keeps a burst well inside one window */

struct rng {
    uint64_t s[4];
};

struct cfg {
    const char *out_path;
    uint64_t conns; /* 0: not given */
    uint64_t pkts;  /* 0: not given */
    uint32_t concurrency;
    bool full;
    bool quiet;
    uint64_t seed;
    uint32_t ipv6_pcm;
    uint32_t ts_pcm; /* share of servers that accept timestamps */
    uint32_t kind_pcm[K_NKINDS];
    uint32_t ppc_x256; /* mean packets per connection, fixed point */
};

struct tuple {
    uint8_t addr[2][16]; /* IPv4 uses the first four bytes */
    uint16_t port[2];
    bool v6;
};

struct seg {
    uint64_t t; /* capture clock, microseconds */
    uint32_t seq, ack, tsval, tsecr;
    uint16_t len; /* TCP payload length on the wire */
    uint16_t win;
    uint8_t flags, dir, opt;
};

struct conn {
    struct tuple tup;
    uint16_t mss[2];
    uint8_t ws[2];
    uint16_t ip_id[2];
    uint32_t flow_label[2];
    enum kind kind;
    bool truncated;
    struct seg *segs;
    uint32_t nsegs, cap, next;
};

/* Per-endpoint bookkeeping while a script is being built. */
struct ep {
    uint32_t nxt;              /* next sequence number this side sends */
    uint32_t ts_base, ts_last; /* TSval clock offset; last TSval sent */
    uint16_t win;              /* scaled window advertised after the SYN */
    uint16_t pay_mss;          /* payload of a full-sized segment */
};

struct build {
    struct conn *c;
    struct rng *rng;
    uint64_t t;
    uint32_t rtt; /* as seen from a tap next to the client */
    bool ts_on;
    bool oom;
    struct ep ep[2];
};

/* Appends the whole packet script of a connection of kind k to b->c. */
void script_conn(struct build *b, const struct cfg *cfg, enum kind k);

/* ---- random numbers: one seeded xoshiro256** stream -------------------- */

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, n); the multiply-shift bias is far below what matters here. */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

static inline uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

static inline bool rng_pcm(struct rng *r, uint32_t pcm) { return rng_below(r, PCM_ONE) < pcm; }

#endif
