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


/* The µs of a time member of o, or 0 (none, or not a time). */
static int64_t usec_of(json_t *o, const char *key)
{
    int64_t us = 0;
    return mv_usec_of(o, key, &us) ? us : 0;
}

/* s's last line, its summary record when the run finished: NULL when it
 * is not (reading it in turn then says what is wrong, and where). */
static json_t *last_record(struct shard *s)
{
    json_t *o = NULL;
    off_t end = fseeko(s->f, 0, SEEK_END) == 0 ? ftello(s->f) : -1;
    for (off_t want = 1 << 20; o == NULL && end > 0; want *= 4) {
        off_t from = end > want ? end - want : 0;
        size_t n = (size_t)(end - from);
        char *buf = malloc(n + 1);
        if (buf == NULL || fseeko(s->f, from, SEEK_SET) != 0 || fread(buf, 1, n, s->f) != n) {
            free(buf);
            break;
        }
        while (n > 0 && buf[n - 1] == '\n')
            n--;
        buf[n] = '\0';
        char *line = strrchr(buf, '\n');
        if (line != NULL || from == 0) {
            line = line != NULL ? line + 1 : buf;
            if (strncmp(line, SUMMARY_PREFIX, strlen(SUMMARY_PREFIX)) == 0)
                o = json_loads(line, 0, NULL);
            end = 0; /* the last line was whole: no further look */
        }
        free(buf);
        if (from == 0)
            break;
    }
    if (fseeko(s->f, 0, SEEK_SET) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
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
        whole = whole && s->unit_inputs != NULL;
        s->unit_last_ts = usec_of(cap, "last_ts");
        in[i] = (struct tl_merge_unit_in){s->unit_inputs, usec_of(cap, "first_ts"),
                                          mg_count_of(cap, "packets"), s->name};
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
        ok = (m->cross = tl_merge_cross_new()) != NULL;
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

/* Whether s's connection line is one an earlier unit's record has whole
 * (--follow); *id that record's id when known. */
bool mg_followed(struct merge *m, const struct shard *s, uint64_t *id)
{
    *id = 0;
    if (m->cross == NULL || s->unit == 0)
        return false;
    const char *p = strstr(s->line, "\"first_ts\":");
    if (p == NULL ||
        strtod(p + strlen("\"first_ts\":"), NULL) > (double)tl_merge_cross_until(m->cross) / 1e6)
        return false;
    if (!tl_merge_view_read_head(&m->mv, s->line, s->len))
        return false; /* said when it is written */
    return tl_merge_cross_of(m->cross, &m->mv.v, s->unit, id) == TL_CROSS_FOLLOWED;
}

/* An input (its source) both units u and v read. */
static const char *input_in_both(const struct shard *u, const struct shard *v)
{
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(u->inputs, i, a)
    {
        const char *name = json_string_value(json_object_get(a, "source"));
        json_array_foreach(v->inputs, j, b)
        {
            if (name != NULL &&
                json_equal(json_object_get(b, "source"), json_object_get(a, "source")))
                return name;
        }
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

/* port_reuse's previous_id, local in the view, as id in the merge: its
 * evidence and its explanation's words. */
static void renumber_previous(struct tl_merge_view *mv, const struct merge *m,
                              const struct shard *s)
{
    for (size_t i = 0; i < mv->an.n; i++) {
        struct tl_anomaly *a = &mv->an.a[i];
        for (uint8_t k = 0; k < a->nfields; k++) {
            struct tl_evfield *f = &a->fields[k];
            uint64_t g;
            if (f->kind != TL_EVK_INT || strcmp(f->key, "previous_id") != 0 || f->v.i <= 0 ||
                (g = mg_new_id_of(m, s, (uint64_t)f->v.i)) == 0)
                continue;
            char was[48], *text = mv->texts[i].explanation, *at;
            snprintf(was, sizeof was, "%s%" PRIu64, PREVIOUS_TEXT, (uint64_t)f->v.i);
            size_t n = strlen(was), len = strlen(text);
            if ((at = strstr(text, was)) != NULL && !(at[n] >= '0' && at[n] <= '9')) {
                char num[24];
                int k2 = snprintf(num, sizeof num, "%" PRIu64, g);
                size_t old = n - strlen(PREVIOUS_TEXT);
                if (len - old + (size_t)k2 < sizeof mv->texts[i].explanation) {
                    char *digits = at + strlen(PREVIOUS_TEXT);
                    memmove(digits + k2, digits + old, strlen(digits + old) + 1);
                    memcpy(digits, num, (size_t)k2);
                }
            }
            f->v.i = (int64_t)g;
        }
    }
}

/*
 * s's held connection, of units in time: read back whole; left out when
 * an earlier unit's record has it whole (--follow), else given its id,
 * its previous_id and its packet numbers in the merge (fp its first
 * frame there), written again and taken as any.
 */
bool mg_take_unit_conn(struct merge *m, struct shard *s, uint64_t fp)
{
    uint64_t local = 0, earlier = 0;
    (void)mg_number_after(s->line, "\"id\":", &local);
    if (!tl_merge_view_read(&m->mv, s->line, s->len))
        return mg_bad(s, NOT_READ_BACK);
    enum tl_merge_cross_is is = m->cross != NULL && s->unit > 0
                                    ? tl_merge_cross_of(m->cross, &m->mv.v, s->unit, &earlier)
                                    : TL_CROSS_OWN;
    if (is == TL_CROSS_FOLLOWED) {
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
    m->split += is == TL_CROSS_SPLIT;
    uint64_t id = m->tables ? mg_rank_of(m, fp) : ++m->written;
    if (!m->tables)
        mg_idmap_add(&s->ids, local, id);
    if (m->cross != NULL)
        tl_merge_cross_written(m->cross, fp, id);
    m->mv.c->id = id;
    m->mv.host.id = id;
    renumber_previous(&m->mv, m, s);
    if (!tl_merge_view_shift(&m->mv, s->offset))
        return mg_bad(s, "an anomaly's text too long to number its packets in the merge");
    size_t len = 0;
    char *text = tl_report_json_format_conn(&m->mv.v, "connection", &len);
    m->len = 0;
    bool ok = text != NULL && mg_put(m, text, len);
    free(text);
    return ok ? mg_write_conn(m, &m->mv.v) : mg_write_failed(m, TL_ENOMEM);
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
        follow_icmp += mg_count_of(json_object_get(m->s[i].capture, "follow"),
                                   "icmp_errors_matched");
    cap->icmp_unmatched = minus(cap->icmp_unmatched, minus(follow_icmp, m->followed_icmp));
}
