/*
 * Reads tcplens's NDJSON on stdin: each connection record back into a view
 * (src/merge_view.c), written again by tl_report_json_format_conn(), must
 * be the same line byte for byte. Other records are passed over. With
 * --garbage, each record is also read cut short and with bytes changed:
 * every one must be refused or read, never crash (ASan watches).
 *
 *   merge-view [--garbage] [--name NAME] < run.ndjson
 *
 * Prints "NAME: N compared, N identical, N unread" and the first lines
 * that differ; exits 1 when one differs or was not read, 2 when none was
 * compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_view.h"
#include "report_int.h"

#define SHOW_MAX 3

struct counts {
    unsigned long compared, same, unread, shown;
};

/* The first byte where a and b differ, with some context. */
static void show(const char *name, const char *want, size_t wn, const char *got, size_t gn)
{
    size_t i = 0;
    while (i < wn && i < gn && want[i] == got[i])
        i++;
    size_t from = i > 60 ? i - 60 : 0;
    printf("# %s: differs at byte %zu\n#  want: %.*s\n#  got:  %.*s\n", name, i,
           (int)(wn - from < 160 ? wn - from : 160), want + from,
           (int)(gn - from < 160 ? gn - from : 160), got + from);
}

static void one(struct tl_merge_view *mv, const char *name, const char *line, size_t n,
                struct counts *k)
{
    k->compared++;
    if (!tl_merge_view_read(mv, line, n)) {
        k->unread++;
        if (k->shown++ < SHOW_MAX)
            printf("# %s: not read: %.200s\n", name, line);
        return;
    }
    size_t len = 0;
    char *s = tl_report_json_format_conn(&mv->v, "connection", &len);
    if (s != NULL && len == n && memcmp(s, line, n) == 0)
        k->same++;
    else if (k->shown++ < SHOW_MAX)
        show(name, line, n, s != NULL ? s : "", s != NULL ? len : 0);
    free(s);
}

/* Cut short at a few places, a few bytes changed: read or refused (a cut
 * record never reads). Returns the cut records read: none. */
static unsigned long garbage(struct tl_merge_view *mv, const char *line, size_t n)
{
    unsigned long cut_read = 0;
    char *b = malloc(n + 1);
    if (b == NULL)
        return 0;
    size_t cuts[] = {n / 7, n / 3, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        cut_read += tl_merge_view_read(mv, line, cuts[i]);
    static const char subst[] = "0-9\"{}[],:.etn\\x";
    unsigned seed = (unsigned)n * 2654435761u;
    for (int round = 0; round < 24; round++) {
        memcpy(b, line, n + 1);
        for (int j = 0; j < 1 + round % 3; j++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n;
            b[at] = subst[(seed >> 3) % (sizeof subst - 1)];
        }
        if (tl_merge_view_read(mv, b, n))
            continue; /* a changed digit may still be a record */
    }
    free(b);
    return cut_read;
}

int main(int argc, char **argv)
{
    const char *name = "stdin";
    bool mangle = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--garbage") == 0)
            mangle = true;
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
    }
    struct tl_merge_view mv;
    tl_merge_view_init(&mv);
    struct counts k = {0, 0, 0, 0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) > 0) {
        size_t n = (size_t)got;
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (strncmp(line, "{\"record\":\"connection\",", 23) != 0)
            continue;
        one(&mv, name, line, n, &k);
        if (mangle && garbage(&mv, line, n) != 0) {
            printf("# %s: a cut record was read\n", name);
            k.unread++;
        }
    }
    free(line);
    tl_merge_view_free(&mv);
    printf("%s: %lu compared, %lu identical, %lu unread\n", name, k.compared, k.same, k.unread);
    if (k.compared == 0)
        return 2;
    return k.same == k.compared ? 0 : 1;
}
