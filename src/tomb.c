/*
 * Tombstones (tomb.h): a ring in the order they were made, so the oldest
 * lapses first, and a chained hash index of ring positions. Growing the
 * ring (doubling, up to the cap) lays it out from position 0 again.
 */
#include "tcplens/tomb.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 1024u

struct tl_tombs {
    struct tl_tomb *ring;
    uint32_t *buckets; /* ring index + 1 of a bucket's first; 0: empty */
    uint32_t size;     /* ring slots, a power of two; buckets as many */
    uint32_t head, n;  /* oldest, and how many from it are in use */
    uint32_t cap;
    size_t live; /* in use and not dead */
    uint64_t evicted;
};

struct tl_tombs *tl_tombs_new(uint32_t cap)
{
    struct tl_tombs *t = calloc(1, sizeof *t);
    if (t != NULL)
        t->cap = cap > 0 ? cap : 1;
    return t;
}

void tl_tombs_free(struct tl_tombs *t)
{
    if (t == NULL)
        return;
    free(t->ring);
    free(t->buckets);
    free(t);
}

static uint32_t bucket_of(const struct tl_tombs *t, uint32_t hash) { return hash & (t->size - 1); }

static void link_slot(struct tl_tombs *t, uint32_t i)
{
    uint32_t *b = &t->buckets[bucket_of(t, t->ring[i].hash)];
    t->ring[i].hnext = *b;
    *b = i + 1;
}

/* Takes ring slot i out of its bucket's chain. */
static void unlink_slot(struct tl_tombs *t, uint32_t i)
{
    uint32_t *p = &t->buckets[bucket_of(t, t->ring[i].hash)];
    while (*p != 0 && *p != i + 1)
        p = &t->ring[*p - 1].hnext;
    if (*p != 0)
        *p = t->ring[i].hnext;
}

/* Frees the oldest slot; a live tombstone there goes before its time. */
static void drop_oldest(struct tl_tombs *t)
{
    struct tl_tomb *o = &t->ring[t->head];
    if (!o->dead) {
        unlink_slot(t, t->head);
        t->live--;
    }
    t->head = (t->head + 1) & (t->size - 1);
    t->n--;
}

/* Doubles the ring (or makes the first); false when out of memory. */
static bool grow(struct tl_tombs *t)
{
    uint32_t size = t->size != 0 ? t->size * 2 : INITIAL_SLOTS;
    if (size < t->size)
        return false;
    struct tl_tomb *ring = malloc((size_t)size * sizeof *ring);
    uint32_t *buckets = calloc(size, sizeof *buckets);
    if (ring == NULL || buckets == NULL) {
        free(ring);
        free(buckets);
        return false;
    }
    for (uint32_t k = 0; k < t->n; k++)
        ring[k] = t->ring[(t->head + k) & (t->size - 1)];
    free(t->ring);
    free(t->buckets);
    t->ring = ring;
    t->buckets = buckets;
    t->size = size;
    t->head = 0;
    for (uint32_t k = 0; k < t->n; k++)
        if (!ring[k].dead)
            link_slot(t, k);
    return true;
}

bool tl_tombs_add(struct tl_tombs *t, const struct tl_tomb *tomb)
{
    if (t->n > 0 && t->n >= t->cap) {
        if (!t->ring[t->head].dead)
            t->evicted++;
        drop_oldest(t);
    }
    if (t->n == t->size && !grow(t))
        return false;
    uint32_t i = (t->head + t->n) & (t->size - 1);
    t->ring[i] = *tomb;
    t->ring[i].dead = false;
    link_slot(t, i);
    t->n++;
    t->live++;
    return true;
}

struct tl_tomb *tl_tombs_find(struct tl_tombs *t, const struct tl_flow_key *k, uint32_t hash)
{
    if (t->live == 0)
        return NULL;
    for (uint32_t i = t->buckets[bucket_of(t, hash)]; i != 0; i = t->ring[i - 1].hnext) {
        struct tl_tomb *x = &t->ring[i - 1];
        if (x->hash == hash && tl_flow_key_eq(&x->key, k))
            return x;
    }
    return NULL;
}

void tl_tombs_remove(struct tl_tombs *t, struct tl_tomb *tomb)
{
    uint32_t i = (uint32_t)(tomb - t->ring);
    if (tomb->dead)
        return;
    unlink_slot(t, i);
    tomb->dead = true;
    t->live--;
}

void tl_tombs_lapse(struct tl_tombs *t, int64_t clock_us)
{
    while (t->n > 0 && (t->ring[t->head].dead || t->ring[t->head].lapse_us < clock_us))
        drop_oldest(t);
}

size_t tl_tombs_count(const struct tl_tombs *t) { return t->live; }

uint64_t tl_tombs_evicted(const struct tl_tombs *t) { return t->evicted; }
