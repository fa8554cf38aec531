/*
 * Timeline tests: ordinary segments folded into summaries whose sums live
 * beside the entries, each summary finding its own; the cap counting what
 * it refuses, summaries included, at every small cap; full mode folding
 * nothing; a revision reaching the summary in progress; and the summary
 * in progress left all zeros once flushed (a packed connection stores only
 * non-zero words).
 */
#include "tcplens/timeline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* A segment of len bytes in direction dir, packet pkt at time ts. */
static struct tl_event seg(uint8_t dir, uint64_t pkt, int64_t ts, uint32_t len)
{
    struct tl_event e;
    memset(&e, 0, sizeof e);
    e.ts = ts;
    e.pkt = pkt;
    e.len = len;
    e.dir = dir;
    e.kind = TL_K_DATA;
    e.client = TL_EP_ESTABLISHED;
    e.server = TL_EP_ESTABLISHED;
    return e;
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

static void test_fold(struct tap *t)
{
    static const struct tl_timeline_cfg cfg = {false, 100};
    struct tl_timeline tl;
    tl_timeline_init(&tl);
    struct tl_event syn = seg(TL_TL_C2S, 1, 100, 0);
    syn.kind = TL_K_SYN;
    ok(t, tl_timeline_add(&tl, &cfg, &syn, true) == TL_OK, "a lifecycle entry");
    /* Three segments one way, two the other: one summary. */
    for (uint64_t i = 0; i < 5; i++) {
        struct tl_event e = seg(i < 3 ? TL_TL_C2S : TL_TL_S2C, 2 + i, 200 + (int64_t)i, 10);
        ok(t, tl_timeline_add(&tl, &cfg, &e, false) == TL_OK, "folded");
    }
    is_int(t, tl.n, 1, "folded segments wait for the next lifecycle entry");
    struct tl_event fin = seg(TL_TL_C2S, 9, 900, 0);
    fin.kind = TL_K_FIN;
    ok(t, tl_timeline_add(&tl, &cfg, &fin, true) == TL_OK, "a second lifecycle entry");
    /* A second summary, then the end. */
    struct tl_event late = seg(TL_TL_S2C, 10, 950, 7);
    ok(t, tl_timeline_add(&tl, &cfg, &late, false) == TL_OK, "folded again");
    ok(t, tl_timeline_flush(&tl, &cfg) == TL_OK, "flushed");
    is_int(t, tl.n, 4, "SYN, summary, FIN, summary");
    is_int(t, tl.nsum, 2, "two summaries' sums kept");
    const struct tl_event *s1 = &tl.ev[1], *s2 = &tl.ev[3];
    ok(t, s1->kind == TL_TL_SUMMARY && s2->kind == TL_TL_SUMMARY, "entries 1 and 3 are summaries");
    is_int(t, s1->ts, 200, "a summary starts at its first segment");
    is_int(t, s1->pkt, 2, "... and its packet");
    const struct tl_sum *a = tl_timeline_sum(&tl, s1), *b = tl_timeline_sum(&tl, s2);
    ok(t, a->packets[0] == 3 && a->packets[1] == 2, "first summary's packets by direction");
    ok(t, a->bytes[0] == 30 && a->bytes[1] == 20, "first summary's bytes by direction");
    ok(t, a->last_ts == 204 && a->last_pkt == 6, "first summary's last segment");
    ok(t, b->packets[0] == 0 && b->packets[1] == 1 && b->bytes[1] == 7 && b->last_pkt == 10,
       "second summary finds its own sums");
    ok(t, all_zero(tl_timeline_sum(&tl, &tl.ev[0]), sizeof(struct tl_sum)),
       "an entry that is no summary reads zero sums");
    ok(t,
       !tl.has_pending && all_zero(&tl.pending, sizeof tl.pending) &&
           all_zero(&tl.pending_sum, sizeof tl.pending_sum),
       "nothing of a flushed summary is left to pack");
    tl_timeline_free(&tl);
    ok(t, tl.ev == NULL && tl.sum == NULL && tl.n == 0 && tl.nsum == 0, "freed and empty");
}

/* At cap max, 3 * max alternating lifecycle entries and single folded
 * segments: every one is kept or counted, and each summary kept still
 * finds its own sums (a segment of i bytes before lifecycle entry i). */
static bool capped_run(uint32_t max)
{
    const struct tl_timeline_cfg cfg = {false, max};
    struct tl_timeline tl;
    tl_timeline_init(&tl);
    uint64_t tried = 0;
    for (uint32_t i = 1; i <= 3 * max; i++) {
        struct tl_event e = seg(TL_TL_C2S, 2 * (uint64_t)i, i, i);
        if (tl_timeline_add(&tl, &cfg, &e, false) != TL_OK)
            return false;
        struct tl_event l = seg(TL_TL_S2C, 2 * (uint64_t)i + 1, i, 0);
        l.kind = TL_K_FIN;
        if (tl_timeline_add(&tl, &cfg, &l, true) != TL_OK)
            return false;
        tried += 2;
    }
    bool good = tl.n == max && tl.n + tl.dropped == tried && tl.cap >= tl.n &&
                tl.nsum <= tl.sumcap && tl.nsum <= tl.n;
    for (uint32_t i = 0; good && i < tl.n; i++) {
        const struct tl_event *e = &tl.ev[i];
        if (e->kind != TL_TL_SUMMARY)
            continue;
        const struct tl_sum *s = tl_timeline_sum(&tl, e);
        good = s->packets[0] == 1 && s->bytes[0] == e->pkt / 2 && s->last_pkt == e->pkt;
    }
    tl_timeline_free(&tl);
    return good;
}

static void test_cap(struct tap *t)
{
    bool all = true;
    for (uint32_t max = 1; max <= 40; max++)
        if (!capped_run(max)) {
            printf("# cap %u fails\n", max);
            all = false;
        }
    ok(t, all, "caps 1 to 40: kept plus dropped is all, sums right");
    ok(t, capped_run(1000), "the default cap, past several growths");
}

static void test_full(struct tap *t)
{
    static const struct tl_timeline_cfg cfg = {true, 100};
    struct tl_timeline tl;
    tl_timeline_init(&tl);
    for (uint64_t i = 0; i < 20; i++) {
        struct tl_event e = seg(TL_TL_C2S, i + 1, (int64_t)i, 5);
        ok(t, tl_timeline_add(&tl, &cfg, &e, false) == TL_OK, "added");
    }
    is_int(t, tl.n, 20, "full mode keeps every segment");
    is_int(t, tl.nsum, 0, "and makes no summary");
    is_int(t, tl.ev[19].len, 5, "a segment keeps its length");
    tl_timeline_free(&tl);
}

static void test_revise(struct tap *t)
{
    static const struct tl_timeline_cfg cfg = {false, 100};
    struct tl_timeline tl;
    tl_timeline_init(&tl);
    struct tl_event fin = seg(TL_TL_S2C, 1, 1, 0);
    fin.kind = TL_K_FIN;
    fin.client = TL_EP_CLOSE_WAIT;
    ok(t, tl_timeline_add(&tl, &cfg, &fin, true) == TL_OK, "the change");
    struct tl_event d = seg(TL_TL_C2S, 2, 2, 9);
    d.client = TL_EP_CLOSE_WAIT;
    ok(t, tl_timeline_add(&tl, &cfg, &d, false) == TL_OK, "a segment after it, folded");
    struct tl_event *change = tl_timeline_revise(&tl, TL_ROLE_CLIENT, TL_EP_CLOSE_WAIT,
                                                 TL_EP_ESTABLISHED);
    ok(t, change == &tl.ev[0], "the change's entry is returned");
    is_int(t, tl.ev[0].client, TL_EP_ESTABLISHED, "the change is undone in its entry");
    ok(t, tl_timeline_flush(&tl, &cfg) == TL_OK, "flushed");
    is_int(t, tl.ev[1].client, TL_EP_ESTABLISHED, "and in the summary that was in progress");
    is_int(t, tl_timeline_sum(&tl, &tl.ev[1])->bytes[0], 9, "whose sums stay");
    tl_timeline_free(&tl);
}

int main(void)
{
    struct tap t = {0, 0};
    test_fold(&t);
    test_cap(&t);
    test_full(&t);
    test_revise(&t);
    return tap_done(&t);
}
