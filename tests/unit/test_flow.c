/*
 * Flow table tests: canonical keys, lookup/insert/remove, first-seen order,
 * recycling, growth, recency lists, the max_flows cap, the ext area, roles.
 */
#include "tcplens/flow.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "tap.h"

static void set_v4(struct tl_addr *a, uint32_t v)
{
    memset(a, 0, sizeof *a);
    a->family = TL_AF_INET;
    pkt_be32(a->b, v);
}

static void set_v6(struct tl_addr *a, uint16_t last)
{
    memset(a, 0, sizeof *a);
    a->family = TL_AF_INET6;
    pkt_v6addr(a->b, last);
}

static struct tl_pkt pkt4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t vlan)
{
    struct tl_pkt p;
    memset(&p, 0, sizeof p);
    set_v4(&p.src, src);
    set_v4(&p.dst, dst);
    p.sport = sport;
    p.dport = dport;
    p.vlan = vlan;
    return p;
}

/* The same packet in the other direction. */
static struct tl_pkt reversed(const struct tl_pkt *p)
{
    struct tl_pkt r = *p;
    r.src = p->dst;
    r.dst = p->src;
    r.sport = p->dport;
    r.dport = p->sport;
    return r;
}

static bool key_same(const struct tl_flow_key *x, const struct tl_flow_key *y)
{
    return tl_addr_cmp(&x->a, &y->a) == 0 && tl_addr_cmp(&x->b, &y->b) == 0 && x->pa == y->pa &&
           x->pb == y->pb && x->vlan == y->vlan && x->tunnel == y->tunnel;
}

static struct tl_flow_table *table(size_t ext_size, uint32_t max_flows, uint64_t seed)
{
    struct tl_flow_cfg cfg = {.ext_size = ext_size, .max_flows = max_flows, .seed = seed};
    struct tl_flow_table *t = tl_flow_table_new(&cfg);
    if (t == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(99);
    }
    return t;
}

/* Inserts the flow of packet p; NULL when the table refuses. */
static struct tl_conn *add(struct tl_flow_table *t, const struct tl_pkt *p)
{
    struct tl_flow_key k;
    bool from_a;
    tl_flow_key_make(p, &k, &from_a);
    return tl_flow_insert(t, &k, tl_flow_hash(t, &k));
}

static struct tl_conn *find(const struct tl_flow_table *t, const struct tl_pkt *p)
{
    struct tl_flow_key k;
    bool from_a;
    tl_flow_key_make(p, &k, &from_a);
    return tl_flow_lookup(t, &k, tl_flow_hash(t, &k));
}

/* The flow of the i-th synthetic connection: 10.x.y.z:40000 -> 192.168.0.1:80. */
static struct tl_pkt nth(uint32_t i) { return pkt4(0x0a000000u + i, 40000, 0xc0a80001u, 80, 0); }

/* ---- keys ---- */

static void test_key(struct tap *t)
{
    struct tl_flow_key k1, k2;
    bool f1, f2;
    struct tl_pkt p = pkt4(PKT_V4(10, 0, 0, 2), 5000, PKT_V4(10, 0, 0, 1), 80, 0);
    struct tl_pkt r = reversed(&p);
    tl_flow_key_make(&p, &k1, &f1);
    tl_flow_key_make(&r, &k2, &f2);
    ok(t, key_same(&k1, &k2), "A->B and B->A give the same key");
    ok(t, f1 != f2, "A->B and B->A have opposite from_a");
    ok(t, !f1 && k1.pa == 80 && k1.pb == 5000 && k1.a.b[3] == 1,
       "the lower address is key.a, with its port");

    p = pkt4(PKT_V4(127, 0, 0, 1), 5000, PKT_V4(127, 0, 0, 1), 80, 0);
    r = reversed(&p);
    tl_flow_key_make(&p, &k1, &f1);
    tl_flow_key_make(&r, &k2, &f2);
    ok(t, key_same(&k1, &k2) && f1 != f2, "equal addresses: same key, opposite from_a");
    ok(t, k1.pa == 80 && k1.pb == 5000 && !f1, "equal addresses: the lower port is key.a");

    p = pkt4(PKT_V4(127, 0, 0, 1), 7000, PKT_V4(127, 0, 0, 1), 7000, 0);
    tl_flow_key_make(&p, &k1, &f1);
    ok(t, f1 && k1.pa == 7000 && k1.pb == 7000, "a connection to itself: from_a");

    struct tl_pkt v6 = p;
    set_v6(&v6.src, 2);
    set_v6(&v6.dst, 1);
    v6.sport = 1;
    v6.dport = 65535;
    tl_flow_key_make(&v6, &k1, &f1);
    ok(t, !f1 && k1.a.family == TL_AF_INET6 && k1.a.b[15] == 1 && k1.pa == 65535,
       "IPv6: address order beats port order");

    p = pkt4(PKT_V4(10, 0, 0, 1), 1, PKT_V4(10, 0, 0, 2), 2, 0x123456);
    tl_flow_key_make(&p, &k1, &f1);
    is_int(t, k1.vlan, 0x123456, "the key carries the VLAN id");
}

/* p inside a VXLAN tunnel with VNI vni between VTEPs 192.0.2.<from> and
 * 192.0.2.<to>. */
static struct tl_pkt in_vxlan(struct tl_pkt p, uint32_t vni, uint8_t from, uint8_t to)
{
    p.tunnel = (struct tl_tunnel){
        .type = TL_TUN_VXLAN, .depth = 1, .has_id = true, .id_shared = true, .id = vni};
    p.tunnel.outer_src.family = p.tunnel.outer_dst.family = TL_AF_INET;
    memcpy(p.tunnel.outer_src.b, (uint8_t[]){192, 0, 2, from}, 4);
    memcpy(p.tunnel.outer_dst.b, (uint8_t[]){192, 0, 2, to}, 4);
    return p;
}

/* The tunnel is part of the key: the same inner 4-tuple in two tenants'
 * tunnels stays apart, both directions of one tunnel agree, and traffic
 * outside tunnels keeps its key and hash. */
static void test_key_tunnel(struct tap *t)
{
    struct tl_flow_key k0, k1, k2, k3, kr;
    bool f;
    struct tl_pkt p = pkt4(PKT_V4(10, 0, 0, 1), 5000, PKT_V4(10, 0, 0, 2), 80, 0);
    tl_flow_key_make(&p, &k0, &f);
    struct tl_pkt a = in_vxlan(p, 100, 1, 2), b = in_vxlan(p, 200, 1, 2);
    struct tl_pkt c = in_vxlan(p, 100, 3, 2);
    tl_flow_key_make(&a, &k1, &f);
    tl_flow_key_make(&b, &k2, &f);
    tl_flow_key_make(&c, &k3, &f);
    ok(t, k0.tunnel == 0 && k1.tunnel != 0, "no tunnel: 0; a tunnel: a digest");
    ok(t, !tl_flow_key_eq(&k0, &k1) && !tl_flow_key_eq(&k1, &k2) && !tl_flow_key_eq(&k1, &k3),
       "another VNI, other VTEPs, or no tunnel: another key");
    struct tl_pkt r = in_vxlan(reversed(&p), 100, 2, 1);
    tl_flow_key_make(&r, &kr, &f);
    ok(t, tl_flow_key_eq(&k1, &kr), "both directions of one tunnel: one key");
    struct tl_pkt m = in_vxlan(reversed(&p), 100, 1, 2); /* a mirror: same outer direction */
    tl_flow_key_make(&m, &kr, &f);
    ok(t, tl_flow_key_eq(&k1, &kr), "a mirror's two directions, outer addresses alike: one key");
    struct tl_pkt g1 = in_vxlan(p, 7, 1, 2), g2 = in_vxlan(reversed(&p), 9, 2, 1);
    g1.tunnel.type = g2.tunnel.type = TL_TUN_GTPU; /* each end picks its own TEID */
    g1.tunnel.id_shared = g2.tunnel.id_shared = false;
    struct tl_flow_key kg1, kg2;
    tl_flow_key_make(&g1, &kg1, &f);
    tl_flow_key_make(&g2, &kg2, &f);
    ok(t, tl_flow_key_eq(&kg1, &kg2), "GTP-U: TEIDs differing by direction, one key");
    /* Two GRE keys between the same two routers: two tenants, as two VNIs. */
    struct tl_pkt r1 = in_vxlan(p, 7, 1, 2), r2 = in_vxlan(reversed(&p), 7, 2, 1);
    struct tl_pkt r3 = in_vxlan(p, 8, 1, 2);
    r1.tunnel.type = r2.tunnel.type = r3.tunnel.type = TL_TUN_GRE;
    struct tl_flow_key kr1, kr2, kr3;
    tl_flow_key_make(&r1, &kr1, &f);
    tl_flow_key_make(&r2, &kr2, &f);
    tl_flow_key_make(&r3, &kr3, &f);
    ok(t, tl_flow_key_eq(&kr1, &kr2) && !tl_flow_key_eq(&kr1, &kr3),
       "GRE: one key both ways; another key, another connection");
    struct tl_flow_table *tb = table(0, 0, 1);
    ok(t,
       add(tb, &a) != NULL && add(tb, &b) != NULL && add(tb, &p) != NULL &&
           tl_flow_count(tb) == 3 && find(tb, &r) != NULL,
       "two tenants and the untunnelled flow are three connections");
    tl_flow_table_free(tb);
}

static void test_key_distinct(struct tap *t)
{
    struct tl_flow_table *ft = table(0, 0, 7);
    /* An IPv4 address and an IPv6 one with the same leading bytes. */
    struct tl_pkt v4 = pkt4(PKT_V4(10, 0, 0, 1), 1000, PKT_V4(10, 0, 0, 2), 80, 0);
    struct tl_pkt v6 = v4;
    v6.src.family = TL_AF_INET6;
    v6.dst.family = TL_AF_INET6;
    struct tl_pkt vl1 = v4, vl2 = v4;
    vl1.vlan = 1;
    vl2.vlan = 2;
    struct tl_conn *c4 = add(ft, &v4), *c6 = add(ft, &v6);
    struct tl_conn *c1 = add(ft, &vl1), *c2 = add(ft, &vl2);
    ok(t, c4 && c6 && c1 && c2, "IPv4, IPv6, VLAN 1, VLAN 2 versions all inserted");
    ok(t, find(ft, &v4) == c4 && find(ft, &v6) == c6, "IPv4 and IPv6 are different flows");
    ok(t, find(ft, &vl1) == c1 && find(ft, &vl2) == c2 && c1 != c2 && c1 != c4,
       "VLAN ids tell flows apart");
    struct tl_pkt rv = reversed(&vl2);
    ok(t, find(ft, &rv) == c2, "lookup of the reverse direction finds the same flow");
    struct tl_pkt vl3 = v4;
    vl3.vlan = 3;
    ok(t, find(ft, &vl3) == NULL, "an unknown VLAN finds nothing");
    is_int(t, tl_flow_count(ft), 4, "count 4");
    tl_flow_table_free(ft);
}

/* ---- insert, lookup, remove, order ---- */

static bool conn_zero(const struct tl_conn *c)
{
    return c->client_is_a == false && c->roles_from == 0 && c->end == 0 && c->first_ts == 0 &&
           c->last_ts == 0 && c->first_pkt == 0 && c->last_pkt == 0 && c->packets[0] == 0 &&
           c->packets[1] == 0 && c->bytes[0] == 0 && c->bytes[1] == 0;
}

static void test_basic(struct tap *t)
{
    struct tl_flow_table *ft = table(0, 0, 1);
    ok(t,
       tl_flow_count(ft) == 0 && tl_flow_first(ft) == NULL && !tl_flow_full(ft) &&
           tl_flow_stalest(ft, TL_FLOW_LIVE) == NULL && tl_flow_stalest_any(ft) == NULL,
       "a new table is empty");
    struct tl_pkt p = nth(1);
    struct tl_flow_key k;
    bool from_a;
    tl_flow_key_make(&p, &k, &from_a);
    ok(t, tl_flow_hash(ft, &k) == tl_flow_hash(ft, &k), "the hash is a function of the key");
    struct tl_conn *c = add(ft, &p);
    ok(t, c != NULL && c->id == 1 && key_same(&c->key, &k) && conn_zero(c),
       "insert: id 1, the key, everything else zero");
    ok(t, find(ft, &p) == c, "lookup finds it");
    struct tl_pkt other = nth(2);
    ok(t, find(ft, &other) == NULL, "lookup of another flow finds nothing");
    ok(t, tl_flow_count(ft) == 1 && tl_flow_first(ft) == c && tl_flow_next(c) == NULL,
       "count 1, first-seen list holds it");
    tl_flow_remove(ft, c);
    ok(t,
       tl_flow_count(ft) == 0 && find(ft, &p) == NULL && tl_flow_first(ft) == NULL &&
           tl_flow_stalest(ft, TL_FLOW_LIVE) == NULL,
       "remove: gone from the table and every list");
    c = add(ft, &p);
    ok(t, c != NULL && c->id == 2 && find(ft, &p) == c, "insert again: a new id (2), found");
    tl_flow_table_free(ft);
}

/* Writes the ids of the first-seen iteration as "1,2,4". */
static const char *ids(const struct tl_flow_table *ft, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const struct tl_conn *c = tl_flow_first(ft); c != NULL && n < size; c = tl_flow_next(c))
        n += (size_t)snprintf(buf + n, size - n, "%s%llu", n ? "," : "", (unsigned long long)c->id);
    return buf;
}

static void test_order(struct tap *t)
{
    struct tl_flow_table *ft = table(32, 0, 2);
    struct tl_conn *c[6];
    char buf[128];
    for (uint32_t i = 1; i <= 5; i++) {
        struct tl_pkt p = nth(i);
        c[i] = add(ft, &p);
    }
    is_str(t, ids(ft, buf, sizeof buf), "1,2,3,4,5", "ids in first-seen order");
    tl_flow_remove(ft, c[3]);
    is_str(t, ids(ft, buf, sizeof buf), "1,2,4,5", "remove from the middle: order kept");
    tl_flow_remove(ft, c[1]);
    tl_flow_remove(ft, c[5]);
    is_str(t, ids(ft, buf, sizeof buf), "2,4", "remove both ends: order kept");
    struct tl_pkt p3 = nth(3), p1 = nth(1);
    ok(t, find(ft, &p3) == NULL && find(ft, &p1) == NULL, "removed flows are not found");
    /* Recycled memory must come back zeroed, ext included. */
    memset(c[2]->ext, 0xab, 32);
    c[2]->packets[0] = 99;
    c[2]->client_is_a = true;
    tl_flow_remove(ft, c[2]);
    is_int(t, tl_flow_count(ft), 1, "count after four removals: 1");
    struct tl_pkt p6 = nth(6);
    struct tl_conn *n6 = add(ft, &p6);
    bool zero_ext = n6 != NULL;
    for (size_t i = 0; zero_ext && i < 32; i++)
        zero_ext = n6->ext[i] == 0;
    ok(t, n6 != NULL && n6->id == 6 && conn_zero(n6) && zero_ext,
       "insert after remove: new id 6, fields and ext zeroed");
    is_int(t, tl_flow_count(ft), 2, "count after reuse: 2");
    is_str(t, ids(ft, buf, sizeof buf), "4,6", "a reused connection goes to the tail");
    struct tl_pkt p4 = nth(4);
    ok(t, find(ft, &p4) == c[4] && find(ft, &p6) == n6, "survivors still found");
    tl_flow_table_free(ft);
}

enum { NBIG = 100000 };

/* Every flow i in [from, to) by step is found, with id id_base + i. */
static bool all_found(const struct tl_flow_table *ft, uint32_t from, uint32_t to, uint32_t step,
                      uint64_t id_base)
{
    for (uint32_t i = from; i < to; i += step) {
        struct tl_pkt p = nth(i);
        struct tl_conn *c = find(ft, &p);
        if (c == NULL || c->id != id_base + i) {
            printf("#   flow %u: %s\n", (unsigned)i, c ? "wrong id" : "not found");
            return false;
        }
    }
    return true;
}

/* The first-seen iteration visits count connections with rising ids. */
static bool ordered(const struct tl_flow_table *ft, size_t count)
{
    size_t n = 0;
    uint64_t last = 0;
    for (const struct tl_conn *c = tl_flow_first(ft); c != NULL; c = tl_flow_next(c), n++)
        if (c->id <= last)
            return false;
        else
            last = c->id;
    return n == count;
}

static void test_growth(struct tap *t)
{
    struct tl_flow_table *ft = table(8, 0, 0x5eed);
    bool inserted = true;
    for (uint32_t i = 0; i < NBIG; i++) {
        struct tl_pkt p = nth(i);
        struct tl_conn *c = add(ft, &p);
        inserted = inserted && c != NULL && c->id == (uint64_t)i + 1;
    }
    ok(t, inserted, "100k flows inserted with ids 1..100000");
    is_int(t, tl_flow_count(ft), NBIG, "count 100000");
    ok(t, all_found(ft, 0, NBIG, 1, 1), "all 100k found again after growth past 1024 buckets");
    ok(t, ordered(ft, NBIG), "first-seen iteration: 100k in id order");
    for (uint32_t i = 1; i < NBIG; i += 2) {
        struct tl_pkt p = nth(i);
        tl_flow_remove(ft, find(ft, &p));
    }
    is_int(t, tl_flow_count(ft), NBIG / 2, "half removed: count 50000");
    ok(t, all_found(ft, 0, NBIG, 2, 1), "the even half is still found");
    bool gone = true;
    for (uint32_t i = 1; i < NBIG; i += 2) {
        struct tl_pkt p = nth(i);
        gone = gone && find(ft, &p) == NULL;
    }
    ok(t, gone, "the odd half is gone");
    ok(t, ordered(ft, NBIG / 2), "first-seen iteration after removals: in id order");
    for (uint32_t i = NBIG; i < NBIG + NBIG / 2; i++) {
        struct tl_pkt p = nth(i);
        inserted = add(ft, &p) != NULL;
    }
    ok(t, inserted && all_found(ft, NBIG, NBIG + NBIG / 2, 1, 1) && all_found(ft, 0, NBIG, 2, 1),
       "50k more through the free list: all found");
    tl_flow_table_free(ft);
}

/* Collisions: hashes chosen to share a few buckets, at both ends of any
 * power-of-two array, then random inserts, removals and rekeys checked
 * against a plain array every 97 steps (a removed one at once). A removal that cut a chain (or,
 * in an open-addressing table, left a hole in a probe run) would make a
 * later entry unreachable. */
static void test_collisions(struct tap *t)
{
    enum { N = 3000, STEPS = 40000 };
    struct tl_flow_table *ft = table(0, 0, 1);
    struct tl_flow_key keys[N];
    uint32_t hashes[N];
    struct tl_conn *held[N] = {NULL};
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (uint32_t i = 0; i < N; i++) {
        struct tl_pkt p = nth(i);
        bool from_a;
        tl_flow_key_make(&p, &keys[i], &from_a);
        /* Three buckets at the top of any power-of-two array, two at its
         * start, and spread ones; the high bits differ, so hashes rarely
         * match. */
        uint32_t home = i % 4 == 3 ? i * 2654435761u : i % 4 == 2 ? i / 4 % 2 : 0xfffffffdu - i % 3;
        hashes[i] = home ^ (i << 24);
    }
    bool good = true;
    size_t live = 0;
    for (uint32_t step = 0; step < STEPS && good; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t i = (uint32_t)(x % N);
        if (held[i] == NULL && live < N / 2) {
            held[i] = tl_flow_insert(ft, &keys[i], hashes[i]);
            good = held[i] != NULL;
            live++;
        } else if (held[i] != NULL && (x >> 32) % 5 == 0) {
            /* a rekey to the same key under a fresh hash: out and back in */
            struct tl_flow_key k = keys[i];
            tl_flow_rekey(ft, held[i], &k);
            hashes[i] = held[i]->links.hash;
        } else if (held[i] != NULL) {
            tl_flow_remove(ft, held[i]);
            held[i] = NULL;
            live--;
            good = tl_flow_lookup(ft, &keys[i], hashes[i]) == NULL;
        }
        if (step % 97 == 0 || step + 1 == STEPS)
            for (uint32_t j = 0; j < N && good; j++)
                good = tl_flow_lookup(ft, &keys[j], hashes[j]) == held[j];
    }
    ok(t, good, "colliding hashes: every entry found, none after removal");
    is_int(t, tl_flow_count(ft), live, "count follows inserts and removals");
    tl_flow_table_free(ft);
}

/* Output order must not depend on the hash seed, and the seed must matter. */
static void test_seed(struct tap *t)
{
    struct tl_flow_table *x = table(0, 0, 1), *y = table(0, 0, 0xdeadbeefcafef00dULL);
    int differ = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        struct tl_pkt p = nth(i * 7919u);
        struct tl_flow_key k;
        bool from_a;
        tl_flow_key_make(&p, &k, &from_a);
        differ += tl_flow_hash(x, &k) != tl_flow_hash(y, &k);
        if (add(x, &p) == NULL || add(y, &p) == NULL)
            differ = -100000;
    }
    ok(t, differ > 990, "another seed gives other hashes");
    bool same = true;
    const struct tl_conn *a = tl_flow_first(x), *b = tl_flow_first(y);
    for (; a != NULL && b != NULL; a = tl_flow_next(a), b = tl_flow_next(b))
        same = same && key_same(&a->key, &b->key) && a->id == b->id;
    ok(t, same && a == NULL && b == NULL, "iteration order is the same under both seeds");
    tl_flow_table_free(x);
    tl_flow_table_free(y);
}

/*
 * Buckets are the hash's low bits. For 4096 keys that differ in one field
 * only, count the distinct values of the low 12 bits: a uniform hash fills
 * about 4096 * (1 - 1/e) = 2589 of the 4096; a hash that leaves that field
 * out of the low bits fills a handful.
 */
static int low_bits_used(const struct tl_flow_table *ft, int field)
{
    uint8_t seen[4096] = {0};
    int used = 0;
    for (uint32_t i = 0; i < 4096; i++) {
        struct tl_pkt p = pkt4(PKT_V4(10, 0, 0, 1), 40000, PKT_V4(10, 0, 0, 2), 80, 0);
        if (field == 0) {
            p.sport = (uint16_t)(1024 + i); /* one client, many connections */
        } else if (field == 1) {
            p.vlan = i;
        } else if (field == 2) {
            p.src.b[0] = (uint8_t)i;
            p.src.b[1] = (uint8_t)(i >> 8);
        } else {
            p.dst.b[3] = (uint8_t)i;
            p.dst.b[2] = (uint8_t)(i >> 8);
        }
        struct tl_flow_key k;
        bool from_a;
        tl_flow_key_make(&p, &k, &from_a);
        uint32_t b = tl_flow_hash(ft, &k) & 0xfffu;
        used += !seen[b];
        seen[b] = 1;
    }
    return used;
}

static void test_hash_spread(struct tap *t)
{
    static const char *const what[] = {"source port", "VLAN id", "high address bytes",
                                       "low address bytes"};
    struct tl_flow_table *ft = table(0, 0, 0x1234);
    char name[96];
    for (int f = 0; f < 4; f++) {
        int used = low_bits_used(ft, f);
        snprintf(name, sizeof name, "hash: 4096 keys differing in the %s fill %d of 4096 buckets",
                 what[f], used);
        ok(t, used > 2300, name);
    }
    tl_flow_table_free(ft);
}

/* ---- recency ---- */

static void test_recency(struct tap *t)
{
    struct tl_flow_table *ft = table(0, 0, 3);
    struct tl_conn *c[4];
    for (int i = 1; i <= 3; i++) {
        struct tl_pkt p = nth((uint32_t)i);
        c[i] = add(ft, &p);
        c[i]->seen_us = 10 * i;
    }
    ok(t, tl_flow_stalest(ft, TL_FLOW_LIVE) == c[1], "stalest live: the first inserted");
    ok(t, tl_flow_stalest(ft, TL_FLOW_ENDED) == NULL, "no ended connection yet");
    tl_flow_touch(ft, c[1]);
    ok(t, tl_flow_stalest(ft, TL_FLOW_LIVE) == c[2], "touch 1: stalest is 2");
    tl_flow_touch(ft, c[1]);
    ok(t, tl_flow_stalest(ft, TL_FLOW_LIVE) == c[2], "touch the freshest again: no change");
    tl_flow_touch(ft, c[2]);
    ok(t, tl_flow_stalest(ft, TL_FLOW_LIVE) == c[3], "touch 2: stalest is 3");
    tl_flow_touch(ft, c[3]);
    ok(t, tl_flow_stalest(ft, TL_FLOW_LIVE) == c[1], "touch 3: stalest is 1 (order 1,2,3)");
    tl_flow_move(ft, c[2], TL_FLOW_ENDED);
    ok(t, tl_flow_stalest(ft, TL_FLOW_ENDED) == c[2], "move 2 to ENDED: stalest ended is 2");
    tl_flow_move(ft, c[1], TL_FLOW_ENDED);
    ok(t, tl_flow_stalest(ft, TL_FLOW_LIVE) == c[3] && tl_flow_stalest(ft, TL_FLOW_ENDED) == c[2],
       "move 1 to ENDED: live holds 3, ended 2 then 1");
    tl_flow_touch(ft, c[2]);
    ok(t, tl_flow_stalest(ft, TL_FLOW_ENDED) == c[1] && tl_flow_stalest(ft, TL_FLOW_LIVE) == c[3],
       "touch on ENDED stays on ENDED, at its fresh end");
    /* c1 seen at 10 (ended), c3 at 30 (live) */
    ok(t, tl_flow_stalest_any(ft) == c[1], "stalest_any: the ended one, seen longer ago");
    c[1]->seen_us = 40;
    ok(t, tl_flow_stalest_any(ft) == c[3], "stalest_any: the live one once it is older");
    tl_flow_remove(ft, c[1]);
    ok(t, tl_flow_stalest(ft, TL_FLOW_ENDED) == c[2], "remove from ENDED: 2 is left");
    tl_flow_move(ft, c[2], TL_FLOW_LIVE);
    ok(t, tl_flow_stalest(ft, TL_FLOW_ENDED) == NULL && tl_flow_stalest(ft, TL_FLOW_LIVE) == c[3],
       "move back to LIVE: ENDED empty, 2 after 3");
    ok(t, tl_flow_stalest_any(ft) == c[3], "stalest_any with ENDED empty: live stalest");
    tl_flow_remove(ft, c[3]);
    ok(t, tl_flow_stalest(ft, TL_FLOW_LIVE) == c[2], "remove 3: 2 is left");
    tl_flow_move(ft, c[2], TL_FLOW_ENDED);
    ok(t, tl_flow_stalest_any(ft) == c[2] && tl_flow_stalest(ft, TL_FLOW_LIVE) == NULL,
       "stalest_any with LIVE empty: ended stalest");
    tl_flow_remove(ft, c[2]);
    ok(t, tl_flow_stalest_any(ft) == NULL && tl_flow_count(ft) == 0, "all removed: nothing");
    tl_flow_table_free(ft);
}

/* IDLE: live connections set aside after a quiet while, older than LIVE. */
static void test_idle_list(struct tap *t)
{
    struct tl_flow_table *ft = table(0, 0, 3);
    struct tl_conn *c[4];
    for (int i = 1; i <= 3; i++) {
        struct tl_pkt p = nth((uint32_t)i);
        c[i] = add(ft, &p);
        c[i]->seen_us = 10 * i;
    }
    tl_flow_move(ft, c[1], TL_FLOW_IDLE);
    ok(t, tl_flow_stalest(ft, TL_FLOW_IDLE) == c[1] && tl_flow_stalest(ft, TL_FLOW_LIVE) == c[2],
       "idle: 1 set aside, 2 is the stalest still live");
    ok(t, tl_flow_stalest_any(ft) == c[1], "idle: stalest_any takes the idle one first");
    ok(t, !tl_flow_ended(c[1]), "idle: an idle connection has not ended");
    tl_flow_touch(ft, c[1]);
    ok(t, tl_flow_stalest(ft, TL_FLOW_IDLE) == NULL, "idle: a packet brings it back");
    ok(t, tl_flow_stalest(ft, TL_FLOW_LIVE) == c[2], "idle: back at LIVE's fresh end");
    tl_flow_move(ft, c[2], TL_FLOW_IDLE);
    tl_flow_move(ft, c[3], TL_FLOW_IDLE);
    tl_flow_move(ft, c[3], TL_FLOW_ENDED);
    ok(t, tl_flow_ended(c[3]) && tl_flow_stalest(ft, TL_FLOW_IDLE) == c[2],
       "idle: an idle connection can end");
    tl_flow_remove(ft, c[2]);
    ok(t, tl_flow_stalest(ft, TL_FLOW_IDLE) == NULL && tl_flow_count(ft) == 2,
       "idle: removed from the idle list");
    tl_flow_table_free(ft);
}

/* ---- cap ---- */

static void test_cap(struct tap *t)
{
    struct tl_flow_table *ft = table(0, 3, 4);
    struct tl_conn *c[3];
    for (uint32_t i = 0; i < 3; i++) {
        struct tl_pkt p = nth(i);
        c[i] = add(ft, &p);
    }
    ok(t, c[0] && c[1] && c[2], "max_flows 3: three inserted");
    ok(t, tl_flow_full(ft), "max_flows 3: full at 3");
    struct tl_pkt p3 = nth(3);
    ok(t, add(ft, &p3) == NULL, "max_flows 3: a fourth is refused");
    ok(t, tl_flow_count(ft) == 3 && find(ft, &p3) == NULL, "the refused one is not in the table");
    tl_flow_remove(ft, tl_flow_stalest_any(ft));
    ok(t, !tl_flow_full(ft), "after evicting the stalest: not full");
    struct tl_conn *n = add(ft, &p3);
    ok(t, n != NULL && n->id == 4, "then the fourth is inserted with id 4");
    struct tl_pkt p0 = nth(0);
    ok(t, find(ft, &p0) == NULL, "the evicted one was the first inserted");
    tl_flow_table_free(ft);

    ft = table(0, 0, 4);
    bool never_full = true;
    for (uint32_t i = 0; i < 2000; i++) {
        struct tl_pkt p = nth(i);
        never_full = never_full && add(ft, &p) != NULL && !tl_flow_full(ft);
    }
    ok(t, never_full, "max_flows 0: never full");
    tl_flow_table_free(ft);
}

/* ---- ext area ---- */

static void test_ext(struct tap *t)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 1000};
    char name[96];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        struct tl_flow_table *ft = table(sizes[s], 0, 5);
        bool good = true;
        for (uint32_t i = 0; i < 4; i++) {
            struct tl_pkt p = nth(i);
            struct tl_conn *c = add(ft, &p);
            good = good && c != NULL && (uintptr_t)c->ext % 16 == 0;
            for (size_t b = 0; good && b < sizes[s]; b++)
                good = c->ext[b] == 0;
            if (good)
                memset(c->ext, 0xff, sizes[s]); /* ASan: all of it is ours */
            if (good && i == 1)
                tl_flow_remove(ft, c); /* so the next one is recycled */
        }
        snprintf(name, sizeof name, "ext_size %zu: zeroed, 16-byte aligned, writable", sizes[s]);
        ok(t, good, name);
        tl_flow_table_free(ft);
    }
}

/* ---- roles ---- */

static void test_roles(struct tap *t)
{
    struct tl_flow_table *ft = table(0, 0, 6);
    struct tl_pkt syn = pkt4(PKT_V4(10, 0, 0, 2), 5000, PKT_V4(10, 0, 0, 1), 80, 0);
    struct tl_flow_key k;
    bool from_a;
    tl_flow_key_make(&syn, &k, &from_a);
    struct tl_conn *c = tl_flow_insert(ft, &k, tl_flow_hash(ft, &k));
    if (c == NULL) {
        ok(t, false, "insert for the role tests");
        tl_flow_table_free(ft);
        return;
    }
    c->client_is_a = from_a; /* the SYN's sender is the client: key.b here */
    ok(t, !from_a && tl_conn_role(c, from_a) == TL_ROLE_CLIENT,
       "the SYN's sender (key.b) is the client");
    ok(t, tl_conn_role(c, !from_a) == TL_ROLE_SERVER, "the other direction is the server");
    const struct tl_addr *ip;
    uint16_t port;
    tl_conn_endpoint(c, TL_ROLE_CLIENT, &ip, &port);
    ok(t, ip == &c->key.b && port == 5000, "client endpoint: 10.0.0.2:5000");
    tl_conn_endpoint(c, TL_ROLE_SERVER, &ip, &port);
    ok(t, ip == &c->key.a && port == 80, "server endpoint: 10.0.0.1:80");
    c->client_is_a = true;
    tl_conn_endpoint(c, TL_ROLE_CLIENT, &ip, &port);
    ok(t, ip == &c->key.a && port == 80 && tl_conn_role(c, true) == TL_ROLE_CLIENT,
       "client_is_a: the client is key.a");
    tl_conn_endpoint(c, TL_ROLE_SERVER, &ip, &port);
    ok(t, ip == &c->key.b && port == 5000 && tl_conn_role(c, false) == TL_ROLE_SERVER,
       "client_is_a: the server is key.b");
    tl_flow_table_free(ft);
    is_str(t, tl_end_name(TL_END_RST), "rst", "tl_end_name(RST)");
    is_str(t, tl_end_name(TL_END_EVICTED), "evicted", "tl_end_name(EVICTED)");
    is_str(t, tl_roles_from_name(TL_ROLES_SYNACK), "synack", "tl_roles_from_name(SYNACK)");
}

/* tl_addr_cmp() orders addresses as memcmp() of family then bytes does:
 * random pairs that differ in one byte, anywhere, or not at all. */
static void test_addr_order(struct tap *t)
{
    uint32_t x = 12345;
    int same_sign = 0, n = 20000;
    for (int i = 0; i < n; i++) {
        struct tl_addr a = {0}, b;
        a.family = (i & 1) ? TL_AF_INET6 : TL_AF_INET;
        for (int k = 0; k < 16; k++) {
            x = x * 1103515245u + 12345u;
            a.b[k] = (uint8_t)(x >> 24);
        }
        b = a;
        x = x * 1103515245u + 12345u;
        unsigned at = (x >> 16) % 18; /* 16, 17: no change, or the family */
        if (at < 16)
            b.b[at] = (uint8_t)(x >> 8);
        else if (at == 17)
            b.family = a.family == TL_AF_INET ? TL_AF_INET6 : TL_AF_INET;
        int want = a.family != b.family ? (a.family < b.family ? -1 : 1)
                                        : memcmp(a.b, b.b, sizeof a.b);
        int got = tl_addr_cmp(&a, &b);
        same_sign += (want < 0) == (got < 0) && (want > 0) == (got > 0);
    }
    is_int(t, same_sign, n, "tl_addr_cmp orders as memcmp on 20000 random pairs");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep the TAP lines if a sanitizer aborts */
    struct tap t = {0, 0};
    test_addr_order(&t);
    test_key(&t);
    test_key_tunnel(&t);
    test_key_distinct(&t);
    test_basic(&t);
    test_order(&t);
    test_growth(&t);
    test_collisions(&t);
    test_seed(&t);
    test_hash_spread(&t);
    test_recency(&t);
    test_idle_list(&t);
    test_cap(&t);
    test_ext(&t);
    test_roles(&t);
    return tap_done(&t);
}
