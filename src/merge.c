/*
 * tcplens merge: the NDJSON outputs (or JSON documents, merge_doc.c) of
 * N --shard runs over the same inputs turned back into the records one
 * run would have written: connections, then services and client hosts
 * (counted again from the connections by merge_svc.c).
 *
 * A connection's id in one run is its rank in first-seen order, and
 * first_packet (the frame that made it, numbered alike in every shard)
 * is that order. A shard writes its connections mostly in its own id
 * order, but not always: one left open while too many newer ones waited
 * is written after them (order.h). So the merge reads twice. The first
 * pass checks the shards are one set (every K of N once, over the same
 * inputs, no connection twice) and sorts every first_packet: 16 bytes a
 * connection, and 16 more per shard to name port_reuse's previous_id
 * again. The second is a k-way merge on first_packet, one line held per
 * shard, each written with its rank as its id. Standard input is kept in
 * a temporary file for the second pass.
 *
 * The summary and the host-level anomalies are not merged yet, and the
 * merge says so on stderr (docs/scale-out.md).
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
#include "merge_svc.h"
#include "tcplens/services.h"

#define CONN_PREFIX "{\"record\":\"connection\",\"id\":"
#define SUMMARY_PREFIX "{\"record\":\"summary\""
#define FIRST_PACKET_KEY "\"first_packet\":"
#define PREVIOUS_KEY "\"previous_id\":"
#define PREVIOUS_TEXT "the 4-tuple of connection "

enum { EXIT_OK = 0, EXIT_ERR = 2 }; /* as tcplens: 2 for any error */

/* A connection as the first pass saw it. */
struct seen {
    uint64_t key;   /* first_packet (global list) or local id (a shard's) */
    uint64_t other; /* the shard's index in the list, or first_packet */
};

struct shard {
    const char *name;
    FILE *err; /* where errors are said */
    FILE *f;
    FILE *own; /* f, when it is the NDJSON made of a JSON document */
    char *line;
    size_t cap, len;
    uint64_t lineno;
    uint64_t first_packet; /* of the line held */
    bool held;             /* pass 2: a connection line is held */
    bool seen_summary;
    uint32_t index, count; /* its capture.shard (1/1 for a run unsharded) */
    json_t *inputs;        /* its summary's "inputs" */
    json_t *read;          /* its capture's times and packet counts */
    struct seen *local;    /* local id -> first_packet, sorted by local id */
    size_t nlocal, caplocal;
};

struct merge {
    struct shard *s; /* s[0].err says the errors that are no one shard's */
    struct tl_merge_svc *svc;
    size_t n;
    struct seen *all; /* first_packet -> shard, sorted by first_packet */
    size_t nall, capall;
};

/* Why a shard's input cannot be merged, with where; false. */
static bool bad(const struct shard *s, const char *why)
{
    fprintf(s->err, "tcplens merge: %s:%" PRIu64 ": %s\n", s->name, s->lineno, why);
    return false;
}

/* Reads the number after key in line; false when it is not there. */
static bool number_after(const char *line, const char *key, uint64_t *out)
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
            return bad(s, strerror(errno ? errno : EIO)) ? 0 : -1;
        return 0;
    }
    s->lineno++;
    s->len = (size_t)n;
    if (n > 0 && s->line[n - 1] == '\n')
        s->line[--s->len] = '\0';
    return 1;
}

static uint64_t count_of(json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
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
        k = count_of(sh, "index");
        n = count_of(sh, "count");
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
    else if (count_of(sum, "connections_listed") != count_of(sum, "connections"))
        why = "it lists only some of its connections (--anomalies-only or --connection): their "
              "ids in the whole run cannot be known; merge shards that list all";
    if (why == NULL) {
        s->inputs = json_incref(json_object_get(o, "inputs"));
        s->read = json_object();
        static const char *const read_keys[] = {"first_ts", "last_ts", "partial",
                                                "end",      "packets", "tcp_packets"};
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
        return bad(s, why);
    s->index = (uint32_t)k;
    s->count = (uint32_t)n;
    s->seen_summary = true;
    return true;
}

/* Pass 1 over shard i: its connections' first_packet and local id, its
 * summary. */
static bool scan(struct merge *m, size_t i)
{
    struct shard *s = &m->s[i];
    int r;
    bool ok = true;
    while (ok && (r = next_line(s)) > 0) {
        if (strncmp(s->line, CONN_PREFIX, strlen(CONN_PREFIX)) == 0) {
            uint64_t fp = 0, id = 0;
            if (s->seen_summary)
                ok = bad(s, "a connection after the summary record");
            else if (!number_after(s->line, FIRST_PACKET_KEY, &fp) ||
                     !number_after(s->line, "\"id\":", &id))
                ok = bad(s, "a connection without first_packet (written by an older tcplens?)");
            else if (!push(&m->all, &m->nall, &m->capall, fp, i) ||
                     !push(&s->local, &s->nlocal, &s->caplocal, id, fp))
                ok = bad(s, "out of memory");
        } else if (strncmp(s->line, SUMMARY_PREFIX, strlen(SUMMARY_PREFIX)) == 0) {
            ok = s->seen_summary ? bad(s, "two summary records") : take_summary(s);
        } else if (strncmp(s->line, "{\"record\":", 10) != 0) {
            ok = bad(s, "not a tcplens NDJSON record");
        }
    }
    if (ok && r < 0)
        ok = false;
    if (ok && !s->seen_summary)
        ok = bad(s, "no summary record at its end: the shard's run did not finish");
    if (ok && fseeko(s->f, 0, SEEK_SET) != 0)
        ok = bad(s, "cannot read it twice");
    s->lineno = 0;
    if (ok && s->nlocal > 1)
        qsort(s->local, s->nlocal, sizeof *s->local, by_key);
    return ok;
}

/* Every shard K of N once, all over the same inputs, no connection in two. */
static bool one_set(const struct merge *m)
{
    const struct shard *s = m->s;
    uint32_t count = s[0].count;
    for (size_t i = 0; i < m->n; i++) {
        if (s[i].count != count) {
            fprintf(m->s[0].err,
                    "tcplens merge: %s is shard %" PRIu32 "/%" PRIu32 ", %s is of %" PRIu32 "\n",
                    s[i].name, s[i].index, s[i].count, s[0].name, count);
            return false;
        }
        if (!json_equal(s[i].inputs, s[0].inputs)) {
            fprintf(m->s[0].err, "tcplens merge: %s and %s read different inputs\n", s[i].name,
                    s[0].name);
            return false;
        }
        if (!json_equal(s[i].read, s[0].read)) {
            fprintf(m->s[0].err,
                    "tcplens merge: %s and %s read their inputs differently (another filter or "
                    "--count, or a run cut short)\n",
                    s[i].name, s[0].name);
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (s[j].index == s[i].index) {
                fprintf(m->s[0].err,
                        "tcplens merge: %s and %s are both shard %" PRIu32 "/%" PRIu32 "\n",
                        s[j].name, s[i].name, s[i].index, count);
                return false;
            }
    }
    if (m->n != count) {
        fprintf(m->s[0].err, "tcplens merge: %zu of %" PRIu32 " shards given; missing:", m->n,
                count);
        for (uint32_t k = 1; k <= count; k++) {
            bool have = false;
            for (size_t i = 0; i < m->n && !have; i++)
                have = s[i].index == k;
            if (!have)
                fprintf(m->s[0].err, " %" PRIu32 "/%" PRIu32, k, count);
        }
        fputc('\n', m->s[0].err);
        return false;
    }
    for (size_t i = 1; i < m->nall; i++)
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
            number_after(s->line, FIRST_PACKET_KEY, &s->first_packet)) {
            s->held = true;
            return true;
        }
    }
    return r == 0;
}

/* Writes text up to the number old after key (once, if there), then new
 * in its place; returns where the rest starts. */
static const char *put_renumbered(FILE *out, const char *text, const char *key, uint64_t old,
                                  uint64_t new)
{
    const char *p = strstr(text, key);
    char num[24];
    int len = snprintf(num, sizeof num, "%" PRIu64, old);
    if (p == NULL || strncmp(p + strlen(key), num, (size_t)len) != 0)
        return text;
    p += strlen(key);
    fwrite(text, 1, (size_t)(p - text), out);
    fprintf(out, "%" PRIu64, new);
    return p + len;
}

/* A connection's id in the whole run: its rank in first-seen order. */
static uint64_t rank_of(const struct merge *m, uint64_t first_packet)
{
    return find(m->all, m->nall, first_packet) + 1;
}

/* Writes s's held line with its id in the whole run, and port_reuse's
 * previous_id (in its evidence and its explanation) as that connection's:
 * an earlier connection on the same 4-tuple, in the same shard. */
static bool write_conn(const struct merge *m, const struct shard *s, FILE *out)
{
    const char *rest = s->line + strlen(CONN_PREFIX);
    rest += strspn(rest, "0123456789");
    fprintf(out, "%s%" PRIu64, CONN_PREFIX, rank_of(m, s->first_packet));
    uint64_t prev = 0;
    size_t at;
    if (number_after(rest, PREVIOUS_KEY, &prev) &&
        (at = find(s->local, s->nlocal, prev)) < s->nlocal) {
        uint64_t g = rank_of(m, s->local[at].other);
        rest = put_renumbered(out, rest, PREVIOUS_KEY, prev, g);
        rest = put_renumbered(out, rest, PREVIOUS_TEXT, prev, g);
    }
    return fputs(rest, out) >= 0 && fputc('\n', out) != EOF;
}

/* The k-way merge: the held line with the lowest first_packet goes next. */
static bool merge_out(struct merge *m, FILE *out)
{
    for (size_t i = 0; i < m->n; i++)
        if (!advance(&m->s[i]))
            return false;
    for (;;) {
        struct shard *min = NULL;
        for (size_t i = 0; i < m->n; i++)
            if (m->s[i].held && (min == NULL || m->s[i].first_packet < min->first_packet))
                min = &m->s[i];
        if (min == NULL)
            break;
        if (!tl_merge_svc_add(m->svc, min->line, min->len, rank_of(m, min->first_packet))) {
            bad(min, "a connection record the services table cannot read");
            return false;
        }
        if (!write_conn(m, min, out)) {
            fprintf(m->s[0].err, "tcplens merge: writing: %s\n", strerror(errno));
            return false;
        }
        if (!advance(min))
            return false;
    }
    /* Then the services' and client hosts' records, as one run ends. */
    if (tl_merge_svc_capped(m->svc))
        fprintf(m->s[0].err,
                "tcplens merge: more services or client hosts than the %u a table keeps: those "
                "kept are the first seen, where one run keeps the first whose connections "
                "ended\n",
                TL_SVC_MAX);
    if (!tl_merge_svc_write(m->svc, out)) {
        fprintf(m->s[0].err, "tcplens merge: the services and client hosts records: %s\n",
                ferror(out) ? strerror(errno) : "out of memory");
        return false;
    }
    return true;
}

static void usage(FILE *f)
{
    fputs("usage: tcplens merge [--ndjson=FILE] SHARD... ('-' for standard input)\n"
          "  Reads the --shard K/N runs' NDJSON or JSON documents and writes, as NDJSON,\n"
          "  their connection records as one run would have (first-seen order, ids from\n"
          "  1), then its service and client host records. The shards may come in any\n"
          "  order; each of 1..N must come once, over the same inputs.\n",
          f);
}

/* Reads the shards once (first-seen order, the shard set); false on an
 * error (said). */
static bool scan_all(struct merge *m)
{
    for (size_t i = 0; i < m->n; i++)
        if (!scan(m, i))
            return false;
    if (m->nall > 1)
        qsort(m->all, m->nall, sizeof *m->all, by_key);
    return one_set(m);
}

bool tl_merge_streams(FILE *const *in, const char *const *names, size_t n, FILE *out, FILE *err)
{
    struct merge m = {calloc(n ? n : 1, sizeof *m.s), tl_merge_svc_new(), n, NULL, 0, 0};
    if (m.s == NULL || m.svc == NULL) {
        free(m.s);
        tl_merge_svc_free(m.svc);
        fputs("tcplens merge: out of memory\n", err);
        return false;
    }
    bool ok = n > 0;
    for (size_t i = 0; i < n; i++) {
        m.s[i] = (struct shard){.name = names[i], .err = err, .f = in[i]};
        if (ok && tl_merge_doc_is(in[i])) {
            m.s[i].f = m.s[i].own = tl_merge_doc_ndjson(in[i], names[i], err);
            ok = m.s[i].f != NULL;
        }
    }
    ok = ok && scan_all(&m) && merge_out(&m, out);
    for (size_t i = 0; i < n; i++) {
        if (m.s[i].own != NULL)
            fclose(m.s[i].own);
        free(m.s[i].line);
        json_decref(m.s[i].inputs);
        json_decref(m.s[i].read);
        free(m.s[i].local);
    }
    free(m.s);
    free(m.all);
    tl_merge_svc_free(m.svc);
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
    static const struct option opts[] = {{"ndjson", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *outname = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+ho:", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        if (c != 'o') {
            fprintf(stderr, "tcplens merge: unknown option '%s' (tcplens merge --help)\n",
                    argv[optind - 1]);
            return EXIT_ERR;
        }
        outname = optarg;
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
    FILE *out = stdout;
    if (ok && outname != NULL && strcmp(outname, "-") != 0 && (out = fopen(outname, "w")) == NULL) {
        fprintf(stderr, "tcplens merge: %s: %s\n", outname, strerror(errno));
        ok = false;
    }
    ok = ok && tl_merge_streams(in, names, n, out, stderr);
    if (out != NULL) {
        bool own = out != stdout;
        if ((own ? fclose(out) : fflush(stdout)) != 0 && ok) {
            fprintf(stderr, "tcplens merge: %s: %s\n", own ? outname : "standard output",
                    strerror(errno));
            ok = false;
        }
    }
    if (ok)
        fputs("tcplens merge: connection, service and client host records merged; the summary "
              "and the host-level anomalies span shards and are not merged\n",
              stderr);
    for (size_t i = 0; in != NULL && i < n; i++)
        if (in[i] != NULL)
            fclose(in[i]);
    free(in);
    free(names);
    return ok ? EXIT_OK : EXIT_ERR;
}
