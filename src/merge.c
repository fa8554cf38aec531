/*
 * tcplens merge: the NDJSON outputs (or JSON documents, merge_doc.c) of
 * N --shard runs over the same inputs (and of units over other inputs,
 * one after another in time: merge_units.c) turned back into what one run
 * would have written: its NDJSON, its JSON document, its text report, its HTML
 * page. Connections come in first-seen order; the host-level anomalies,
 * services, client hosts and the summary are counted again from the
 * connection records by the run's own tables and detectors (which take
 * connections in id order in a run too). Each record is read back
 * (merge_view.c) without its timeline, or whole when the text or HTML
 * report, which print each connection's detail, is written.
 *
 * A connection's id in one run is its rank in first-seen order, and
 * first_packet (the frame that made it, numbered alike in every shard)
 * is that order. The merge reads each shard twice. The first pass checks
 * the shards are one set (every K of N once, over the same inputs) and
 * whether each wrote its connections in first_packet order, as a run
 * does unless too many newer ones waited for an older one (order.h). The
 * second is a k-way merge on first_packet, one line held per shard. When
 * every shard is in order, ids are counted as the merge writes, and what
 * it holds is bounded by what a run holds at once (the connections held
 * for peak_connections, the host aggregates, the services tables) but
 * for a byte or two per connection to name port_reuse's previous_id
 * again (struct idmap). When one is not, every shard is read once more
 * before the merge, to sort every first_packet: 32 bytes a connection,
 * from which each gets its rank. Standard input is kept in a temporary
 * file, to be read again.
 */
#include "merge.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_doc.h"
#include "merge_int.h"
#include "merge_view_int.h"
#include "tcplens/hosts.h"
#include "tcplens/services.h"

enum { EXIT_OK = 0, EXIT_ERR = 2 }; /* as tcplens: 2 for any error */

/* Why a shard's input cannot be merged, with where; false. */
bool mg_bad(const struct shard *s, const char *why)
{
    fprintf(s->err, "tcplens merge: %s:%" PRIu64 ": %s\n", s->name, s->lineno, why);
    return false;
}

/* Reads the number after key in line; false when it is not there. */
bool mg_number_after(const char *line, const char *key, uint64_t *out)
{
    const char *p = strstr(line, key);
    if (p == NULL)
        return false;
    p += strlen(key);
    if (*p < '0' || *p > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno != 0)
        return false;
    *out = (uint64_t)v;
    return true;
}

static bool push(struct seen **v, size_t *n, size_t *cap, uint64_t key, uint64_t other)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        struct seen *w = realloc(*v, c * sizeof *w);
        if (w == NULL)
            return false;
        *v = w;
        *cap = c;
    }
    (*v)[(*n)++] = (struct seen){key, other};
    return true;
}

static int by_key(const void *pa, const void *pb)
{
    const struct seen *a = pa, *b = pb;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* The index of key in v (sorted), or n. */
static size_t find(const struct seen *v, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].key == key ? lo : n;
}

/* The next line of s into s->line; 0 at the end, -1 on an error (said). */
static int next_line(struct shard *s)
{
    errno = 0;
    ssize_t n = getline(&s->line, &s->cap, s->f);
    if (n < 0) {
        if (ferror(s->f))
            return mg_bad(s, strerror(errno ? errno : EIO)) ? 0 : -1;
        return 0;
    }
    s->lineno++;
    s->len = (size_t)n;
    if (n > 0 && s->line[n - 1] == '\n')
        s->line[--s->len] = '\0';
    return 1;
}

/* The summary record: which shard it is, over which inputs, read how
 * (the filter, --count and a run cut short show in the capture's times
 * and packet counts, the same in every shard of one set). */
static bool take_summary(struct shard *s)
{
    json_t *o = json_loadb(s->line, s->len, 0, NULL);
    json_t *cap = json_object_get(o, "capture"), *sh = json_object_get(cap, "shard");
    json_t *sum = json_object_get(o, "summary");
    uint64_t k = 1, n = 1; /* no shard (or --shard 1/1): the whole run, 1/1 */
    if (sh != NULL) {
        k = mv_count_of(sh, "index");
        n = mv_count_of(sh, "count");
    }
    const char *why = NULL;
    if (o == NULL)
        why = "its summary record is not JSON";
    else if (k < 1 || n < 1 || k > n || n > 65536)
        why = "its summary's shard is not K of N";
    else if (!json_is_array(json_object_get(o, "inputs")) || !json_is_object(cap) ||
             !json_is_object(sum))
        why = "its summary has no inputs, capture or counts";
    /* An id is a rank among every connection: a shard that lists only
     * some (--anomalies-only, --connection) cannot be given its ids. */
    else if (mv_count_of(sum, "connections_listed") != mv_count_of(sum, "connections"))
        why = "it lists only some of its connections (--anomalies-only or --connection): their "
              "ids in the whole run cannot be known; merge shards that list all";
    if (why == NULL) {
        s->inputs = json_incref(json_object_get(o, "inputs"));
        s->capture = json_incref(cap);
        s->read = json_object();
        static const char *const read_keys[] = {"first_ts", "last_ts",     "partial", "end",
                                                "packets",  "tcp_packets", "filter"};
        for (size_t i = 0; s->read != NULL && i < sizeof read_keys / sizeof read_keys[0]; i++) {
            json_t *v = json_object_get(cap, read_keys[i]);
            if (v != NULL && json_object_set(s->read, read_keys[i], v) != 0)
                why = "out of memory";
        }
        if (s->read == NULL)
            why = "out of memory";
    }
    json_decref(o);
    if (why != NULL)
        return mg_bad(s, why);
    s->index = (uint32_t)k;
    s->count = (uint32_t)n;
    s->seen_summary = true;
    return true;
}

/* A pass over shard i. The first (tables false) checks its lines, takes
 * its summary and sees whether its connections come in first_packet
 * order; a second (tables true), needed only when a shard's do not, keeps
 * every first_packet and local id. */
static bool scan(struct merge *m, size_t i, bool tables)
{
    struct shard *s = &m->s[i];
    int r;
    bool ok = true;
    if (!tables)
        s->sorted = true;
    while (ok && (r = next_line(s)) > 0) {
        if (strncmp(s->line, CONN_PREFIX, strlen(CONN_PREFIX)) == 0) {
            uint64_t fp = 0, id = 0;
            if (!tables && s->seen_summary)
                ok = mg_bad(s, "a connection after the summary record");
            else if (!mg_number_after(s->line, FIRST_PACKET_KEY, &fp) ||
                     !mg_number_after(s->line, "\"id\":", &id))
                ok = mg_bad(s, "a connection without first_packet (written by an older tcplens?)");
            else if (tables && !mg_followed(m, s) &&
                     (!push(&m->all, &m->nall, &m->capall, fp + s->offset, i) ||
                      !push(&s->local, &s->nlocal, &s->caplocal, id, fp)))
                ok = mg_bad(s, "out of memory");
            else if (!tables && mg_may_cross(m, s) && !mg_cross_add(m, s, fp + s->offset))
                ok = mg_bad(s, "a connection record that cannot be read back (written by another "
                               "tcplens version?), or out of memory");
            if (ok && !tables) {
                s->sorted = s->sorted && fp > s->top_packet;
                s->top_packet = fp > s->top_packet ? fp : s->top_packet;
            }
        } else if (strncmp(s->line, SUMMARY_PREFIX, strlen(SUMMARY_PREFIX)) == 0) {
            if (!tables)
                ok = s->seen_summary ? mg_bad(s, "two summary records") : take_summary(s);
        } else if (strncmp(s->line, "{\"record\":", 10) != 0) {
            ok = mg_bad(s, "not a tcplens NDJSON record");
        }
    }
    if (ok && r < 0)
        ok = false;
    if (ok && !s->seen_summary)
        ok = mg_bad(s, "no summary record at its end: the shard's run did not finish");
    if (ok && fseeko(s->f, 0, SEEK_SET) != 0)
        ok = mg_bad(s, "cannot read it twice");
    s->lineno = 0;
    if (ok && s->nlocal > 1)
        qsort(s->local, s->nlocal, sizeof *s->local, by_key);
    return ok;
}

/* Every unit a whole shard set, the units apart, no connection in two
 * shards. */
static bool one_set(const struct merge *m)
{
    for (uint32_t u = 0; u < m->nunits; u++)
        if (!mg_one_unit(m, u))
            return false;
    if (m->nunits > 1 && !mg_units_apart(m))
        return false;
    const struct shard *s = m->s;
    for (size_t i = 1; m->tables && i < m->nall; i++)
        if (m->all[i].key == m->all[i - 1].key) {
            fprintf(m->s[0].err,
                    "tcplens merge: %s and %s both hold a connection first seen in packet %" PRIu64
                    "\n",
                    s[m->all[i - 1].other].name, s[m->all[i].other].name, m->all[i].key);
            return false;
        }
    return true;
}

/* Pass 2: reads on to s's next connection line (held), or to its end. */
static bool advance(struct shard *s)
{
    int r;
    s->held = false;
    while ((r = next_line(s)) > 0) {
        if (strncmp(s->line, CONN_PREFIX, strlen(CONN_PREFIX)) == 0 &&
            mg_number_after(s->line, FIRST_PACKET_KEY, &s->first_packet)) {
            s->held = true;
            return true;
        }
    }
    return r == 0;
}

/* Appends n bytes of p to m's line; false short of memory. */
bool mg_put(struct merge *m, const char *p, size_t n)
{
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + n + 1)
            cap *= 2;
        char *t = realloc(m->text, cap);
        if (t == NULL)
            return false;
        m->text = t;
        m->cap = cap;
    }
    memcpy(m->text + m->len, p, n);
    m->len += n;
    m->text[m->len] = '\0';
    return true;
}

static bool put_uint(struct merge *m, uint64_t v)
{
    char num[24];
    int k = snprintf(num, sizeof num, "%" PRIu64, v);
    return mg_put(m, num, (size_t)k);
}

/* Puts text up to the number old after key (once, if there), then new in
 * its place; returns where the rest starts (NULL short of memory). */
static const char *put_renumbered(struct merge *m, const char *text, const char *key, uint64_t old,
                                  uint64_t new)
{
    const char *p = strstr(text, key);
    char num[24];
    int len = snprintf(num, sizeof num, "%" PRIu64, old);
    if (p == NULL || strncmp(p + strlen(key), num, (size_t)len) != 0)
        return text;
    p += strlen(key);
    if (!mg_put(m, text, (size_t)(p - text)) || !put_uint(m, new))
        return NULL;
    return p + len;
}

/* A connection's id in the whole run: its rank in first-seen order. */
uint64_t mg_rank_of(const struct merge *m, uint64_t first_packet)
{
    return find(m->all, m->nall, first_packet) + 1;
}

/* The id in the merge of s's connection of local id local; 0 when not
 * known. */
uint64_t mg_new_id_of(const struct merge *m, const struct shard *s, uint64_t local)
{
    for (size_t i = s->nclaimed; i-- > 0;)
        if (s->claimed[i].local == local)
            return s->claimed[i].id;
    if (!m->tables)
        return mg_idmap_get(&s->ids, local);
    size_t at = find(s->local, s->nlocal, local);
    return at < s->nlocal ? mg_rank_of(m, s->local[at].other + s->offset) : 0;
}

/* s's held line with its id in the whole run, and port_reuse's
 * previous_id (in its evidence and its explanation) as that connection's:
 * an earlier connection on the same 4-tuple, in the same shard. */
bool mg_format_conn(struct merge *m, const struct shard *s, uint64_t id)
{
    const char *rest = s->line + strlen(CONN_PREFIX);
    rest += strspn(rest, "0123456789");
    m->len = 0;
    if (!mg_put(m, CONN_PREFIX, strlen(CONN_PREFIX)) || !put_uint(m, id))
        return false;
    uint64_t prev = 0, g = 0;
    if (mg_number_after(rest, PREVIOUS_KEY, &prev))
        g = mg_new_id_of(m, s, prev);
    if (g != 0) {
        rest = put_renumbered(m, rest, PREVIOUS_KEY, prev, g);
        rest = rest != NULL ? put_renumbered(m, rest, PREVIOUS_TEXT, prev, g) : NULL;
    }
    return rest != NULL && mg_put(m, rest, strlen(rest));
}

/* Says why writing failed; false. */
bool mg_write_failed(const struct merge *m, enum tl_status st)
{
    fprintf(m->s[0].err, "tcplens merge: writing: %s\n",
            st == TL_ENOMEM ? "out of memory" : strerror(errno ? errno : EIO));
    return false;
}

/* The text and HTML reports' part of v: formatted, then written (the
 * merge hands connections over in id order: nothing waits). */
static enum tl_status take_view(struct merge *m, const struct tl_conn_view *v)
{
    enum tl_status st = TL_OK;
    for (int k = OUT_TEXT; k <= OUT_HTML && st == TL_OK; k++) {
        char *text = NULL;
        size_t len = 0;
        if (m->out[k] == NULL)
            continue;
        st = tl_report_take(m->out[k], v, &text, &len);
        if (st == TL_OK && text != NULL)
            st = tl_report_put(m->out[k], v->conn->id, text, len);
        free(text);
    }
    return st;
}

/* m's line read back (m->mv): whole for the text and HTML reports, else
 * without its timeline; NULL when it cannot be. */
const struct tl_conn_view *mg_read_back(struct merge *m)
{
    bool ok = m->views ? tl_merge_view_read(&m->mv, m->text, m->len)
                       : tl_merge_view_read_head(&m->mv, m->text, m->len);
    return ok ? &m->mv.v : NULL;
}

/* One connection, v, its line m->text: counted by the summary, the
 * services and host-level detection, and handed to each output: the
 * NDJSON and the document its line (the document's without its "record"
 * member), the text and HTML reports its view. */
bool mg_write_conn(struct merge *m, const struct tl_conn_view *v)
{
    tl_report_summary_add(&m->sum, v);
    if (v->host != NULL)
        tl_hosts_feed(m->hosts, v->host);
    tl_merge_peak_add(&m->peak, v->conn->first_pkt, v->released_pkt);
    enum tl_status st = take_view(m, v);
    if (st == TL_OK && m->out[OUT_NDJSON] != NULL)
        st = tl_report_put_formatted(m->out[OUT_NDJSON], v, m->text, m->len);
    /* The document's object: the same from its "id" on. */
    size_t at = strlen(CONN_PREFIX) - strlen("{\"id\":");
    if (st == TL_OK && m->out[OUT_JSON] != NULL) {
        m->text[at] = '{';
        st = tl_report_put_formatted(m->out[OUT_JSON], v, m->text + at, m->len - at);
    }
    return st == TL_OK || mg_write_failed(m, st);
}

/*
 * s's held connection, fp its first frame in the merge: left out when an
 * earlier unit's record has it whole (merge_units.c), else given its id,
 * port_reuse's previous_id and its packet numbers in the merge, read back
 * and taken by every output.
 */
static bool take_conn(struct merge *m, struct shard *s, uint64_t fp)
{
    uint64_t local = 0, earlier = 0;
    (void)mg_number_after(s->line, "\"id\":", &local);
    enum tl_merge_cross_is is = mg_claim(m, s, &earlier);
    if (is == TL_CROSS_FOLLOWED)
        return mg_leave_out(m, s, local, earlier);
    m->split += is == TL_CROSS_SPLIT;
    uint64_t id = ++m->written;
    if (m->tables) {
        id = mg_rank_of(m, fp);
    } else if (id > 1 && fp == m->last_packet) {
        fprintf(m->s[0].err,
                "tcplens merge: two shards hold a connection first seen in packet %" PRIu64 "\n",
                fp);
        return false;
    }
    m->last_packet = fp;
    if (!m->tables)
        mg_idmap_add(&s->ids, local, id);
    if (m->cross != NULL)
        tl_merge_cross_written(m->cross, fp, id);
    if (!mg_format_conn(m, s, id) || !mg_shift_line(m, s->offset))
        return mg_write_failed(m, TL_ENOMEM);
    const struct tl_conn_view *v = mg_read_back(m);
    return v != NULL ? mg_write_conn(m, v) : mg_bad(s, NOT_READ_BACK);
}

/* The capture one run would have read (merge_run.h), from the shards in
 * unit order, and each unit's inputs once into all_inputs (an array);
 * false short of memory. */
static bool run_capture(const struct merge *m, struct tl_capture_info *cap, json_t *all_inputs)
{
    void **caps = calloc(m->n, sizeof *caps);
    bool *unit_first = calloc(m->n, sizeof *unit_first);
    size_t k = 0;
    bool ok = caps != NULL && unit_first != NULL && all_inputs != NULL;
    for (uint32_t u = 0; ok && u < m->nunits; u++) {
        size_t first = k;
        for (size_t i = 0; i < m->n; i++) {
            if (m->s[i].unit != u)
                continue;
            unit_first[k] = k == first;
            if (unit_first[k] && json_array_extend(all_inputs, m->s[i].inputs) != 0)
                ok = false;
            caps[k++] = m->s[i].capture;
        }
    }
    tl_merge_capture(caps, unit_first, ok ? k : 0, cap);
    if (m->nunits > 1)
        mg_take_back_followed(m, cap);
    free(caps);
    free(unit_first);
    return ok;
}

/* The records (or the document's members) of the end, as one run writes
 * them. */
static bool finish(struct merge *m)
{
    struct tl_host_anomaly_list ha = {0};
    enum tl_status st = tl_hosts_finish(m->hosts, &ha);
    tl_report_summary_hosts(&m->sum, &ha);
    json_t *all_inputs = json_array();
    struct tl_input_info *inputs = NULL;
    size_t ninputs = 0;
    struct tl_capture_info cap;
    if (!run_capture(m, &cap, all_inputs) || !tl_merge_inputs(all_inputs, &inputs, &ninputs) ||
        m->peak.failed)
        st = TL_ENOMEM;
    cap.peak_flows = (size_t)m->peak.peak;
    cap.evicted_hosts = tl_hosts_evicted(m->hosts);
    cap.connections = m->sum.connections;
    const char *filter = json_string_value(json_object_get(m->s[0].capture, "filter"));
    struct tl_run run = {inputs, ninputs, &cap, &ha, filter, &m->sum};
    if (m->split > 0)
        fprintf(m->s[0].err,
                "tcplens merge: %" PRIu64 " connection(s) open at the end of one unit go on in "
                "a later one and are reported in two parts: run each unit with --follow and the "
                "files after its own to have them whole\n",
                m->split);
    if (m->sum.svc != NULL && (m->sum.svc->svc.untracked != 0 || m->sum.svc->hosts.untracked != 0))
        fprintf(m->s[0].err,
                "tcplens merge: more services or client hosts than the %u a table keeps: those "
                "kept are the first seen, where one run keeps the first whose connections "
                "ended\n",
                TL_SVC_MAX);
    for (int o = 0; o < NOUTS && st == TL_OK; o++)
        if (m->out[o] != NULL)
            st = tl_report_finish(m->out[o], &run);
    free(inputs);
    json_decref(all_inputs);
    tl_host_anomaly_list_free(&ha);
    return st == TL_OK || mg_write_failed(m, st);
}

/* The k-way merge: the held line with the lowest first_packet goes next. */
static bool merge_out(struct merge *m)
{
    for (size_t i = 0; i < m->n; i++)
        if (!advance(&m->s[i]))
            return false;
    for (;;) {
        struct shard *min = NULL;
        for (size_t i = 0; i < m->n; i++)
            if (m->s[i].held && (min == NULL || m->s[i].first_packet + m->s[i].offset <
                                                    min->first_packet + min->offset))
                min = &m->s[i];
        if (min == NULL)
            break;
        if (!take_conn(m, min, min->first_packet + min->offset) || !advance(min))
            return false;
    }
    return finish(m);
}

static void usage(FILE *f)
{
    fputs("usage: tcplens merge [--ndjson FILE] [--json FILE] [--text FILE] [--html FILE]\n"
          "                     [--anomalies-only] [--top N] [--all]\n"
          "                     SHARD... ('-' for standard input; FILE '-': standard output)\n"
          "  Reads the --shard K/N runs' NDJSON or JSON documents and writes what one run\n"
          "  would have: its NDJSON records (connections in first-seen order, ids from 1,\n"
          "  host-level anomalies, services, client hosts, the summary), its JSON\n"
          "  document, its text report, its HTML page; each to its file, NDJSON on\n"
          "  standard output when none is named. --anomalies-only, --top and --all are\n"
          "  tcplens's own. The shards may come in any order; each of 1..N must come\n"
          "  once, over the same inputs. Runs over other inputs are units in time\n"
          "  (rotated files): merged in time order, frames numbered one after another,\n"
          "  a connection a unit followed into the next files (--follow) written once.\n",
          f);
}

/* Reads the shards once (first-seen order, the shard set); false on an
 * error (said). */
static bool scan_all(struct merge *m)
{
    if (!mg_find_units(m)) {
        fputs("tcplens merge: out of memory\n", m->s[0].err);
        return false;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (!scan(m, i, false))
            return false;
        m->tables = m->tables || !m->s[i].sorted;
    }
    if (m->cross != NULL)
        tl_merge_cross_seal(m->cross);
    /* A shard that wrote a connection after newer ones (order.h): the
     * ranks come from a table of every first_packet. */
    for (size_t i = 0; m->tables && i < m->n; i++)
        if (!scan(m, i, true))
            return false;
    if (m->nall > 1)
        qsort(m->all, m->nall, sizeof *m->all, by_key);
    return one_set(m);
}

/* m's outputs, tables and detectors; false short of memory. */
static bool start(struct merge *m, const struct tl_merge_cfg *mc)
{
    static const enum tl_report_format fmt[NOUTS] = {TL_REPORT_NDJSON, TL_REPORT_JSON,
                                                     TL_REPORT_TEXT, TL_REPORT_HTML};
    FILE *const *outs = mc->out;
    for (int k = 0; k < NOUTS; k++) {
        struct tl_report_cfg cfg = {.format = fmt[k],
                                    .out = outs[k],
                                    .reorder = true,
                                    .anomalies_only = mc->anomalies_only,
                                    .top = mc->top,
                                    .all = mc->all};
        if (outs[k] != NULL && (m->out[k] = tl_report_new(&cfg)) == NULL)
            return false;
    }
    m->views = outs[OUT_TEXT] != NULL || outs[OUT_HTML] != NULL;
    tl_merge_view_init(&m->mv);
    tl_report_summary_init(&m->sum);
    m->hosts = tl_hosts_new(NULL);
    return m->hosts != NULL;
}

static void stop(struct merge *m)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->s[i].own != NULL)
            fclose(m->s[i].own);
        free(m->s[i].line);
        json_decref(m->s[i].inputs);
        json_decref(m->s[i].capture);
        json_decref(m->s[i].read);
        json_decref(m->s[i].unit_inputs);
        json_decref(m->s[i].unit_follow);
        free(m->s[i].claimed);
        free(m->s[i].local);
        mg_idmap_free(&m->s[i].ids);
    }
    free(m->s);
    free(m->all);
    tl_merge_cross_free(m->cross);
    for (int k = 0; k < NOUTS; k++)
        tl_report_free(m->out[k]);
    tl_report_summary_free(&m->sum);
    tl_hosts_free(m->hosts);
    tl_merge_view_free(&m->mv);
    tl_merge_peak_free(&m->peak);
    free(m->text);
    free(m->spare);
}

bool tl_merge_streams(FILE *const *in, const char *const *names, size_t n,
                      const struct tl_merge_cfg *cfg, FILE *err)
{
    struct merge *m = calloc(1, sizeof *m);
    if (m == NULL || (m->s = calloc(n ? n : 1, sizeof *m->s)) == NULL) {
        free(m);
        fputs("tcplens merge: out of memory\n", err);
        return false;
    }
    m->n = n;
    m->s[0].err = err;
    bool ok = start(m, cfg);
    if (!ok)
        fputs("tcplens merge: out of memory (or no temporary file)\n", err);
    ok = ok && n > 0;
    for (size_t i = 0; i < n; i++) {
        m->s[i] = (struct shard){.name = names[i], .err = err, .f = in[i]};
        if (ok && tl_merge_doc_is(in[i])) {
            m->s[i].f = m->s[i].own = tl_merge_doc_ndjson(in[i], names[i], err);
            ok = m->s[i].f != NULL;
        }
    }
    ok = ok && scan_all(m) && merge_out(m);
    stop(m);
    free(m);
    return ok;
}

/* Standard input in a temporary file: the merge reads it twice. */
static FILE *keep_stdin(void)
{
    FILE *t = tmpfile();
    char buf[65536];
    size_t k;
    while (t != NULL && (k = fread(buf, 1, sizeof buf, stdin)) > 0)
        if (fwrite(buf, 1, k, t) != k) {
            fclose(t);
            return NULL;
        }
    if (t != NULL && (ferror(stdin) || fflush(t) != 0 || fseeko(t, 0, SEEK_SET) != 0)) {
        fclose(t);
        return NULL;
    }
    return t;
}

/* Opens the shards' files ("-": standard input, once); false on an error
 * (said), with the files opened so far in in[]. */
static bool open_inputs(char **argv, size_t n, FILE **in, const char **names)
{
    bool stdin_used = false;
    for (size_t i = 0; i < n; i++) {
        names[i] = argv[i];
        if (strcmp(argv[i], "-") == 0 && !stdin_used) {
            stdin_used = true;
            names[i] = "(standard input)";
            if ((in[i] = keep_stdin()) == NULL) {
                fprintf(stderr,
                        "tcplens merge: standard input: cannot keep it in a temporary "
                        "file: %s\n",
                        strerror(errno ? errno : EIO));
                return false;
            }
        } else if ((in[i] = fopen(argv[i], "r")) == NULL) {
            fprintf(stderr, "tcplens merge: %s: %s\n", argv[i], strerror(errno));
            return false;
        } else if (fseeko(in[i], 0, SEEK_END) != 0 || fseeko(in[i], 0, SEEK_SET) != 0) {
            fprintf(stderr, "tcplens merge: %s: cannot read it twice (a pipe? give it as '-')\n",
                    argv[i]);
            return false;
        }
    }
    return true;
}

int tl_merge_main(int argc, char **argv)
{
    static const struct option opts[] = {{"ndjson", required_argument, NULL, OUT_NDJSON},
                                         {"json", required_argument, NULL, OUT_JSON},
                                         {"text", required_argument, NULL, OUT_TEXT},
                                         {"html", required_argument, NULL, OUT_HTML},
                                         {"anomalies-only", no_argument, NULL, 'a'},
                                         {"top", required_argument, NULL, 't'},
                                         {"all", no_argument, NULL, 'A'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *name[NOUTS] = {NULL};
    struct tl_merge_cfg mc = {{NULL}, false, 0, false};
    int c, on_stdout = 0, asked = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        if (c == 'a' || c == 'A') {
            *(c == 'a' ? &mc.anomalies_only : &mc.all) = true;
            continue;
        }
        if (c == 't') {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg || v == 0 || v > UINT32_MAX) {
                fprintf(stderr, "tcplens merge: bad --top '%s' (at least 1)\n", optarg);
                return EXIT_ERR;
            }
            mc.top = (uint32_t)v;
            continue;
        }
        if (c < 0 || c >= NOUTS) {
            fprintf(stderr, "tcplens merge: unknown option '%s' (tcplens merge --help)\n",
                    argv[optind - 1]);
            return EXIT_ERR;
        }
        asked += name[c] == NULL;
        on_stdout += strcmp(optarg, "-") == 0 && (name[c] == NULL || strcmp(name[c], "-") != 0);
        name[c] = optarg;
    }
    if (asked == 0) {
        name[OUT_NDJSON] = "-";
        on_stdout = 1;
    }
    if (on_stdout > 1) {
        fputs("tcplens merge: two outputs on standard output: give all but one a file\n", stderr);
        return EXIT_ERR;
    }
    size_t n = (size_t)(argc - optind);
    if (n == 0) {
        fputs("tcplens merge: no shard to merge (tcplens merge --help)\n", stderr);
        return EXIT_ERR;
    }
    FILE **in = calloc(n, sizeof *in);
    const char **names = calloc(n, sizeof *names);
    bool ok = in != NULL && names != NULL;
    if (!ok)
        fputs("tcplens merge: out of memory\n", stderr);
    ok = ok && open_inputs(argv + optind, n, in, names);
    FILE **out = mc.out;
    for (int k = 0; ok && k < NOUTS; k++) {
        if (name[k] == NULL)
            continue;
        out[k] = strcmp(name[k], "-") == 0 ? stdout : fopen(name[k], "w");
        if (out[k] == NULL) {
            fprintf(stderr, "tcplens merge: %s: %s\n", name[k], strerror(errno));
            ok = false;
        }
    }
    ok = ok && tl_merge_streams(in, names, n, &mc, stderr);
    for (int k = 0; k < NOUTS; k++) {
        if (out[k] == NULL)
            continue;
        bool own = out[k] != stdout;
        if ((own ? fclose(out[k]) : fflush(stdout)) != 0 && ok) {
            fprintf(stderr, "tcplens merge: %s: %s\n", own ? name[k] : "standard output",
                    strerror(errno));
            ok = false;
        }
    }
    for (size_t i = 0; in != NULL && i < n; i++)
        if (in[i] != NULL)
            fclose(in[i]);
    free(in);
    free(names);
    return ok ? EXIT_OK : EXIT_ERR;
}
