/* Sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4). */
#include "tcplens/seq.h"

#include <stdio.h>

#include "tap.h"

/* One comparison and what each of lt/le/gt/ge/diff must say about it. */
struct seq_case {
    uint32_t a, b;
    int64_t diff; /* a - b as a signed distance */
    const char *name;
};

static const struct seq_case cases[] = {
    {0, 0, 0, "0 vs 0"},
    {1, 0, 1, "1 vs 0"},
    {0, 1, -1, "0 vs 1"},
    {0xfffffff0u, 0x10u, -0x20, "0xfffffff0 vs 0x10 (across 2^32)"},
    {0x10u, 0xfffffff0u, 0x20, "0x10 vs 0xfffffff0 (across 2^32)"},
    {0xffffffffu, 0, -1, "2^32-1 vs 0"},
    {0, 0xffffffffu, 1, "0 vs 2^32-1"},
    {0x7fffffffu, 0, INT32_MAX, "2^31-1 vs 0 (largest forward distance)"},
    {0, 0x7fffffffu, -INT32_MAX, "0 vs 2^31-1"},
    {0x80000000u, 0, INT32_MIN, "2^31 vs 0 (half the space: behind)"},
    {0x80000001u, 0, -0x7fffffff, "2^31+1 vs 0"},
    {0x80000000u, 0x7fffffffu, 1, "2^31 vs 2^31-1 (across 2^31)"},
    {0x7fffffffu, 0x80000000u, -1, "2^31-1 vs 2^31"},
    {0x80000010u, 0x7ffffff0u, 0x20, "2^31+16 vs 2^31-16"},
    {0xdeadbeefu, 0xdeadbeefu, 0, "equal, large"},
    {1000, 0xfffffc18u, 2000, "1000 vs -1000 (mod 2^32)"},
};

static void test_case(struct tap *t, const struct seq_case *c)
{
    char name[128];
    snprintf(name, sizeof name, "diff %s", c->name);
    is_int(t, tl_seq_diff(c->a, c->b), c->diff, name);
    bool lt = c->diff < 0, eq = c->diff == 0;
    bool all = tl_seq_lt(c->a, c->b) == lt && tl_seq_le(c->a, c->b) == (lt || eq) &&
               tl_seq_gt(c->a, c->b) == (!lt && !eq) && tl_seq_ge(c->a, c->b) == !lt;
    snprintf(name, sizeof name, "lt/le/gt/ge %s", c->name);
    ok(t, all, name);
}

static void test_named(struct tap *t)
{
    ok(t, tl_seq_lt(0xfffffff0u, 0x10u), "lt(0xfffffff0, 0x10)");
    ok(t, !tl_seq_lt(0x10u, 0xfffffff0u), "!lt(0x10, 0xfffffff0)");
    ok(t, tl_seq_gt(0x10u, 0xfffffff0u), "gt(0x10, 0xfffffff0)");
    ok(t, tl_seq_le(5, 5) && tl_seq_ge(5, 5) && !tl_seq_lt(5, 5) && !tl_seq_gt(5, 5),
       "5 vs 5: le and ge, neither lt nor gt");
    ok(t, tl_seq_ge(0, 0xffffffffu) && !tl_seq_le(0, 0xffffffffu), "0 is after 2^32-1");
    /* 2^31 apart, both orders compare "behind": the one ambiguous distance. */
    ok(t, tl_seq_lt(0, 0x80000000u) && tl_seq_lt(0x80000000u, 0),
       "exactly 2^31 apart: each is before the other");
}

static void test_rel(struct tap *t)
{
    is_int(t, tl_seq_rel(1000, 1000), 0, "rel: isn itself is 0");
    is_int(t, tl_seq_rel(1001, 1000), 1, "rel: isn+1 is 1");
    is_int(t, tl_seq_rel(0x10u, 0xfffffff0u), 0x20, "rel: across 2^32");
    is_int(t, tl_seq_rel(0xfffffff0u, 0x10u), 0xffffffe0u, "rel: before the isn wraps");
    is_int(t, tl_seq_rel(0, 0xffffffffu), 1, "rel: 0 after isn 2^32-1 is 1");
    is_int(t, tl_seq_rel(0x80000000u, 0), 0x80000000u, "rel: 2^31 stays unsigned");
    /* The relative sequence of isn + k is k for any isn. */
    bool all = true;
    for (uint32_t i = 0, isn = 0xffff0000u; i < 64; i++, isn += 0x1000u)
        all = all && tl_seq_rel(isn + 12345u, isn) == 12345u &&
              tl_seq_diff(isn + 12345u, isn) == 12345 && tl_seq_lt(isn, isn + 12345u);
    ok(t, all, "rel/diff/lt: isn + 12345 for isns across 2^32");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep the TAP lines if a sanitizer aborts */
    struct tap t = {0, 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_case(&t, &cases[i]);
    test_named(&t);
    test_rel(&t);
    return tap_done(&t);
}
