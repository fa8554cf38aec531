/* --connection's id lists (src/cli.c): ids and ranges, what is refused,
 * and repeats that add up, sorted and merged. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

#include "tap.h"

/* The ranges of s, parsed into an empty list and merged, as "a-b,c";
 * "refused" when it does not parse. */
static const char *ids(const char *s)
{
    static char buf[256];
    struct tl_id_range *r = NULL;
    size_t n = 0;
    if (!tl_cli_parse_ids(s, &r, &n)) {
        free(r);
        return "refused";
    }
    n = tl_cli_merge_ids(r, n);
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%llu-%llu", i ? "," : "",
                                (unsigned long long)r[i].first, (unsigned long long)r[i].last);
    free(r);
    return buf;
}

int main(void)
{
    struct tap t = {0, 0};
    is_str(&t, ids("3"), "3-3", "one id");
    is_str(&t, ids("3,17,40-45"), "3-3,17-17,40-45", "ids and a range");
    is_str(&t, ids("40-45,3,44-50,51"), "3-3,40-51", "sorted; overlapping and touching merged");
    is_str(&t, ids("5-5,5"), "5-5", "the same id twice is once");
    is_str(&t, ids("18446744073709551615"), "18446744073709551615-18446744073709551615",
           "the largest id");
    is_str(&t, ids("1-18446744073709551615,7"), "1-18446744073709551615",
           "a range to the largest id swallows the rest");
    const char *bad[] = {"",     "0",  "0-3", "3-2", "1,",   ",1",
                         "1,,2", "a",  "1-",  "-1",  "1--2", "1-2-3",
                         "1 2",  " 1", "+1",  "1.5", "0x10", "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "'%s' refused", bad[i]);
        is_str(&t, ids(bad[i]), "refused", name);
    }

    /* Repeats add up: each list appends to what came before. */
    struct tl_id_range *r = NULL;
    size_t n = 0;
    ok(&t, tl_cli_parse_ids("9", &r, &n) && tl_cli_parse_ids("2,4-5", &r, &n) && n == 3,
       "--connection 9 --connection 2,4-5: three ranges");
    ok(&t, !tl_cli_parse_ids("7,x", &r, &n) && n == 3, "a malformed list appends nothing");
    n = tl_cli_merge_ids(r, n);
    ok(&t, n == 3 && r[0].first == 2 && r[1].first == 4 && r[1].last == 5 && r[2].first == 9,
       "... sorted: 2, 4-5, 9");
    free(r);
    return tap_done(&t);
}
