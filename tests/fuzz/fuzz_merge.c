/*
 * Fuzz harness for tcplens merge (src/merge.c), which reads the NDJSON of
 * shard runs: untrusted text. The input is split at form feeds into at
 * most four shards, each a memory file, merged into /dev/null. Whatever
 * the bytes, the merge must end, with no crash, hang, leak or sanitizer
 * report, its one line of error (if any) said. Built with libFuzzer (configure --enable-fuzzers) or linked with
 * replay.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SHARDS 4

/* A memory file of a copy of data[0, n) in *buf (a temporary file when
 * empty: fmemopen wants a size). */
static FILE *mem_file(const uint8_t *data, size_t n, char **buf)
{
    if (n == 0)
        return tmpfile();
    if ((*buf = malloc(n)) == NULL)
        return NULL;
    memcpy(*buf, data, n);
    return fmemopen(*buf, n, "r");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *in[MAX_SHARDS] = {NULL};
    char *buf[MAX_SHARDS] = {NULL};
    const char *names[MAX_SHARDS] = {"s1", "s2", "s3", "s4"};
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < MAX_SHARDS; i++) {
        if (i == size || data[i] == '\f' || n == MAX_SHARDS - 1) {
            size_t end = n == MAX_SHARDS - 1 ? size : i;
            in[n] = mem_file(data + start, end - start, &buf[n]);
            if (in[n] == NULL)
                goto done;
            n++;
            start = i + 1;
            if (end == size)
                break;
        }
    }
    FILE *sink = fopen("/dev/null", "w");
    if (sink != NULL) {
        struct tl_merge_cfg cfg = {{sink, sink, sink, sink}, size % 2 == 1, 0, size % 3 == 1};
        (void)tl_merge_streams(in, names, n, &cfg, sink);
        fclose(sink);
    }
done:
    for (size_t i = 0; i < n; i++)
        fclose(in[i]);
    for (size_t i = 0; i < MAX_SHARDS; i++)
        free(buf[i]);
    return 0;
}
