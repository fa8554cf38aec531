/* tcplens merge: shards' NDJSON outputs back into one run's (src/merge.c). */
#ifndef TCPLENS_MERGE_H
#define TCPLENS_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Merges the shards in[0..n) (seekable: each is read twice), named
 * names[i] in messages, into the NDJSON ndjson and the JSON document json
 * (either may be NULL: not written); says what is wrong on err (one
 * line). False when they do not merge or an output failed. */
bool tl_merge_streams(FILE *const *in, const char *const *names, size_t n, FILE *ndjson, FILE *json,
                      FILE *err);

/* The "merge" command, argv[0] being "merge"; returns the exit status. */
int tl_merge_main(int argc, char **argv);

#endif
