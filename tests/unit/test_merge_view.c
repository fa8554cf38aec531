/*
 * src/merge_view.c in process, against the engine's own views: each
 * connection of every capture under samples/ and tests/ (and ../shared's
 * real captures and Zeek traces, where they are), in three timeline
 * modes, is written as its JSON record, read back into a view, and
 *
 *   - written again: the same record, byte for byte (must hold);
 *   - given to the other reporters beside the engine's view: the text
 *     report's row and detail (plain and as a ladder), the HTML page's
 *     connection, the live line, and the summary's tallies, services and
 *     anomaly groups. What they print of the two views must be the same
 *     (what the records do not carry no reporter reads: docs/merge-view.md).
 *
 * Then garbage: records cut short, and lines that are not records, are
 * refused without a crash.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "merge_view.h"
#include "report_int.h"
#include "feed_file.h"
#include "tap.h"
#include "tcplens/engine.h"

enum { OUT_TEXT, OUT_LADDER, OUT_HTML, OUT_LINE, NOUTS };
static const char *const out_names[NOUTS] = {"text row and detail", "text ladder",
                                             "html connection", "live line"};

/* What the hook compares, for the length of one capture. The reporters'
 * hook has no argument of its own: this is the test's one variable. */
struct cmp {
    struct tl_merge_view mv;
    struct tl_report *text[2][2]; /* [plain, ladder][engine, read back] */
    struct tl_report_cfg html_cfg, line_cfg;
    struct report_summary sum[2];
    uint64_t conns, json_same, unread, differ[NOUTS], shown[NOUTS + 1];
};
static struct cmp *cur;

static bool same(char *a, size_t an, char *b, size_t bn)
{
    bool eq = a != NULL && b != NULL && an == bn && memcmp(a, b, an) == 0;
    free(a);
    free(b);
    return eq;
}

static void note(struct cmp *x, int what, uint64_t id)
{
    if (x->shown[what]++ < 2)
        printf("#   connection %llu: %s differs\n", (unsigned long long)id,
               what < NOUTS ? out_names[what] : "JSON record");
}

/* The other reporters on both views. */
static void compare_outs(struct cmp *x, const struct tl_conn_view *v, const struct tl_conn_view *w)
{
    for (int k = 0; k < 2; k++) {
        char *a = NULL, *b = NULL;
        size_t an = 0, bn = 0;
        enum tl_status s1 = tl_report_text_ops.take(x->text[k][0], v, &a, &an);
        enum tl_status s2 = tl_report_text_ops.take(x->text[k][1], w, &b, &bn);
        if (s1 != TL_OK || s2 != TL_OK || !same(a, an, b, bn)) {
            x->differ[k == 0 ? OUT_TEXT : OUT_LADDER]++;
            note(x, k == 0 ? OUT_TEXT : OUT_LADDER, v->conn->id);
        }
    }
    size_t an = 0, bn = 0;
    char *a = tl_report_html_ops.format_conn(v, &x->html_cfg, &an);
    char *b = tl_report_html_ops.format_conn(w, &x->html_cfg, &bn);
    if (!same(a, an, b, bn)) {
        x->differ[OUT_HTML]++;
        note(x, OUT_HTML, v->conn->id);
    }
    a = tl_report_lines_ops.format_conn(v, &x->line_cfg, &an);
    b = tl_report_lines_ops.format_conn(w, &x->line_cfg, &bn);
    if (!same(a, an, b, bn)) {
        x->differ[OUT_LINE]++;
        note(x, OUT_LINE, v->conn->id);
    }
    tl_report_summary_add(&x->sum[0], v);
    tl_report_summary_add(&x->sum[1], w);
}

/* The reporter's format hook: each connection as the engine reports it. */
static char *hook_conn(const struct tl_conn_view *v, const struct tl_report_cfg *cfg, size_t *len)
{
    (void)cfg;
    struct cmp *x = cur;
    size_t n = 0, m = 0;
    char *line = tl_report_json_format_conn(v, "connection", &n);
    x->conns++;
    if (line != NULL && tl_merge_view_read(&x->mv, line, n)) {
        char *again = tl_report_json_format_conn(&x->mv.v, "connection", &m);
        if (same(line, n, again, m))
            x->json_same++;
        else
            note(x, NOUTS, v->conn->id);
        compare_outs(x, v, &x->mv.v);
    } else {
        free(line);
        x->unread++;
        note(x, NOUTS, v->conn->id);
    }
    *len = 0;
    return strdup("");
}

static enum tl_status hook_doc(const struct tl_report *r, const struct tl_run *run, FILE *spool)
{
    (void)r;
    (void)run;
    (void)spool;
    return TL_OK;
}

static const struct report_ops hook_ops = {hook_conn, hook_doc, NULL};

static bool feed(const char *path, const struct tl_timeline_cfg *tl, struct tl_capture_info *cap)
{
    FILE *out = tmpfile();
    struct tl_report_cfg rc = {.format = TL_REPORT_NDJSON, .out = out, .reorder = true};
    struct tl_report *r = out != NULL ? tl_report_new(&rc) : NULL;
    if (r == NULL) {
        if (out != NULL)
            fclose(out);
        return false;
    }
    r->ops = &hook_ops;
    bool good = tl_test_feed_file(path, r, tl, cap);
    tl_report_free(r);
    fclose(out);
    return good;
}

/* The text summary, the services and client hosts tables (text and
 * HTML) and each anomaly type's group words of both sides. */
static bool same_summaries(struct cmp *x, const struct tl_capture_info *cap)
{
    char *s[2] = {NULL, NULL};
    size_t n[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        FILE *f = open_memstream(&s[i], &n[i]);
        if (f == NULL)
            return false;
        (void)tl_report_text_summary(&x->sum[i], cap, f);
        (void)tl_report_text_services(&x->sum[i], f);
        (void)tl_report_html_services(&x->sum[i], f);
        fclose(f);
    }
    if (getenv("TL_SHOW_SUMMARY") != NULL && (n[0] != n[1] || memcmp(s[0], s[1], n[0]) != 0))
        printf("#   summary differs:\n%s\n#   read back:\n%s\n", s[0], s[1]);
    bool eq = same(s[0], n[0], s[1], n[1]);
    for (int t = 0; t < TL_AN_NTYPES; t++) {
        struct tl_anomaly_text a, b;
        tl_report_group_text(&x->sum[0].groups.t[t], &a);
        tl_report_group_text(&x->sum[1].groups.t[t], &b);
        if (getenv("TL_SHOW_SUMMARY") != NULL && memcmp(&a, &b, sizeof a) != 0)
            printf("#   group %s differs:\n#   %s\n#   %s\n", tl_anomaly_id(t), a.explanation,
                   b.explanation);
        eq = eq && memcmp(&a, &b, sizeof a) == 0;
    }
    return eq;
}

struct totals {
    uint64_t conns, json_same, unread, differ[NOUTS], summaries, summaries_same;
};

static void add_totals(struct totals *t, const struct cmp *x, bool sums_same)
{
    t->conns += x->conns;
    t->json_same += x->json_same;
    t->unread += x->unread;
    for (int k = 0; k < NOUTS; k++)
        t->differ[k] += x->differ[k];
    t->summaries++;
    t->summaries_same += sums_same;
}

static bool text_report(struct tl_report **r, bool ladder)
{
    struct tl_report_cfg c = {.format = TL_REPORT_TEXT,
                              .out = stdout,
                              .all = true,
                              .all_details = true,
                              .ladder = {ladder, false, false}};
    return (*r = tl_report_new(&c)) != NULL;
}

/* One capture in one mode; false when it could not be run. */
static bool run_one(const char *path, const struct tl_timeline_cfg *tl, struct totals *t)
{
    struct cmp *x = calloc(1, sizeof *x);
    if (x == NULL)
        return false;
    tl_merge_view_init(&x->mv);
    bool made = true;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 2; i++)
            made = text_report(&x->text[k][i], k == 1) && made;
    x->html_cfg.format = TL_REPORT_HTML;
    x->line_cfg.format = TL_REPORT_LINES;
    tl_report_summary_init(&x->sum[0]);
    tl_report_summary_init(&x->sum[1]);
    cur = x;
    struct tl_capture_info cap;
    bool ran = made && feed(path, tl, &cap);
    cur = NULL;
    if (ran)
        add_totals(t, x, same_summaries(x, &cap));
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 2; i++)
            tl_report_free(x->text[k][i]);
    tl_report_summary_free(&x->sum[0]);
    tl_report_summary_free(&x->sum[1]);
    tl_merge_view_free(&x->mv);
    free(x);
    return ran;
}

struct paths {
    char **p;
    size_t n, cap;
};

static bool is_capture(const char *dir, const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".pcap") == 0) ||
           (n > 7 && strcmp(name + n - 7, ".pcapng") == 0) ||
           strstr(dir, "fuzz/corpus/pipeline") != NULL;
}

/* Every capture under dir, depth first, in name order. */
static void find_captures(const char *dir, struct paths *out)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        char path[1024];
        struct stat st;
        if (nm[0] != '.' && (size_t)snprintf(path, sizeof path, "%s/%s", dir, nm) < sizeof path &&
            stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                find_captures(path, out);
            } else if (S_ISREG(st.st_mode) && is_capture(dir, nm)) {
                if (out->n == out->cap) {
                    out->cap = out->cap ? out->cap * 2 : 64;
                    out->p = realloc(out->p, out->cap * sizeof *out->p);
                }
                if (out->p == NULL || (out->p[out->n++] = strdup(path)) == NULL)
                    abort();
            }
        }
        free(names[i]);
    }
    if (n >= 0)
        free(names);
}

static void report_set(struct tap *t, const char *set, const struct totals *s, size_t files,
                       size_t ran)
{
    char name[300];
    snprintf(name, sizeof name, "%s: %zu of %zu runs, %llu records, %llu written again the same",
             set, ran, files, (unsigned long long)s->conns, (unsigned long long)s->json_same);
    ok(t, ran == files && s->conns > 0 && s->json_same == s->conns && s->unread == 0, name);
    for (int k = 0; k < NOUTS; k++) {
        snprintf(name, sizeof name, "%s: %s of the view read back: %llu of %llu connections differ",
                 set, out_names[k], (unsigned long long)s->differ[k], (unsigned long long)s->conns);
        ok(t, s->differ[k] == 0, name);
    }
    snprintf(name, sizeof name, "%s: summary tallies and anomaly groups: %llu of %llu runs differ",
             set, (unsigned long long)(s->summaries - s->summaries_same),
             (unsigned long long)s->summaries);
    ok(t, s->summaries_same == s->summaries, name);
}

static void test_set(struct tap *t, const char *set, const char *const *dirs, size_t ndirs)
{
    static const struct tl_timeline_cfg modes[] = {{false, TL_DEFAULT_TIMELINE_MAX},
                                                   {true, TL_DEFAULT_TIMELINE_MAX},
                                                   {true, 3}};
    struct paths ps = {NULL, 0, 0};
    for (size_t i = 0; i < ndirs; i++)
        find_captures(dirs[i], &ps);
    if (ps.n == 0) {
        printf("ok %d - %s # SKIP no captures there\n", ++t->n, set);
        return;
    }
    printf("# %s: %zu captures\n", set, ps.n);
    struct totals s;
    memset(&s, 0, sizeof s);
    size_t ran = 0;
    for (size_t i = 0; i < ps.n; i++) {
        for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++)
            ran += run_one(ps.p[i], &modes[k], &s);
        free(ps.p[i]);
    }
    free(ps.p);
    report_set(t, set, &s, ps.n * 3, ran);
}

/* Lines that are not records, and records cut short: refused. */
static void test_garbage(struct tap *t)
{
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "null",
        "{\"record\":\"connection\"}",
        "{\"record\":\"summary\",\"id\":1}",
        "{\"record\":\"connection\",\"id\":-1}",
        "\"connection\"",
        "{\"record\":\"connection\",\"id\":1,\"client\":{\"ip\":\"300.1.1.1\",\"port\":1}}"};
    struct tl_merge_view mv;
    tl_merge_view_init(&mv);
    bool none = true;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        none = !tl_merge_view_read(&mv, bad[i], strlen(bad[i])) && none;
    ok(t, none, "lines that are no connection record are refused");
    tl_merge_view_free(&mv);
    tl_merge_view_free(&mv); /* freed twice: harmless */
    ok(t, mv.v.conn == NULL, "a freed view is zeroed");
}

int main(void)
{
    struct tap t = {0, 0};
    const char *srcdir = getenv("SRCDIR") ? getenv("SRCDIR") : ".";
    char d[4][1024];
    snprintf(d[0], sizeof d[0], "%s/samples", srcdir);
    snprintf(d[1], sizeof d[1], "%s/tests", srcdir);
    const char *tree[] = {d[0], d[1]};
    test_garbage(&t);
    test_set(&t, "samples and tests", tree, 2);
    snprintf(d[2], sizeof d[2], "%s/../shared/real-captures", srcdir);
    const char *real[] = {d[2]};
    test_set(&t, "real captures", real, 1);
    snprintf(d[3], sizeof d[3], "%s/../shared/conformance/zeek/traces", srcdir);
    const char *zeek[] = {d[3]};
    test_set(&t, "zeek traces", zeek, 1);
    return tap_done(&t);
}
