/*
 * Flow table. Chained hash on the canonical key, power-of-two buckets
 * (index & mask), doubled when the load passes 1. Connections sit on
 * intrusive lists, so every operation is O(1) and nothing is allocated
 * per packet: a connection comes from the free list when one starts.
 */
#include "tcplens/flow.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 1024u

struct rlist {
    struct tl_conn *stale, *fresh; /* least and most recently seen */
    size_t n;
};

struct tl_flow_table {
    struct tl_conn **buckets;
    uint32_t mask;
    size_t count;
    size_t conn_size;
    uint32_t max_flows;
    uint64_t seed;
    uint64_t next_id;
    struct rlist rl[TL_FLOW_NLISTS];
    struct tl_conn *ofirst, *olast; /* first-seen order */
    struct tl_conn *free_list;      /* recycled through links.hnext */
};

struct tl_flow_table *tl_flow_table_new(const struct tl_flow_cfg *cfg)
{
    struct tl_flow_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->buckets = calloc(INITIAL_BUCKETS, sizeof *t->buckets);
    if (t->buckets == NULL) {
        free(t);
        return NULL;
    }
    t->mask = INITIAL_BUCKETS - 1;
    /* Round ext up so every tl_conn in an array-free pool stays aligned. */
    t->conn_size = sizeof(struct tl_conn) + ((cfg->ext_size + 15) & ~(size_t)15);
    t->max_flows = cfg->max_flows;
    t->seed = cfg->seed;
    t->next_id = 1;
    return t;
}

void tl_flow_table_free(struct tl_flow_table *t)
{
    if (t == NULL)
        return;
    for (struct tl_conn *c = t->ofirst, *n; c != NULL; c = n) {
        n = c->links.onext;
        free(c);
    }
    for (struct tl_conn *c = t->free_list, *n; c != NULL; c = n) {
        n = c->links.hnext;
        free(c);
    }
    free(t->buckets);
    free(t);
}

/* Endpoint order: address first, then port. */
static int ep_cmp(const struct tl_addr *a, uint16_t pa, const struct tl_addr *b, uint16_t pb)
{
    int r = tl_addr_cmp(a, b);
    if (r != 0)
        return r;
    return pa < pb ? -1 : pa > pb;
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n);

/*
 * A tunnel's identity as 32 bits, the same for both directions of one
 * connection; never 0. Its outer addresses count as a pair in either
 * order: a traffic mirror (AWS VXLAN mirroring, ERSPAN) sends both
 * directions from the same source to the same collector. Only an id both
 * directions share counts (VXLAN's VNI, a GRE key: tl_tunnel.id_shared):
 * GTP-U TEIDs and L2TP ids are chosen by each end, and Geneve gateways
 * give each direction its own VNI. Two tunnels carrying the same inner
 * 4-tuple between the same outer addresses stay apart only by such an id;
 * other digests collide once in 2^32.
 */
static uint32_t tunnel_digest(const struct tl_tunnel *t)
{
    if (t->type == TL_TUN_NONE)
        return 0;
    bool src_first = tl_addr_cmp(&t->outer_src, &t->outer_dst) <= 0;
    const struct tl_addr *oa = src_first ? &t->outer_src : &t->outer_dst;
    const struct tl_addr *ob = src_first ? &t->outer_dst : &t->outer_src;
    uint32_t id = t->id_shared ? t->id : 0;
    uint8_t head[5] = {t->type, (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
                       (uint8_t)id};
    uint64_t h = fnv1a(UINT64_C(0xcbf29ce484222325), head, sizeof head);
    h = fnv1a(h, &oa->family, 1);
    h = fnv1a(h, oa->b, sizeof oa->b);
    h = fnv1a(h, &ob->family, 1);
    h = fnv1a(h, ob->b, sizeof ob->b);
    uint32_t d = (uint32_t)(h ^ (h >> 32));
    return d != 0 ? d : 1;
}

void tl_flow_key_make(const struct tl_pkt *p, struct tl_flow_key *k, bool *from_a)
{
    *from_a = ep_cmp(&p->src, p->sport, &p->dst, p->dport) <= 0;
    k->a = *from_a ? p->src : p->dst;
    k->b = *from_a ? p->dst : p->src;
    k->pa = *from_a ? p->sport : p->dport;
    k->pb = *from_a ? p->dport : p->sport;
    k->vlan = p->vlan;
    k->tunnel = tunnel_digest(&p->tunnel);
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint64_t fnv_endpoint(uint64_t h, const struct tl_addr *a, uint16_t port)
{
    uint8_t pb[2] = {(uint8_t)(port >> 8), (uint8_t)port};
    h = fnv1a(h, &a->family, 1);
    h = fnv1a(h, a->b, a->family == TL_AF_INET ? 4 : 16);
    return fnv1a(h, pb, 2);
}

uint32_t tl_flow_shard(const struct tl_flow_key *k, uint32_t n)
{
    if (n <= 1)
        return 0;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    h = fnv_endpoint(h, &k->a, k->pa);
    h = fnv_endpoint(h, &k->b, k->pb);
    return (uint32_t)(h % n);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= UINT64_C(0x9e3779b97f4a7c15);
    return h ^ (h >> 29);
}

/* Murmur3's 64-bit finalizer. mix() only carries a bit of its input to the
 * bits above it, and bucket indexes are the low bits: without this step
 * keys that differ only in their ports (one client, many connections)
 * landed in 8 buckets. */
static uint64_t avalanche(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    return h ^ (h >> 33);
}

static uint64_t load64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, sizeof v);
    return v;
}

uint32_t tl_flow_hash(const struct tl_flow_table *t, const struct tl_flow_key *k)
{
    uint64_t h = t->seed ^ UINT64_C(0x243f6a8885a308d3);
    h = mix(h, load64(k->a.b));
    h = mix(h, load64(k->a.b + 8));
    h = mix(h, load64(k->b.b));
    h = mix(h, load64(k->b.b + 8));
    h = mix(h, ((uint64_t)k->pa << 48) | ((uint64_t)k->pb << 32) | ((uint64_t)k->vlan << 8) |
                   k->a.family);
    if (k->tunnel != 0) /* untunnelled keys hash as they always did */
        h = mix(h, k->tunnel);
    h = avalanche(h);
    return (uint32_t)(h ^ (h >> 32));
}

struct tl_conn *tl_flow_lookup(const struct tl_flow_table *t, const struct tl_flow_key *k,
                               uint32_t hash)
{
    for (struct tl_conn *c = t->buckets[hash & t->mask]; c != NULL; c = c->links.hnext)
        if (c->links.hash == hash && tl_flow_key_eq(&c->key, k))
            return c;
    return NULL;
}

void tl_flow_prefetch_bucket(const struct tl_flow_table *t, uint32_t hash)
{
    __builtin_prefetch(&t->buckets[hash & t->mask]);
}

const struct tl_conn *tl_flow_prefetch_chain(const struct tl_flow_table *t, uint32_t hash)
{
    const struct tl_conn *c = t->buckets[hash & t->mask];
    if (c != NULL) { /* the key, then the links and the hash a lookup compares */
        __builtin_prefetch(c);
        __builtin_prefetch(&c->links);
    }
    return c;
}

/* Doubles the bucket array; on allocation failure the table simply stays
 * more loaded, which is slower but still correct. */
static void grow(struct tl_flow_table *t)
{
    uint32_t n = (t->mask + 1) * 2;
    if (n == 0)
        return;
    struct tl_conn **nb = calloc(n, sizeof *nb);
    if (nb == NULL)
        return;
    for (uint32_t i = 0; i <= t->mask; i++) {
        for (struct tl_conn *c = t->buckets[i], *next; c != NULL; c = next) {
            next = c->links.hnext;
            c->links.hnext = nb[c->links.hash & (n - 1)];
            nb[c->links.hash & (n - 1)] = c;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->mask = n - 1;
}

static void rlist_unlink(struct tl_flow_table *t, struct tl_conn *c)
{
    struct rlist *l = &t->rl[c->links.list];
    if (c->links.rprev != NULL)
        c->links.rprev->links.rnext = c->links.rnext;
    else
        l->stale = c->links.rnext;
    if (c->links.rnext != NULL)
        c->links.rnext->links.rprev = c->links.rprev;
    else
        l->fresh = c->links.rprev;
    c->links.rprev = c->links.rnext = NULL;
    l->n--;
}

static void rlist_append(struct tl_flow_table *t, struct tl_conn *c, enum tl_flow_list list)
{
    struct rlist *l = &t->rl[list];
    c->links.list = (uint8_t)list;
    c->links.rprev = l->fresh;
    c->links.rnext = NULL;
    if (l->fresh != NULL)
        l->fresh->links.rnext = c;
    else
        l->stale = c;
    l->fresh = c;
    l->n++;
}

bool tl_flow_full(const struct tl_flow_table *t)
{
    return t->max_flows != 0 && t->count >= t->max_flows;
}

static struct tl_conn *conn_alloc(struct tl_flow_table *t)
{
    struct tl_conn *c = t->free_list;
    if (c != NULL) {
        t->free_list = c->links.hnext;
        memset(c, 0, t->conn_size);
        return c;
    }
    return calloc(1, t->conn_size);
}

struct tl_conn *tl_flow_insert(struct tl_flow_table *t, const struct tl_flow_key *k, uint32_t hash)
{
    if (tl_flow_full(t))
        return NULL;
    struct tl_conn *c = conn_alloc(t);
    if (c == NULL)
        return NULL;
    if (t->count >= (size_t)t->mask + 1)
        grow(t);
    c->id = t->next_id++;
    c->key = *k;
    c->links.hash = hash;
    c->links.hnext = t->buckets[hash & t->mask];
    t->buckets[hash & t->mask] = c;
    rlist_append(t, c, TL_FLOW_LIVE);
    c->links.oprev = t->olast;
    if (t->olast != NULL)
        t->olast->links.onext = c;
    else
        t->ofirst = c;
    t->olast = c;
    t->count++;
    return c;
}

void tl_flow_touch(struct tl_flow_table *t, struct tl_conn *c)
{
    enum tl_flow_list list = c->links.list == TL_FLOW_IDLE || c->links.list == TL_FLOW_DORMANT
                                 ? TL_FLOW_LIVE
                                 : c->links.list;
    if (list == c->links.list && t->rl[list].fresh == c)
        return;
    rlist_unlink(t, c);
    rlist_append(t, c, list);
}

void tl_flow_move(struct tl_flow_table *t, struct tl_conn *c, enum tl_flow_list list)
{
    rlist_unlink(t, c);
    rlist_append(t, c, list);
}

struct tl_conn *tl_flow_stalest(const struct tl_flow_table *t, enum tl_flow_list list)
{
    return t->rl[list].stale;
}

struct tl_conn *tl_flow_stalest_any(const struct tl_flow_table *t)
{
    struct tl_conn *x = t->rl[TL_FLOW_DORMANT].stale, *y = t->rl[TL_FLOW_ENDED].stale;
    if (x == NULL)
        x = t->rl[TL_FLOW_IDLE].stale;
    if (x == NULL)
        x = t->rl[TL_FLOW_LIVE].stale;
    if (x == NULL)
        return y;
    if (y == NULL)
        return x;
    return y->seen_us <= x->seen_us ? y : x;
}

/* Takes c out of its hash chain. */
static void hash_unlink(struct tl_flow_table *t, struct tl_conn *c)
{
    struct tl_conn **pp = &t->buckets[c->links.hash & t->mask];
    while (*pp != NULL && *pp != c)
        pp = &(*pp)->links.hnext;
    if (*pp == c)
        *pp = c->links.hnext;
}

void tl_flow_rekey(struct tl_flow_table *t, struct tl_conn *c, const struct tl_flow_key *k)
{
    hash_unlink(t, c);
    c->key = *k;
    c->links.hash = tl_flow_hash(t, k);
    c->links.hnext = t->buckets[c->links.hash & t->mask];
    t->buckets[c->links.hash & t->mask] = c;
}

void tl_flow_remove(struct tl_flow_table *t, struct tl_conn *c)
{
    hash_unlink(t, c);
    rlist_unlink(t, c);
    if (c->links.oprev != NULL)
        c->links.oprev->links.onext = c->links.onext;
    else
        t->ofirst = c->links.onext;
    if (c->links.onext != NULL)
        c->links.onext->links.oprev = c->links.oprev;
    else
        t->olast = c->links.oprev;
    t->count--;
    c->links.hnext = t->free_list;
    t->free_list = c;
}

struct tl_conn *tl_flow_first(const struct tl_flow_table *t) { return t->ofirst; }

struct tl_conn *tl_flow_next(const struct tl_conn *c) { return c->links.onext; }

size_t tl_flow_count(const struct tl_flow_table *t) { return t->count; }

size_t tl_flow_list_count(const struct tl_flow_table *t, enum tl_flow_list list)
{
    return t->rl[list].n;
}

void tl_conn_endpoint(const struct tl_conn *c, enum tl_role r, const struct tl_addr **ip,
                      uint16_t *port)
{
    bool is_a = (r == TL_ROLE_CLIENT) == c->client_is_a;
    *ip = is_a ? &c->key.a : &c->key.b;
    *port = is_a ? c->key.pa : c->key.pb;
}

const char *tl_end_name(enum tl_end e)
{
    static const char *const names[] = {"open", "fin", "rst", "timeout", "evicted", "icmp"};
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "open";
}

const char *tl_roles_from_name(enum tl_roles_from r)
{
    static const char *const names[] = {"syn", "synack", "port"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "port";
}
