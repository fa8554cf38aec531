/* A connection record read back into a whole view (src/merge_view.c): all
 * that tl_report_json_format_conn() writes, so that writing the view again
 * gives the record's line, byte for byte. */
#ifndef TCPLENS_MERGE_VIEW_H
#define TCPLENS_MERGE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcplens/model.h"

struct mv_strs; /* interned keys and strings (merge_view.c) */

/*
 * Owns every part of the view. Reuse it line after line: the arrays grow
 * to the longest record and stay. What the record does not carry is zero,
 * but for what its strings pin (docs/merge-view.md):
 *
 * - zeek: the originator's and responder's Zeek states are ones that give
 *   the record's conn_state (the originator taken to be key.a); the
 *   history is the record's;
 * - anomalies: each anomaly's texts point into texts[], the record's
 *   explanation and suggestion, which tl_anomaly_render() gives as they
 *   are (the record lacks the aux[] its renderer would read);
 * - tcp: the states at end, and the client's isn and snd_nxt when the
 *   Wireshark filter names its sequence space (c.overlaps).
 */
struct tl_merge_view {
    struct tl_conn *c; /* owned (a flexible ext[], not used, keeps it out of line) */
    struct tl_tcpstate tcp;
    struct tl_zeek zeek;
    struct tl_timeline tl; /* ev[] and sum[] grow; never a summary pending */
    struct tl_anomaly_list an;
    struct tl_anomaly_text *texts; /* by anomaly */
    size_t texts_cap;
    struct tl_conn_perf perf;
    struct tl_host_conn host;
    struct mv_strs *strs;  /* evidence keys and strings, for mv's life */
    struct tl_conn_view v; /* of the parts above; a part the record lacks is NULL */
};

/* Zeroes mv; no allocation until the first read. */
void tl_merge_view_init(struct tl_merge_view *mv);

/*
 * Reads line[0, len), one connection record ({"record": "connection",
 * ...}), into mv->v. False when it is not one or lacks a part the record
 * always carries, or holds what the view cannot (too many packets or
 * fields in an anomaly, a history too long, a name tcplens does not use,
 * out of memory): mv->v is then unspecified but safe to free. The text
 * is untrusted: every value is checked, nothing is read past len.
 * Evidence strings stay valid until tl_merge_view_free(); the anomalies'
 * texts until the next read.
 */
TL_MUST_CHECK bool tl_merge_view_read(struct tl_merge_view *mv, const char *line, size_t len);

/* The same without the timeline (mv->v.timeline NULL), read in a third
 * less time: all the summaries, the services and host-level detection
 * read of a connection. */
TL_MUST_CHECK bool tl_merge_view_read_head(struct tl_merge_view *mv, const char *line, size_t len);

void tl_merge_view_free(struct tl_merge_view *mv);

#endif
