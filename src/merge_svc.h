/* tcplens merge's services and client hosts tables (src/merge_svc.c). */
#ifndef TCPLENS_MERGE_SVC_H
#define TCPLENS_MERGE_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tl_merge_svc;

/* NULL when out of memory. */
struct tl_merge_svc *tl_merge_svc_new(void);
void tl_merge_svc_free(struct tl_merge_svc *m);

/* Counts one connection record (a line of NDJSON, line[0, len)) as
 * connection id; false when it cannot be read (then the tables are wrong,
 * and tl_merge_svc_write() says so). */
bool tl_merge_svc_add(struct tl_merge_svc *m, const char *line, size_t len, uint64_t id);

/* Whether more services or client hosts came than the tables keep: the
 * ones kept are the first in first-seen order, where one run keeps the
 * first whose connections ended. */
bool tl_merge_svc_capped(const struct tl_merge_svc *m);

/* Writes the service records, then the client host records, as one run
 * writes them; false when a record could not be read or out failed. */
bool tl_merge_svc_write(const struct tl_merge_svc *m, FILE *out);

#endif
