/* tcplens merge reading a shard's JSON document (src/merge_doc.c). */
#ifndef TCPLENS_MERGE_DOC_H
#define TCPLENS_MERGE_DOC_H

#include <stdbool.h>
#include <stdio.h>

/* Whether in (seekable, at its start, left there) holds a JSON document
 * rather than NDJSON. */
bool tl_merge_doc_is(FILE *in);

/* The document in as the NDJSON the merge reads (its connection records,
 * then a summary record), in a temporary file at its start; NULL when in
 * is not a tcplens JSON document (said on err, with name). */
FILE *tl_merge_doc_ndjson(FILE *in, const char *name, FILE *err);

#endif
