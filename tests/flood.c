/*
 * flood: writes the captures tests/flood.sh attacks tcplens with, as a
 * classic pcap (Ethernet, microsecond timestamps) on stdout or in FILE.
 *
 *   flood [-o FILE] syn N SEED   N SYNs to 192.0.2.10:80, 3 µs apart, each
 *                                from its own address and a random port:
 *                                a spoofed SYN flood, N half-open connections;
 *                                through it an SSH session (10.0.0.1:40000 to
 *                                port 22) stays active: 3 + N + 2 ceil(N / 1000)
 *                                packets, N + 1 connections
 *   flood [-o FILE] retrans N    one connection, 10.0.0.1:40000 to
 *                                192.0.2.10:80: handshake, 100 bytes of data
 *                                sent again N times, a duplicate ACK before
 *                                each copy, then the ACK of the data and a
 *                                FIN close; 2 N + 8 packets
 *
 * The same arguments always give the same bytes. Source addresses come
 * from a bijection of the SYN's index, so no two SYNs share a 4-tuple and
 * every one of them starts a connection: the test can predict counts
 * exactly. Checksums: IPv4 filled in, TCP left zero (tcplens, like
 * zeek -C, does not check it by default).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_IP 0xc000020au /* 192.0.2.10 */
#define SERVER_PORT 80u
#define CLIENT_IP 0x0a000001u /* 10.0.0.1 */
#define CLIENT_PORT 40000u
#define EPOCH 1704067200 /* 2024-01-01 00:00:00 UTC */
#define FRAME 54u        /* Ethernet + IPv4 + TCP, no options */
#define DATA_LEN 100u

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_PSH = 0x08, TH_ACK = 0x10 };

struct seg {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t len; /* payload bytes (zeroes) */
};

struct out {
    FILE *f;
    int64_t ts; /* µs from EPOCH */
    bool err;
};

static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v);
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put(struct out *o, const void *b, size_t n)
{
    if (!o->err && fwrite(b, 1, n, o->f) != n)
        o->err = true;
}

static void file_header(struct out *o)
{
    uint8_t h[24] = {0};
    le32(h, 0xa1b2c3d4u); /* microsecond timestamps */
    h[4] = 2;             /* version 2.4 */
    h[6] = 4;
    le32(h + 16, 65535); /* snaplen */
    le32(h + 20, 1);     /* LINKTYPE_ETHERNET */
    put(o, h, sizeof h);
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Writes s as one frame at o->ts. */
static void frame(struct out *o, const struct seg *s)
{
    static const uint8_t zeroes[DATA_LEN];
    uint8_t rec[16 + FRAME] = {0}, *eth = rec + 16, *ip = eth + 14, *tcp = ip + 20;
    uint32_t len = FRAME + s->len;
    le32(rec, (uint32_t)(EPOCH + o->ts / 1000000));
    le32(rec + 4, (uint32_t)(o->ts % 1000000));
    le32(rec + 8, len);
    le32(rec + 12, len);
    eth[0] = eth[6] = 0x02; /* locally administered MACs */
    eth[5] = 1;
    eth[11] = 2;
    be16(eth + 12, 0x0800);
    ip[0] = 0x45;
    be16(ip + 2, 20 + 20 + s->len);
    ip[8] = 64;
    ip[9] = 6;
    be32(ip + 12, s->src);
    be32(ip + 16, s->dst);
    be16(ip + 10, ip_checksum(ip, 20));
    be16(tcp, s->sport);
    be16(tcp + 2, s->dport);
    be32(tcp + 4, s->seq);
    be32(tcp + 8, s->ack);
    tcp[12] = 5 << 4;
    tcp[13] = s->flags;
    be16(tcp + 14, 64240);
    put(o, rec, sizeof rec);
    put(o, zeroes, s->len);
}

/* splitmix64: the PRNG, seeded once. */
static uint64_t next_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A bijection of 32-bit values (each step is invertible): distinct SYN
 * indexes give distinct, scattered source addresses. */
static uint32_t scatter(uint32_t x, uint32_t key)
{
    x ^= key;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    return x ^ (x >> 16);
}

/* Sends s after gap µs. */
static void send_after(struct out *o, int64_t gap, const struct seg *s)
{
    o->ts += gap;
    frame(o, s);
}

/* The handshake of c (seq: its ISN) with a server whose ISN is si; c and
 * s are left ready for data. */
static void handshake(struct out *o, struct seg *c, struct seg *s, uint32_t si)
{
    *s = (struct seg){c->dst, c->src, c->dport, c->sport, si, c->seq + 1, TH_SYN | TH_ACK, 0};
    c->flags = TH_SYN;
    send_after(o, 0, c);
    send_after(o, 1000, s);
    c->seq++;
    c->ack = si + 1;
    c->flags = TH_ACK;
    send_after(o, 1000, c);
    s->seq++;
    s->flags = TH_ACK;
}

/*
 * An administrator's SSH session, opened before the flood, sends a byte
 * every SESSION_EVERY SYNs and gets its ACK: always among the most recently
 * seen connections, it outlives the flood and holds the lowest id while
 * every connection of the flood ends before it.
 */
#define SESSION_EVERY 1000u

static void syn_flood(struct out *o, uint32_t n, uint64_t seed)
{
    struct seg c = {.src = CLIENT_IP,
                    .dst = SERVER_IP,
                    .sport = CLIENT_PORT,
                    .dport = 22,
                    .seq = 1000},
               s;
    handshake(o, &c, &s, 5000);
    c.flags = TH_PSH | TH_ACK;
    c.len = 1;
    uint64_t rng = seed;
    uint32_t key = (uint32_t)next_rand(&rng);
    for (uint32_t i = 0; i < n && !o->err; i++) {
        if (i % SESSION_EVERY == 0) {
            send_after(o, 3, &c);
            c.seq++;
            s.ack++;
            send_after(o, 3, &s);
        }
        uint64_t r = next_rand(&rng);
        struct seg syn = {.src = scatter(i, key),
                          .dst = SERVER_IP,
                          .sport = (uint16_t)(1024 + (r >> 32) % 64512),
                          .dport = SERVER_PORT,
                          .seq = (uint32_t)r,
                          .flags = TH_SYN};
        send_after(o, 3, &syn);
    }
}

static void retrans_flood(struct out *o, uint32_t n)
{
    struct seg c = {.src = CLIENT_IP,
                    .dst = SERVER_IP,
                    .sport = CLIENT_PORT,
                    .dport = SERVER_PORT,
                    .seq = 1000},
               s;
    handshake(o, &c, &s, 5000);
    c.flags = TH_PSH | TH_ACK;
    c.len = DATA_LEN;
    send_after(o, 1000, &c);
    /* The server, alive, says it still waits for the data, which comes
     * again: the ACK in between tells each copy from a duplicate made by
     * the capture. */
    for (uint32_t i = 0; i < n && !o->err; i++) {
        send_after(o, 100, &s);
        send_after(o, 200, &c);
    }
    s.ack += DATA_LEN;
    send_after(o, 1000, &s);
    c.seq += DATA_LEN;
    c.flags = TH_FIN | TH_ACK;
    c.len = 0;
    send_after(o, 1000, &c);
    s.ack++;
    s.flags = TH_FIN | TH_ACK;
    send_after(o, 1000, &s);
    c.seq++;
    c.ack++;
    c.flags = TH_ACK;
    send_after(o, 1000, &c);
}

static bool parse_u32(const char *arg, uint32_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || x > UINT32_MAX || arg[0] == '-')
        return false;
    *v = (uint32_t)x;
    return true;
}

static int usage(void)
{
    fprintf(stderr, "usage: flood [-o FILE] syn N SEED\n"
                    "       flood [-o FILE] retrans N\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    if (argc > 2 && strcmp(argv[1], "-o") == 0) {
        path = argv[2];
        argc -= 2;
        argv += 2;
    }
    uint32_t n, seed = 0;
    bool syn = argc == 4 && strcmp(argv[1], "syn") == 0;
    bool retrans = argc == 3 && strcmp(argv[1], "retrans") == 0;
    if ((!syn && !retrans) || !parse_u32(argv[2], &n) || (syn && !parse_u32(argv[3], &seed)))
        return usage();
    struct out o = {path != NULL ? fopen(path, "wb") : stdout, 0, false};
    if (o.f == NULL) {
        fprintf(stderr, "flood: %s: %s\n", path, strerror(errno));
        return 1;
    }
    file_header(&o);
    if (syn)
        syn_flood(&o, n, seed);
    else
        retrans_flood(&o, n);
    if (fclose(o.f) != 0)
        o.err = true;
    if (o.err) {
        fprintf(stderr, "flood: write error: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
