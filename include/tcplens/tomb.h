/*
 * Tombstones. A connection reported before its linger ran out (a short
 * --linger, live capture's two seconds, --max-flows making room) leaves
 * one behind for the rest of the minute Linux keeps a closed socket's
 * 4-tuple in TIME_WAIT: a late segment of it is then known as late
 * (counted, not taken for a new connection picked up midstream), and a
 * new connection on its 4-tuple still learns that it reuses one.
 *
 * Kept in the order they were made, in a ring with a hash index; at most
 * a cap of them, the oldest going first (counted).
 */
#ifndef TCPLENS_TOMB_H
#define TCPLENS_TOMB_H

#include "tcplens/flow.h"
#include "tcplens/tcpstate.h"
#include "tcplens/types.h"

struct tl_tomb {
    struct tl_flow_key key;
    uint32_t hash;          /* of key, as the flow table hashes it */
    uint32_t hnext;         /* index + 1 of the next in its bucket; 0 ends */
    uint64_t id;            /* the connection's */
    int64_t last_ts;        /* its last segment, µs */
    int64_t lapse_us;       /* the engine's clock when this one goes */
    int64_t time_wait_due;  /* when an endpoint's TIME_WAIT ends; 0: none */
    struct tl_seqspace seq; /* by role */
    bool client_is_a;
    bool dead; /* removed; its place in the ring is freed in turn */
};

struct tl_tombs;

/* At most cap (at least 1) kept at once. NULL when out of memory. */
struct tl_tombs *tl_tombs_new(uint32_t cap);
void tl_tombs_free(struct tl_tombs *t);

/* Keeps a copy of *tomb (hnext and dead are set here); the oldest goes
 * when cap are kept. False when out of memory. Pointers tl_tombs_find()
 * returned are invalid afterwards. */
bool tl_tombs_add(struct tl_tombs *t, const struct tl_tomb *tomb);

/* The tombstone of key k (hash as the flow table computes it), or NULL. */
struct tl_tomb *tl_tombs_find(struct tl_tombs *t, const struct tl_flow_key *k, uint32_t hash);

/* Forgets one (a new connection took its 4-tuple). */
void tl_tombs_remove(struct tl_tombs *t, struct tl_tomb *tomb);

/* Forgets those whose time is up at clock_us, oldest first (a lapsed one
 * may also be found until then: its lapse_us says so). */
void tl_tombs_lapse(struct tl_tombs *t, int64_t clock_us);

size_t tl_tombs_count(const struct tl_tombs *t);

/* Tombstones the cap pushed out before their time. */
uint64_t tl_tombs_evicted(const struct tl_tombs *t);

#endif
