/*
 * Tombstone store tests: find by key and hash, removal, lapse in the order
 * made, the cap pushing out the oldest (counted), growth keeping every one
 * findable, and a chain of colliding hashes.
 */
#include "tcplens/tomb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* Tombstone number i: its own port, hash h (several may share one). */
static struct tl_tomb tomb(uint32_t i, uint32_t h, int64_t lapse)
{
    struct tl_tomb t;
    memset(&t, 0, sizeof t);
    t.key.a.family = t.key.b.family = TL_AF_INET;
    t.key.a.b[3] = 1;
    t.key.b.b[3] = 2;
    t.key.pa = (uint16_t)(1000 + i % 60000);
    t.key.pb = (uint16_t)(80 + i / 60000);
    t.hash = h;
    t.id = i + 1;
    t.lapse_us = lapse;
    return t;
}

static struct tl_tomb *find(struct tl_tombs *s, uint32_t i, uint32_t h)
{
    struct tl_tomb k = tomb(i, h, 0);
    return tl_tombs_find(s, &k.key, h);
}

static void test_find_remove(struct tap *t)
{
    struct tl_tombs *s = tl_tombs_new(100);
    ok(t, s != NULL, "store made");
    ok(t, find(s, 1, 7) == NULL, "an empty store finds nothing");
    struct tl_tomb a = tomb(1, 7, 10), b = tomb(2, 7, 20); /* one bucket */
    ok(t, tl_tombs_add(s, &a) && tl_tombs_add(s, &b), "two added");
    struct tl_tomb *x = find(s, 1, 7), *y = find(s, 2, 7);
    ok(t, x != NULL && x->id == 2 && y != NULL && y->id == 3, "each found by its key");
    ok(t, find(s, 1, 8) == NULL, "the right key under another hash is not found");
    ok(t, find(s, 3, 7) == NULL, "another key in the same bucket is not found");
    tl_tombs_remove(s, x);
    ok(t, find(s, 1, 7) == NULL && find(s, 2, 7) != NULL, "a removed one goes, the other stays");
    is_int(t, tl_tombs_count(s), 1, "one left");
    tl_tombs_remove(s, x);
    is_int(t, tl_tombs_count(s), 1, "removing twice counts once");
    tl_tombs_free(s);
}

static void test_lapse(struct tap *t)
{
    struct tl_tombs *s = tl_tombs_new(100);
    for (uint32_t i = 0; i < 10; i++) {
        struct tl_tomb x = tomb(i, i * 2654435761u, 100 + (int64_t)i);
        (void)tl_tombs_add(s, &x);
    }
    tl_tombs_lapse(s, 104);
    is_int(t, tl_tombs_count(s), 6, "the four whose time is up go (lapse < clock)");
    ok(t, find(s, 3, 3 * 2654435761u) == NULL && find(s, 4, 4 * 2654435761u) != NULL,
       "the oldest go first");
    /* A removed one at the head no longer holds the rest back. */
    tl_tombs_remove(s, find(s, 4, 4 * 2654435761u));
    tl_tombs_lapse(s, 106);
    is_int(t, tl_tombs_count(s), 4, "a dead head is freed with those behind it");
    tl_tombs_lapse(s, 1000);
    is_int(t, tl_tombs_count(s), 0, "all lapse in time");
    is_int(t, tl_tombs_evicted(s), 0, "lapsing is not eviction");
    tl_tombs_free(s);
}

static void test_cap_and_growth(struct tap *t)
{
    /* Past the first ring size, so the ring grows, then hits the cap. */
    const uint32_t cap = 3000, n = 5000;
    struct tl_tombs *s = tl_tombs_new(cap);
    bool added = true;
    for (uint32_t i = 0; i < n; i++) {
        struct tl_tomb x = tomb(i, i % 97, 1000000); /* long chains */
        added = added && tl_tombs_add(s, &x);
    }
    ok(t, added, "every add succeeded");
    is_int(t, tl_tombs_count(s), cap, "at most the cap kept");
    is_int(t, tl_tombs_evicted(s), n - cap, "the ones pushed out are counted");
    bool newest = true, oldest_gone = true;
    for (uint32_t i = 0; i < n; i++) {
        struct tl_tomb *x = find(s, i, i % 97);
        if (i < n - cap)
            oldest_gone = oldest_gone && x == NULL;
        else
            newest = newest && x != NULL && x->id == i + 1;
    }
    ok(t, oldest_gone, "the oldest were pushed out");
    ok(t, newest, "the newest are all found, through growth and chains");
    /* Removed ones are not counted as evicted when the cap reaches them. */
    for (uint32_t i = n - cap; i < n - cap + 10; i++)
        tl_tombs_remove(s, find(s, i, i % 97));
    struct tl_tomb x = tomb(n, n % 97, 1000000);
    (void)tl_tombs_add(s, &x);
    is_int(t, tl_tombs_evicted(s), n - cap, "a dead one makes room without an eviction");
    tl_tombs_free(s);
}

int main(void)
{
    struct tap t = {0, 0};
    test_find_remove(&t);
    test_lapse(&t);
    test_cap_and_growth(&t);
    return tap_done(&t);
}
