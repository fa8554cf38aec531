/*
 * tcplens merge of units in time (docs/scale-out.md "Units in time"):
 * shards over the same inputs make a unit; units over other inputs come
 * one after another. Each shard's summary, read ahead from its last line,
 * gives its unit's place and the frames before it; a later unit's
 * records have their packet numbers moved past them, and a record of a
 * connection an earlier unit followed (--follow) is left out, with what
 * its unit counted of it (merge_cross.h says which).
 */
#include "merge_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "merge_view_int.h"

/* s's last line, its summary record when the run finished: NULL when it
 * is not (reading it in turn then says what is wrong, and where). */
static json_t *last_record(struct shard *s)
{
    json_t *o = NULL;
    off_t end = fseeko(s->f, 0, SEEK_END) == 0 ? ftello(s->f) : -1;
    /* The file's tail, four times longer each time, until it holds the
     * whole last line. */
    for (off_t want = 1 << 20; end > 0; want *= 4) {
        off_t from = end > want ? end - want : 0;
        size_t n = (size_t)(end - from);
        char *buf = malloc(n + 1), *line = NULL;
        if (buf != NULL && fseeko(s->f, from, SEEK_SET) == 0 && fread(buf, 1, n, s->f) == n) {
            while (n > 0 && buf[n - 1] == '\n')
                n--;
            buf[n] = '\0';
            line = strrchr(buf, '\n');
            line = line != NULL ? line + 1 : from == 0 ? buf : NULL;
            if (line != NULL && strncmp(line, SUMMARY_PREFIX, strlen(SUMMARY_PREFIX)) == 0)
                o = json_loads(line, 0, NULL);
        }
        bool longer = buf != NULL && line == NULL && from > 0;
        free(buf);
        if (!longer)
            break;
    }
    if (fseeko(s->f, 0, SEEK_SET) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Whether the inputs array (as a summary writes it) has input's source. */
static bool has_source(json_t *inputs, json_t *input)
{
    size_t i;
    json_t *in;
    json_t *source = json_object_get(input, "source");
    json_array_foreach(inputs, i, in)
    {
        if (source != NULL && json_equal(json_object_get(in, "source"), source))
            return true;
    }
    return false;
}

/* Whether s ran with --follow over every input of t. */
static bool follows(const struct shard *s, const struct shard *t)
{
    size_t i;
    json_t *in;
    json_array_foreach(t->unit_inputs, i, in)
    {
        if (!has_source(s->unit_follow, in))
            return false;
    }
    return json_array_size(t->unit_inputs) > 0;
}

/* Shards over the same inputs are one unit; more than one unit is a
 * merge in time (merge_cross.h): each shard's unit and packet offset,
 * from its summary read ahead. A shard without one leaves it all one
 * unit (reading it says what is wrong). False short of memory. */
bool mg_find_units(struct merge *m)
{
    struct tl_merge_unit_in *in = calloc(m->n, sizeof *in);
    uint32_t *unit = calloc(m->n, sizeof *unit);
    uint64_t *offset = calloc(m->n, sizeof *offset);
    bool ok = in != NULL && unit != NULL && offset != NULL, whole = true;
    for (size_t i = 0; ok && i < m->n; i++) {
        struct shard *s = &m->s[i];
        json_t *o = last_record(s), *cap = json_object_get(o, "capture");
        s->unit_inputs = json_incref(json_object_get(o, "inputs"));
        s->unit_follow = json_incref(json_object_get(json_object_get(cap, "follow"), "inputs"));
        whole = whole && s->unit_inputs != NULL;
        s->unit_last_ts = mv_time_of(cap, "last_ts");
        in[i] = (struct tl_merge_unit_in){s->unit_inputs, mv_time_of(cap, "first_ts"),
                                          mv_count_of(cap, "packets"), s->name};
        json_decref(o);
    }
    m->nunits = ok && whole ? tl_merge_units(in, m->n, unit, offset) : 1;
    ok = ok && m->nunits > 0;
    for (size_t i = 0; ok && m->nunits > 1 && i < m->n; i++) {
        m->s[i].unit = unit[i];
        m->s[i].offset = offset[i];
    }
    /* Units that overlap in time (hosts' captures) are each their own
     * view: nothing joins them. */
    bool apart = true;
    for (size_t i = 0; ok && i < m->n; i++)
        for (size_t j = 0; j < m->n; j++)
            if (unit[i] < unit[j] && in[j].first_ts < m->s[i].unit_last_ts)
                apart = false;
    if (ok && m->nunits > 1 && apart)
        ok = (m->cross = tl_merge_cross_new(m->nunits)) != NULL;
    for (size_t i = 0; ok && m->cross != NULL && i < m->n; i++)
        for (size_t j = 0; j < m->n; j++)
            if (unit[i] < unit[j] && follows(&m->s[i], &m->s[j]))
                tl_merge_cross_follows(m->cross, unit[i], unit[j]);
    free(in);
    free(unit);
    free(offset);
    return ok;
}

/* A connection line of s that may go on in a later unit: left open at
 * its unit's end, or with a segment after (or at the time of) its unit's
 * last frame. */
bool mg_may_cross(const struct merge *m, const struct shard *s)
{
    if (m->cross == NULL || s->unit + 1 == m->nunits)
        return false;
    if (strstr(s->line, "\"end\":\"open\"") != NULL)
        return true;
    const char *p = strstr(s->line, "\"last_ts\":");
    return p != NULL && strtod(p + strlen("\"last_ts\":"), NULL) >= (double)s->unit_last_ts / 1e6;
}

/* A digest of line's two endpoints ({"ip", "port"} as written), the
 * same whichever is the client: FNV-1a of each, combined. 0 when the
 * line has none. */
static uint64_t ends_of(const char *line)
{
    static const char *const keys[] = {"\"client\":{", "\"server\":{"};
    uint64_t ends = 0;
    for (size_t k = 0; k < 2; k++) {
        const char *p = strstr(line, keys[k]), *e;
        if (p == NULL || (e = strchr(p, '}')) == NULL)
            return 0;
        uint64_t h = UINT64_C(14695981039346656037);
        for (p += strlen(keys[k]); p < e; p++)
            h = (h ^ (uint8_t)*p) * UINT64_C(1099511628211);
        ends ^= h;
    }
    return ends;
}

enum tl_merge_cross_is mg_claim(struct merge *m, const struct shard *s, uint64_t *id)
{
    *id = 0;
    if (m->cross == NULL || s->unit == 0 || !tl_merge_cross_may(m->cross, ends_of(s->line)))
        return TL_CROSS_OWN;
    if (!tl_merge_view_read_head(&m->mv, s->line, s->len))
        return TL_CROSS_OWN; /* said when it is written */
    return tl_merge_cross_of(m->cross, &m->mv.v, s->unit, id);
}

bool mg_followed(struct merge *m, const struct shard *s)
{
    uint64_t id;
    return mg_claim(m, s, &id) == TL_CROSS_FOLLOWED;
}

/* An input (its source) both units u and v read. */
static const char *input_in_both(const struct shard *u, const struct shard *v)
{
    size_t i;
    json_t *in;
    json_array_foreach(u->inputs, i, in)
    {
        if (has_source(v->inputs, in))
            return json_string_value(json_object_get(in, "source"));
    }
    return NULL;
}

/* The shards of unit u (all of them when there is one): every K of N
 * once, all over the same inputs, read alike. */
bool mg_one_unit(const struct merge *m, uint32_t u)
{
    const struct shard *s = m->s, *first = NULL;
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (s[i].unit != u)
            continue;
        n++;
        if (first == NULL)
            first = &s[i];
        if (s[i].count != first->count) {
            fprintf(m->s[0].err,
                    "tcplens merge: %s is shard %" PRIu32 "/%" PRIu32 ", %s is of %" PRIu32 "\n",
                    s[i].name, s[i].index, s[i].count, first->name, first->count);
            return false;
        }
        if (!json_equal(s[i].inputs, first->inputs)) {
            fprintf(m->s[0].err, "tcplens merge: %s and %s read different inputs\n", s[i].name,
                    first->name);
            return false;
        }
        if (!json_equal(s[i].read, first->read)) {
            fprintf(m->s[0].err,
                    "tcplens merge: %s and %s read their inputs differently (another filter or "
                    "--count, or a run cut short)\n",
                    s[i].name, first->name);
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (s[j].unit == u && s[j].index == s[i].index) {
                fprintf(m->s[0].err,
                        "tcplens merge: %s and %s are both shard %" PRIu32 "/%" PRIu32 "\n",
                        s[j].name, s[i].name, s[i].index, first->count);
                return false;
            }
    }
    if (first != NULL && n != first->count) {
        fprintf(m->s[0].err, "tcplens merge: %zu of %" PRIu32 " shards given", n, first->count);
        if (m->nunits > 1)
            fprintf(m->s[0].err, " of the unit of %s", first->name);
        fputs("; missing:", m->s[0].err);
        for (uint32_t k = 1; k <= first->count; k++) {
            bool have = false;
            for (size_t i = 0; i < m->n && !have; i++)
                have = s[i].unit == u && s[i].index == k;
            if (!have)
                fprintf(m->s[0].err, " %" PRIu32 "/%" PRIu32, k, first->count);
        }
        fputc('\n', m->s[0].err);
        return false;
    }
    return true;
}

/* Units over other inputs (each read once), with the same filter. */
bool mg_units_apart(const struct merge *m)
{
    const struct shard *s = m->s;
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < i; j++) {
            if (s[i].unit == s[j].unit)
                continue;
            const char *both = input_in_both(&s[i], &s[j]);
            if (both != NULL) {
                fprintf(m->s[0].err,
                        "tcplens merge: %s and %s both read %s, but not the same inputs: "
                        "shards read the same inputs, units in time each their own\n",
                        s[j].name, s[i].name, both);
                return false;
            }
            json_t *fi = json_object_get(s[i].read, "filter");
            json_t *fj = json_object_get(s[j].read, "filter");
            if ((fi != NULL || fj != NULL) && !json_equal(fi, fj)) {
                fprintf(m->s[0].err, "tcplens merge: %s and %s were read with other filters\n",
                        s[j].name, s[i].name);
                return false;
            }
        }
    return true;
}

bool mg_cross_add(struct merge *m, const struct shard *s, uint64_t fp)
{
    return tl_merge_view_read_head(&m->mv, s->line, s->len) &&
           tl_merge_cross_add(m->cross, &m->mv.v, s->unit, fp, ends_of(s->line));
}

bool mg_leave_out(struct merge *m, struct shard *s, uint64_t local, uint64_t earlier)
{
    /* What its unit counted of it, the earlier unit counted too. */
    const struct tl_conn *c = m->mv.v.conn;
    m->followed++;
    m->followed_dups += c->duplicates[0] + c->duplicates[1];
    m->followed_icmp += c->icmp_errors;
    m->followed_idle += c->idle_ended;
    if (!mg_grow((void **)&s->claimed, &s->capclaimed, s->nclaimed + 1, sizeof *s->claimed))
        return mg_write_failed(m, TL_ENOMEM);
    s->claimed[s->nclaimed].local = local;
    s->claimed[s->nclaimed++].id = earlier;
    return true;
}

static uint64_t minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

/* What the units counted twice of the connections an earlier one
 * followed: their later records' duplicates, ICMP errors and idle ends
 * (left out); and an ICMP error the follow matched that the later unit,
 * holding no connection for it, counted unmatched. */
void mg_take_back_followed(const struct merge *m, struct tl_capture_info *cap)
{
    cap->duplicates = minus(cap->duplicates, m->followed_dups);
    cap->icmp_matched = minus(cap->icmp_matched, m->followed_icmp);
    cap->evicted_idle = minus(cap->evicted_idle, m->followed_idle);
    uint64_t follow_icmp = 0;
    for (size_t i = 0; i < m->n; i++)
        follow_icmp += mv_count_of(json_object_get(m->s[i].capture, "follow"),
                                   "icmp_errors_matched");
    cap->icmp_unmatched = minus(cap->icmp_unmatched, minus(follow_icmp, m->followed_icmp));
}

/* ---- Packet numbers moved on, in the line as written ---- */

/* The members that name a frame: the record's, the timeline entries',
 * the evidence's that names one (first_packet, data_packet, quoted_packet);
 * and "packets":[…], an anomaly's frames. */
static const char *const frame_keys[] = {"\"first_packet\":", "\"released_packet\":",
                                         "\"packet\":",       "\"last_packet\":",
                                         "\"data_packet\":",  "\"quoted_packet\":"};

/* The frame member key at p, or 0; "packets":[ (an anomaly's frames) is
 * -1. */
static int frame_key_at(const char *p, size_t *len)
{
    /* Most keys are none: each of these ends in "packet" or "packets". */
    const char *q = strchr(p + 1, '"');
    size_t name = q != NULL ? (size_t)(q - p - 1) : 0;
    if (!(name >= 6 && memcmp(q - 6, "packet", 6) == 0) &&
        !(name >= 7 && memcmp(q - 7, "packets", 7) == 0))
        return 0;
    for (size_t k = 0; k < sizeof frame_keys / sizeof frame_keys[0]; k++) {
        size_t n = strlen(frame_keys[k]);
        if (strncmp(p, frame_keys[k], n) == 0) {
            *len = n;
            return 1;
        }
    }
    if (strncmp(p, "\"packets\":[", strlen("\"packets\":[")) == 0) {
        *len = strlen("\"packets\":[");
        return -1;
    }
    return 0;
}

/* Puts the number at *p moved on by packets (0, none, stays), *p past it. */
static bool put_moved(struct merge *m, const char **p, uint64_t packets)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(*p, &end, 10);
    if (end == *p || errno != 0)
        return true; /* not a number: left as it is */
    char num[24];
    int k = snprintf(num, sizeof num, "%llu", v != 0 ? v + (unsigned long long)packets : 0);
    *p = end;
    return mg_put(m, num, (size_t)k);
}

/* Inside a string: "packet N" and "packet (N)", as the texts quote one. */
static bool put_quoted(struct merge *m, const char **p, uint64_t packets)
{
    static const char word[] = "packet ";
    size_t n = strlen(word) + ((*p)[strlen(word)] == '(');
    if (!mg_put(m, *p, n))
        return false;
    *p += n;
    return put_moved(m, p, packets);
}

bool mg_shift_line(struct merge *m, uint64_t packets)
{
    if (packets == 0)
        return true;
    /* Written into the spare buffer, which then swaps with the line's. */
    char *line = m->text;
    size_t len = m->len, cap = m->cap;
    m->text = m->spare;
    m->cap = m->spare_cap;
    m->len = 0;
    m->spare = line;
    m->spare_cap = cap;
    bool ok = true, in_str = false;
    const char *p = line, *end = line + len;
    while (ok && p < end) {
        /* What needs no look goes at once. */
        size_t n = strcspn(p, in_str ? "\"\\p" : "\"");
        if (n > 0) {
            ok = mg_put(m, p, n);
            p += n;
            continue;
        }
        int key = in_str ? 0 : *p == '"' ? frame_key_at(p, &n) : 0;
        if (key != 0) {
            ok = mg_put(m, p, n);
            p += n;
            ok = ok && put_moved(m, &p, packets);
            while (ok && key < 0 && *p == ',') /* the list's next */
                ok = mg_put(m, p++, 1) && put_moved(m, &p, packets);
            continue;
        }
        if (in_str && *p == 'p' && strncmp(p, "packet ", 7) == 0 &&
            ((p[7] >= '0' && p[7] <= '9') || (p[7] == '(' && p[8] >= '0' && p[8] <= '9'))) {
            ok = put_quoted(m, &p, packets);
            continue;
        }
        if (*p == '"')
            in_str = !in_str;
        else if (in_str && *p == '\\' && p + 1 < end)
            ok = mg_put(m, p++, 1); /* the escaped character goes as it is */
        ok = ok && mg_put(m, p++, 1);
    }
    return ok;
}
