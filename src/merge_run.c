/*
 * tcplens merge: the capture, inputs and peak of the run the shards make
 * together. Every shard reads every frame (the shard of a segment is
 * chosen after it is decoded), so what is about frames is the same in
 * each; what is about connections each counted for its own.
 */
#include "merge_run.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "merge_view_int.h"

static void read_alike(json_t *c, struct tl_capture_info *out)
{
    out->first_ts = mv_time_of(c, "first_ts");
    out->last_ts = mv_time_of(c, "last_ts");
    out->partial = json_is_true(json_object_get(c, "partial"));
    json_t *end = json_object_get(c, "end");
    out->end_ts = mv_time_of(end, "ts");
    const char *src = json_string_value(json_object_get(end, "source"));
    for (int s = 0; src != NULL && s < TL_CEND_N; s++)
        if (strcmp(src, tl_capture_end_name((enum tl_capture_end)s)) == 0)
            out->end_source = (uint8_t)s;
    out->packets = mv_count_of(c, "packets");
    out->tcp_packets = mv_count_of(c, "tcp_packets");
    json_t *why = json_object_get(c, "skipped_reasons");
    for (int r = 1; r < TL_DEC_NRESULTS; r++)
        out->skipped[r] = mv_count_of(why, tl_dec_name((enum tl_dec)r));
    json_t *live = json_object_get(c, "live");
    if (live != NULL) {
        out->live = true;
        out->live_received = mv_count_of(live, "received");
        out->live_dropped = mv_count_of(live, "dropped");
        out->live_if_dropped = mv_count_of(live, "if_dropped");
    }
    json_t *fs = json_object_get(c, "file_stats");
    if (fs != NULL) {
        out->file_stats = true;
        out->file_received = mv_count_of(fs, "received");
        out->file_if_dropped = mv_count_of(fs, "if_dropped");
        out->file_os_dropped = mv_count_of(fs, "os_dropped");
    }
}

static void add_own(json_t *c, struct tl_capture_info *out)
{
    out->duplicates += mv_count_of(c, "duplicates");
    json_t *ev = json_object_get(c, "evicted");
    out->evicted_idle += mv_count_of(ev, "idle");
    out->evicted_cap += mv_count_of(ev, "max_flows");
    out->evicted_tombstones += mv_count_of(ev, "tombstones");
    out->late_segments += mv_count_of(c, "late_segments");
    json_t *icmp = json_object_get(c, "icmp_errors");
    out->icmp_matched += mv_count_of(icmp, "matched");
    out->icmp_unmatched += mv_count_of(icmp, "unmatched");
}

/* u, one unit's reading, into out (first: the first unit). */
static void add_unit(const struct tl_capture_info *u, struct tl_capture_info *out, bool first)
{
    if (first) {
        *out = *u;
        return;
    }
    out->first_ts = u->first_ts < out->first_ts ? u->first_ts : out->first_ts;
    out->last_ts = u->last_ts > out->last_ts ? u->last_ts : out->last_ts;
    out->end_ts = u->end_ts;
    out->end_source = u->end_source;
    out->partial = out->partial || u->partial;
    out->packets += u->packets;
    out->tcp_packets += u->tcp_packets;
    for (int r = 1; r < TL_DEC_NRESULTS; r++)
        out->skipped[r] += u->skipped[r];
    out->file_stats = out->file_stats || u->file_stats;
    out->file_received += u->file_received;
    out->file_if_dropped += u->file_if_dropped;
    out->file_os_dropped += u->file_os_dropped;
}

void tl_merge_capture(void *const *caps, const bool *unit_first, size_t n,
                      struct tl_capture_info *out)
{
    memset(out, 0, sizeof *out);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!unit_first[i])
            continue;
        struct tl_capture_info u;
        memset(&u, 0, sizeof u);
        read_alike(caps[i], &u);
        add_unit(&u, out, !any);
        any = true;
    }
    out->worst_severity = -1;
    for (size_t i = 0; i < n; i++)
        add_own(caps[i], out);
}

uint32_t tl_merge_units(const struct tl_merge_unit_in *in, size_t n, uint32_t *unit,
                        uint64_t *offset)
{
    /* rep[i]: the first shard over shard i's inputs; a few shards, so
     * pairs are compared. */
    size_t *rep = malloc((n ? n : 1) * sizeof *rep), nu = 0;
    if (rep == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        rep[i] = i;
        for (size_t j = 0; j < i && rep[i] == i; j++)
            if (rep[j] == j &&
                json_equal((json_t *)(uintptr_t)in[i].inputs, (json_t *)(uintptr_t)in[j].inputs))
                rep[i] = j;
        nu += rep[i] == i;
    }
    /* A unit's rank: the units before it in time. */
    for (size_t i = 0; i < n; i++) {
        if (rep[i] != i)
            continue;
        uint32_t rank = 0;
        uint64_t before = 0;
        for (size_t j = 0; j < n; j++) {
            if (rep[j] != j || j == i)
                continue;
            int by_name = strcmp(in[j].name, in[i].name);
            if (in[j].first_ts < in[i].first_ts ||
                (in[j].first_ts == in[i].first_ts && (by_name < 0 || (by_name == 0 && j < i)))) {
                rank++;
                before += in[j].packets;
            }
        }
        unit[i] = rank;
        offset[i] = before;
    }
    for (size_t i = 0; i < n; i++) {
        unit[i] = unit[rep[i]];
        offset[i] = offset[rep[i]];
    }
    free(rep);
    return (uint32_t)nu;
}

bool tl_merge_inputs(const void *inputs, struct tl_input_info **out, size_t *n)
{
    json_t *a = (json_t *)(uintptr_t)inputs;
    *n = json_array_size(a);
    *out = calloc(*n ? *n : 1, sizeof **out);
    if (*out == NULL)
        return false;
    for (size_t i = 0; i < *n; i++) {
        json_t *o = json_array_get(a, i);
        struct tl_input_info *in = &(*out)[i];
        const char *name = json_string_value(json_object_get(o, "source"));
        const char *err = json_string_value(json_object_get(o, "error"));
        in->name = name != NULL ? name : "";
        in->linktype_name = json_string_value(json_object_get(o, "linktype"));
        in->packets = mv_count_of(o, "packets");
        in->status = err != NULL ? TL_EIO : TL_OK;
        if (err != NULL)
            snprintf(in->error, sizeof in->error, "%s", err);
    }
    return true;
}

static void heap_down(uint64_t *h, size_t n)
{
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && h[l] < h[m])
            m = l;
        if (l + 1 < n && h[l + 1] < h[m])
            m = l + 1;
        if (m == i)
            return;
        uint64_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

void tl_merge_peak_add(struct tl_merge_peak *p, uint64_t first_pkt, uint64_t released_pkt)
{
    /* Those let go at or before this frame are gone before it makes this
     * one (the engine expires, then looks up). */
    while (p->n > 0 && p->held[0] <= first_pkt) {
        p->held[0] = p->held[--p->n];
        heap_down(p->held, p->n);
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        uint64_t *h = realloc(p->held, cap * sizeof *h);
        if (h == NULL) {
            p->failed = true;
            return;
        }
        p->held = h;
        p->cap = cap;
    }
    size_t i = p->n++;
    p->held[i] = released_pkt != 0 ? released_pkt : UINT64_MAX;
    while (i > 0 && p->held[(i - 1) / 2] > p->held[i]) {
        uint64_t t = p->held[i];
        p->held[i] = p->held[(i - 1) / 2];
        p->held[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    if (p->n > p->peak)
        p->peak = p->n;
}

void tl_merge_peak_free(struct tl_merge_peak *p)
{
    free(p->held);
    memset(p, 0, sizeof *p);
}
