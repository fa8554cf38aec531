/* tcplens merge: shards' NDJSON outputs back into one run's (src/merge.c). */
#ifndef TCPLENS_MERGE_H
#define TCPLENS_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What a merge writes; each output may be NULL (not written). */
enum tl_merge_out {
    TL_MERGE_NDJSON = 0, /* the NDJSON records */
    TL_MERGE_JSON,       /* the JSON document */
    TL_MERGE_TEXT,       /* the text report */
    TL_MERGE_HTML,       /* the HTML page */
    TL_MERGE_NOUTS
};

/* What a merge writes, and how. */
struct tl_merge_cfg {
    FILE *out[TL_MERGE_NOUTS]; /* by enum tl_merge_out; NULL: not written */
    bool anomalies_only;       /* list only connections with a warning or an error */
    uint32_t top;              /* text: the connections detailed (0: the default) */
    bool all;                  /* text: every connection's row and detail */
};

/* Merges the shards in[0..n) (seekable: each is read twice), named
 * names[i] in messages, into cfg's outputs; says what is wrong on err
 * (one line). False when they do not merge or an output failed. */
bool tl_merge_streams(FILE *const *in, const char *const *names, size_t n,
                      const struct tl_merge_cfg *cfg, FILE *err);

/* The "merge" command, argv[0] being "merge"; returns the exit status. */
int tl_merge_main(int argc, char **argv);

#endif
