/*
 * Fuzz harness for the record reader (src/merge_view.c), which reads a
 * connection record back into a view: untrusted text. The input is split
 * into lines, each read in turn with one reader (its arrays reused line to
 * line). Whatever the bytes, no crash, hang, leak or sanitizer report; and
 * a line it does read is a view whose record reads back into the same
 * view: writing it again gives the same text. Built with libFuzzer
 * (configure --enable-fuzzers) or linked with replay.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/merge_view.h"
#include "../../src/report_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A record read is written, read and written again: the same text. */
static void again(struct tl_merge_view *mv)
{
    size_t n = 0, m = 0;
    char *s = tl_report_json_format_conn(&mv->v, "connection", &n);
    if (s == NULL)
        return;
    if (!tl_merge_view_read(mv, s, n))
        abort(); /* what it wrote it must read */
    char *t = tl_report_json_format_conn(&mv->v, "connection", &m);
    if (t != NULL && (m != n || memcmp(s, t, n) != 0))
        abort(); /* nor change it */
    free(s);
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tl_merge_view mv;
    tl_merge_view_init(&mv);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (tl_merge_view_read(&mv, p, n))
            again(&mv);
        p += n + (nl != NULL);
    }
    tl_merge_view_free(&mv);
    return 0;
}
