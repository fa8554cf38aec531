/*
 * tcplens merge: the NDJSON outputs of N --shard runs over the same inputs
 * turned back into the connection records one run would have written.
 *
 * Each shard writes its connections in its own first-seen order, and
 * first_packet (the frame that made a connection, numbered alike in every
 * shard) orders them across shards: the merge is a k-way merge on it, one
 * line held per shard, so memory is bounded by the number of shards and
 * the longest line, not by the capture. Ids are given again, 1, 2, … in
 * that order. The shards are checked to be one set: every K of N once,
 * over the same inputs, no connection twice.
 *
 * What a shard alone cannot know is not merged yet and the merge says so
 * on stderr: the summary, the services and client hosts tables and the
 * host-level anomalies span shards (docs/scale-out.md).
 */
#include "merge.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_PREFIX "{\"record\":\"connection\",\"id\":"
#define FIRST_PACKET_KEY "\"first_packet\":"
#define SHARD_KEY "\"shard\":{\"index\":"
#define INPUTS_KEY "\"inputs\":"

enum { EXIT_OK = 0, EXIT_ERR = 2 }; /* as tcplens: 2 for any error */

struct shard {
    const char *name;
    FILE *f;
    char *line; /* the connection line held, or the last line read */
    size_t cap;
    size_t len;
    uint64_t lineno;
    uint64_t first_packet; /* of the line held */
    bool held;             /* a connection line is held */
    bool seen_summary;
    uint32_t index, count; /* its capture.shard, from its summary */
    char *inputs;          /* its summary's "inputs" array, as written */
    /* Its ids given again, local id ascending: what an earlier connection
     * on the same 4-tuple (port_reuse's previous_id), always in the same
     * shard, is now called. */
    struct id_pair {
        uint64_t local, global;
    } * ids;
    size_t nids, capids;
};

/* Why a shard's input cannot be merged, with where; false. */
static bool bad(const struct shard *s, const char *why)
{
    fprintf(stderr, "tcplens merge: %s:%" PRIu64 ": %s\n", s->name, s->lineno, why);
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

/* The summary record: which shard it is and over which inputs. The
 * inputs array is compared as written (each shard's writer is the same). */
static bool take_summary(struct shard *s)
{
    uint64_t k = 1, n = 1; /* no shard (or --shard 1/1): the whole run, 1/1 */
    const char *sh = strstr(s->line, SHARD_KEY);
    if (sh != NULL && (!number_after(sh, SHARD_KEY, &k) || !number_after(sh, "\"count\":", &n) ||
                       k < 1 || n < 1 || k > n || n > 65536))
        return bad(s, "its summary's shard is not K of N");
    const char *in = strstr(s->line, INPUTS_KEY), *end = in ? strstr(in, "}],") : NULL;
    if (in == NULL || end == NULL)
        return bad(s, "its summary lists no inputs");
    s->inputs = strndup(in, (size_t)(end - in));
    if (s->inputs == NULL)
        return bad(s, "out of memory");
    s->index = (uint32_t)k;
    s->count = (uint32_t)n;
    s->seen_summary = true;
    return true;
}

/* Reads on to the shard's next connection line (held), or to its end,
 * taking its summary on the way. false on an error (said). */
static bool advance(struct shard *s)
{
    s->held = false;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&s->line, &s->cap, s->f);
        if (n < 0) {
            if (ferror(s->f))
                return bad(s, strerror(errno ? errno : EIO));
            if (!s->seen_summary)
                return bad(s, "no summary record at its end: the shard's run did not finish");
            return true;
        }
        s->lineno++;
        s->len = (size_t)n;
        if (n > 0 && s->line[n - 1] == '\n')
            s->line[--s->len] = '\0';
        if (strncmp(s->line, CONN_PREFIX, strlen(CONN_PREFIX)) == 0) {
            uint64_t fp = 0;
            if (s->seen_summary)
                return bad(s, "a connection after the summary record");
            if (!number_after(s->line, FIRST_PACKET_KEY, &fp))
                return bad(s, "a connection without first_packet (written by an older tcplens?)");
            if (s->lineno > 1 && fp <= s->first_packet)
                return bad(s, "connections out of first-seen order");
            s->first_packet = fp;
            s->held = true;
            return true;
        }
        if (strncmp(s->line, "{\"record\":\"summary\"", 19) == 0) {
            if (s->seen_summary)
                return bad(s, "two summary records");
            if (!take_summary(s))
                return false;
        } else if (strncmp(s->line, "{\"record\":", 10) != 0) {
            return bad(s, "not a tcplens NDJSON record");
        }
    }
}

static bool remember(struct shard *s, uint64_t local, uint64_t global)
{
    if (s->nids == s->capids) {
        size_t cap = s->capids ? s->capids * 2 : 1024;
        struct id_pair *v = realloc(s->ids, cap * sizeof *v);
        if (v == NULL)
            return false;
        s->ids = v;
        s->capids = cap;
    }
    s->ids[s->nids++] = (struct id_pair){local, global};
    return true;
}

/* The new id of s's connection local; 0 if s wrote none such. */
static uint64_t global_id(const struct shard *s, uint64_t local)
{
    size_t lo = 0, hi = s->nids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ids[mid].local < local)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nids && s->ids[lo].local == local ? s->ids[lo].global : 0;
}

/* Writes text[0, n) with, after key (once, if there), the number old
 * written as new. */
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

#define PREVIOUS_KEY "\"previous_id\":"
#define PREVIOUS_TEXT "the 4-tuple of connection "

/* Writes s's held line with id as its id, and port_reuse's previous_id
 * (in its evidence and its explanation) as that connection's new id. */
static bool write_conn(FILE *out, struct shard *s, uint64_t id)
{
    const char *rest = s->line + strlen(CONN_PREFIX);
    char *end;
    uint64_t local = strtoull(rest, &end, 10);
    if (!remember(s, local, id))
        return false;
    fprintf(out, "%s%" PRIu64, CONN_PREFIX, id);
    rest = end;
    uint64_t prev = 0;
    if (number_after(rest, PREVIOUS_KEY, &prev)) {
        uint64_t g = global_id(s, prev);
        if (g != 0) {
            rest = put_renumbered(out, rest, PREVIOUS_KEY, prev, g);
            rest = put_renumbered(out, rest, PREVIOUS_TEXT, prev, g);
        }
    }
    return fputs(rest, out) >= 0 && fputc('\n', out) != EOF;
}

/* Every shard K of N once, all over the same inputs. */
static bool one_set(struct shard *s, size_t n)
{
    uint32_t count = s[0].count;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        if (s[i].count != count) {
            fprintf(stderr,
                    "tcplens merge: %s is shard %" PRIu32 "/%" PRIu32 ", %s is of %" PRIu32 "\n",
                    s[i].name, s[i].index, s[i].count, s[0].name, count);
            ok = false;
        } else if (strcmp(s[i].inputs, s[0].inputs) != 0) {
            fprintf(stderr, "tcplens merge: %s and %s read different inputs\n", s[i].name,
                    s[0].name);
            ok = false;
        }
        for (size_t j = 0; ok && j < i; j++)
            if (s[j].index == s[i].index) {
                fprintf(stderr, "tcplens merge: %s and %s are both shard %" PRIu32 "/%" PRIu32 "\n",
                        s[j].name, s[i].name, s[i].index, count);
                ok = false;
            }
    }
    if (ok && n != count) {
        fprintf(stderr, "tcplens merge: %zu of %" PRIu32 " shards given; missing:", n, count);
        for (uint32_t k = 1; k <= count; k++) {
            bool have = false;
            for (size_t i = 0; i < n && !have; i++)
                have = s[i].index == k;
            if (!have)
                fprintf(stderr, " %" PRIu32 "/%" PRIu32, k, count);
        }
        fputc('\n', stderr);
        ok = false;
    }
    return ok;
}

/* The k-way merge: the held line with the lowest first_packet goes next. */
static int merge(struct shard *s, size_t n, FILE *out)
{
    uint64_t id = 0;
    for (;;) {
        struct shard *min = NULL;
        for (size_t i = 0; i < n; i++)
            if (s[i].held && (min == NULL || s[i].first_packet < min->first_packet))
                min = &s[i];
        if (min == NULL)
            break;
        for (size_t i = 0; i < n; i++)
            if (&s[i] != min && s[i].held && s[i].first_packet == min->first_packet) {
                fprintf(
                    stderr,
                    "tcplens merge: %s and %s both hold a connection first seen in packet %" PRIu64
                    ": the same shard twice, or shards of other inputs\n",
                    min->name, s[i].name, min->first_packet);
                return EXIT_ERR;
            }
        if (!write_conn(out, min, ++id)) {
            fprintf(stderr, "tcplens merge: writing: %s\n", strerror(errno));
            return EXIT_ERR;
        }
        if (!advance(min))
            return EXIT_ERR;
    }
    return one_set(s, n) ? EXIT_OK : EXIT_ERR;
}

static void usage(FILE *f)
{
    fputs("usage: tcplens merge [--ndjson=FILE] SHARD.ndjson... ('-' for standard input)\n"
          "  Writes the connection records of the --shard K/N runs' NDJSON as one run\n"
          "  would have: first-seen order, ids from 1. The shards may come in any order;\n"
          "  each of 1..N must come once, over the same inputs.\n",
          f);
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
        if (c == 'o') {
            outname = optarg;
            continue;
        }
        fprintf(stderr, "tcplens merge: unknown option '%s' (tcplens merge --help)\n",
                argv[optind - 1]);
        return EXIT_ERR;
    }
    size_t n = (size_t)(argc - optind);
    if (n == 0) {
        fputs("tcplens merge: no shard to merge (tcplens merge --help)\n", stderr);
        return EXIT_ERR;
    }
    struct shard *s = calloc(n, sizeof *s);
    if (s == NULL) {
        fputs("tcplens merge: out of memory\n", stderr);
        return EXIT_ERR;
    }
    int rc = EXIT_OK;
    bool stdin_used = false;
    for (size_t i = 0; rc == EXIT_OK && i < n; i++) {
        s[i].name = argv[optind + (int)i];
        if (strcmp(s[i].name, "-") == 0 && !stdin_used) {
            s[i].f = stdin;
            s[i].name = "(standard input)";
            stdin_used = true;
        } else if ((s[i].f = fopen(s[i].name, "r")) == NULL) {
            fprintf(stderr, "tcplens merge: %s: %s\n", s[i].name, strerror(errno));
            rc = EXIT_ERR;
        }
        if (rc == EXIT_OK && !advance(&s[i]))
            rc = EXIT_ERR;
    }
    FILE *out = stdout;
    if (rc == EXIT_OK && outname != NULL && strcmp(outname, "-") != 0 &&
        (out = fopen(outname, "w")) == NULL) {
        fprintf(stderr, "tcplens merge: %s: %s\n", outname, strerror(errno));
        rc = EXIT_ERR;
    }
    if (rc == EXIT_OK)
        rc = merge(s, n, out);
    bool own = out != NULL && out != stdout;
    if ((own ? fclose(out) : fflush(stdout)) != 0 && rc == EXIT_OK) {
        fprintf(stderr, "tcplens merge: %s: %s\n", own ? outname : "standard output",
                strerror(errno));
        rc = EXIT_ERR;
    }
    if (rc == EXIT_OK)
        fputs("tcplens merge: connection records merged; the summary, services, client hosts "
              "and host-level anomalies span shards and are not merged\n",
              stderr);
    for (size_t i = 0; i < n; i++) {
        if (s[i].f != NULL && s[i].f != stdin)
            fclose(s[i].f);
        free(s[i].line);
        free(s[i].inputs);
        free(s[i].ids);
    }
    free(s);
    return rc;
}
