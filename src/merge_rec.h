/* tcplens merge: a connection record read back into the parts of a
 * connection the summaries count (src/merge_rec.c). */
#ifndef TCPLENS_MERGE_REC_H
#define TCPLENS_MERGE_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcplens/model.h"

struct tl_merge_rec {
    struct tl_conn *c; /* owned (a flexible ext[], not used, keeps it out of line) */
    struct tl_tcpstate tcp;
    struct tl_anomaly_list an; /* types and severities; no evidence */
    struct tl_conn_perf perf;
    struct tl_host_conn host;
    struct tl_conn_view v; /* of the parts above */
};

/* Reads line[0, len), one connection record, as connection id: what the
 * summary, the services and hosts tables and host-level detection read of
 * it, in rec->v. False when it lacks one of those parts. */
bool tl_merge_rec_read(struct tl_merge_rec *rec, const char *line, size_t len, uint64_t id);

void tl_merge_rec_free(struct tl_merge_rec *rec);

/* Seconds as tcplens writes them (six decimals) to µs; false for what is
 * not a number. */
bool tl_merge_usec(const void *json, int64_t *us);

#endif
