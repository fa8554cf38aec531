/* Private to src/merge*.c: reading a record's values (merge_run.c reads
 * the summary's with them), and the readers of its lists
 * (merge_view_events.c). */
#ifndef TCPLENS_MERGE_VIEW_INT_H
#define TCPLENS_MERGE_VIEW_INT_H

#include <jansson.h>

#include "merge_view.h"

/* key's string member of o, or NULL. */
const char *mv_str_of(json_t *o, const char *key);
/* An integer member in [lo, hi]; absent or anything else is false. */
bool mv_int_of(json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out);
bool mv_u64_of(json_t *o, const char *key, uint64_t *out); /* [0, INT64_MAX] */
bool mv_u32_of(json_t *o, const char *key, uint32_t *out);
/* Seconds as tl_jw_usec() writes them, to the µs they were. */
bool mv_usec_val(json_t *v, int64_t *us);
bool mv_usec_of(json_t *o, const char *key, int64_t *us);
/* A summary's members, read leniently: a count (0 when absent or not one)
 * and a time in µs (0 when absent or not one). */
uint64_t mv_count_of(json_t *o, const char *key);
int64_t mv_time_of(json_t *o, const char *key);
/* {"client": x, "server": y}, each at most max. */
bool mv_pair_of(json_t *o, const char *key, uint64_t max, uint64_t out[2]);
bool mv_pair32_of(json_t *o, const char *key, uint32_t out[2]);
/* The index of name among names(0..n), or -1. */
int mv_named(const char *name, const char *(*names)(int), int n);
const char *mv_state_name(int i);
/* key's member of o as an endpoint state, or -1. */
int mv_state_of(json_t *o, const char *key);
/* s kept for mv's life (one copy of each); NULL past the cap or out of
 * memory. */
const char *mv_intern(struct tl_merge_view *mv, const char *s);

/* The timeline and the anomalies of record o into mv (NULL parts when the
 * record has none); false when one is not as tcplens writes it. */
bool mv_read_timeline(struct tl_merge_view *mv, json_t *o);
bool mv_read_anomalies(struct tl_merge_view *mv, json_t *o);

#endif
