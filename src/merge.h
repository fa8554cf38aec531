/* tcplens merge: shards' NDJSON outputs back into one run's (src/merge.c). */
#ifndef TCPLENS_MERGE_H
#define TCPLENS_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Merges the shards in[0..n) (seekable: each is read twice), named
 * names[i] in messages, into out; says what is wrong on err (one line).
 * False when they do not merge or out failed. */
bool tl_merge_streams(FILE *const *in, const char *const *names, size_t n, FILE *out, FILE *err);

/* The "merge" command, argv[0] being "merge"; returns the exit status. */
int tl_merge_main(int argc, char **argv);

#endif
