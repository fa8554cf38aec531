/*
 * Reporter core. Connections end in any order (a long one can outlive
 * thousands of short ones) but are written in first-seen (id) order: a
 * connection that ends early waits in a min-heap keyed by id until every
 * lower id has been written. Written text goes to a temporary spool file,
 * because a document's summary comes before its connections and is only
 * known at the end; memory then holds only the out-of-order window.
 */
#include "tcplens/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_int.h"

struct tl_report *tl_report_new(const struct tl_report_cfg *cfg)
{
    struct tl_report *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->cfg = *cfg;
    r->next_id = 1;
    tl_report_summary_init(&r->sum);
    if (r->cfg.wait_budget == 0)
        r->cfg.wait_budget = TL_REPORT_WAIT_BUDGET;
    r->ops = cfg->format == TL_REPORT_TEXT    ? &tl_report_text_ops
             : cfg->format == TL_REPORT_LINES ? &tl_report_lines_ops
             : cfg->format == TL_REPORT_HTML  ? &tl_report_html_ops
                                              : &tl_report_json_ops;
    /* Streams need no document around their lines: they go straight out. */
    if (cfg->format != TL_REPORT_NDJSON && cfg->format != TL_REPORT_LINES) {
        r->spool = tmpfile();
        if (r->spool == NULL) {
            int err = errno; /* tmpfile()'s, for the caller's message */
            free(r);
            errno = err;
            return NULL;
        }
    }
    return r;
}

/* Spilled text goes out and comes back in runs: fewer, larger read(2)s. */
#define OVERFLOW_BUFFER (1024 * 1024)

static FILE *sink(const struct tl_report *r) { return r->spool ? r->spool : r->cfg.out; }

static enum tl_status emit(struct tl_report *r, const char *text, size_t len)
{
    FILE *f = sink(r);
    if (fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF)
        return TL_EIO;
    /* A live stream is read as it comes (tail -f, log shippers): one line,
     * one flush. Offline, lines come in id order in bursts anyway, and a
     * write(2) per line cost more than formatting them. */
    if (r->spool == NULL && !r->cfg.reorder && fflush(f) != 0)
        return TL_EIO;
    return TL_OK;
}

static void heap_swap(struct pending *a, struct pending *b)
{
    struct pending t = *a;
    *a = *b;
    *b = t;
}

static void heap_up(struct pending *h, size_t i)
{
    while (i > 0 && h[(i - 1) / 2].id > h[i].id) {
        heap_swap(&h[(i - 1) / 2], &h[i]);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct pending *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && h[l].id < h[m].id)
            m = l;
        if (l + 1 < n && h[l + 1].id < h[m].id)
            m = l + 1;
        if (m == i)
            return;
        heap_swap(&h[i], &h[m]);
        i = m;
    }
}

/* Puts the overflow stream at off, ready to write or to read. */
static bool overflow_at(struct tl_report *r, uint64_t off, bool write)
{
    if (r->overflow_pos == off && r->overflow_writing == write)
        return true;
    if (fseeko(r->overflow, (off_t)off, SEEK_SET) != 0)
        return false;
    r->overflow_pos = off;
    r->overflow_writing = write;
    return true;
}

/* Moves text to the overflow file; the entry then refers to it. */
static enum tl_status spill(struct tl_report *r, struct pending *p)
{
    if (r->overflow == NULL) {
        if ((r->overflow = tmpfile()) == NULL)
            return TL_EIO;
        r->overflow_buf = malloc(OVERFLOW_BUFFER);
        if (r->overflow_buf != NULL)
            setvbuf(r->overflow, r->overflow_buf, _IOFBF, OVERFLOW_BUFFER);
        r->overflow_pos = 0;
        r->overflow_writing = true;
    }
    if (!overflow_at(r, r->overflow_end, true) ||
        fwrite(p->text, 1, p->len, r->overflow) != p->len)
        return TL_EIO;
    r->overflow_pos += p->len;
    p->off = r->overflow_end;
    r->overflow_end += p->len;
    free(p->text);
    p->text = NULL;
    return TL_OK;
}

/* Brings spilled text back into memory. */
static enum tl_status unspill(struct tl_report *r, struct pending *p)
{
    p->text = malloc(p->len + 1);
    if (p->text == NULL)
        return TL_ENOMEM;
    if (!overflow_at(r, p->off, false) || fread(p->text, 1, p->len, r->overflow) != p->len)
        return TL_EIO;
    r->overflow_pos += p->len;
    return TL_OK;
}

/* Writes one listed connection, counting it when a newer one went first. */
static enum tl_status write_conn(struct tl_report *r, uint64_t id, const char *text, size_t len)
{
    if (r->cfg.reorder && id < r->top_written)
        r->sum.out_of_order++;
    else if (id > r->top_written)
        r->top_written = id;
    return emit(r, text, len);
}

/* Takes the lowest waiting connection off the heap and, if write, writes it. */
static enum tl_status pop_one(struct tl_report *r, bool write)
{
    struct pending p = r->heap[0];
    enum tl_status st = TL_OK;
    r->heap[0] = r->heap[--r->nheap];
    heap_down(r->heap, r->nheap, 0);
    if (p.skip)
        ;
    else if (p.text != NULL)
        r->waiting_bytes -= p.len;
    else if (write)
        st = unspill(r, &p);
    if (write && st == TL_OK && !p.skip)
        st = write_conn(r, p.id, p.text, p.len);
    if (p.id >= r->next_id)
        r->next_id = p.id + 1;
    free(p.text);
    return st;
}

static enum tl_status drain(struct tl_report *r, bool force);

/* Takes text, whatever it returns: once text is in the heap, a failure to
 * write an older entry (pop_one()) must not make the caller free it too. */
static enum tl_status heap_push(struct tl_report *r, uint64_t id, char *text, size_t len,
                                bool skip)
{
    if (r->nheap == r->capheap) {
        size_t cap = r->capheap ? r->capheap * 2 : 64;
        struct pending *h = realloc(r->heap, cap * sizeof *h);
        if (h == NULL) {
            free(text);
            return TL_ENOMEM;
        }
        r->heap = h;
        r->capheap = cap;
    }
    struct pending p = {id, text, 0, len, skip};
    if (!skip && r->waiting_bytes + len > r->cfg.wait_budget) {
        enum tl_status st = spill(r, &p);
        if (st != TL_OK) {
            free(p.text); /* still the text: spill() frees it once written */
            return st;
        }
    } else {
        r->waiting_bytes += len;
    }
    r->heap[r->nheap] = p;
    heap_up(r->heap, r->nheap++);
    /* Memory is bounded by the cap, not by how long an older one stays open. */
    return r->nheap > TL_REPORT_WAIT_MAX ? drain(r, true) : TL_OK;
}

/* Whether every connection older than the lowest waiting one has come. */
static bool turn_of_top(const struct tl_report *r)
{
    return r->heap[0].id <= r->next_id || r->heap[0].id < r->oldest_held;
}

/* Writes waiting connections whose turn has come (all of them if force). */
static enum tl_status drain(struct tl_report *r, bool force)
{
    enum tl_status st = TL_OK;
    while (r->nheap > 0 && (force || turn_of_top(r))) {
        enum tl_status s = pop_one(r, st == TL_OK);
        if (st == TL_OK)
            st = s;
    }
    /* Nothing waits any more: the overflow file can start over. */
    if (r->nheap == 0)
        r->overflow_end = 0;
    return st;
}

static void tally(struct report_summary *sum, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    sum->connections++;
    if (c->end <= TL_END_EVICTED)
        sum->ends[c->end]++;
    if (v->tcp != NULL)
        for (int r = 0; r < 2; r++)
            sum->states[r][v->tcp->ep[r].state % TL_EP_NSTATES]++;
    for (size_t i = 0; v->anomalies != NULL && i < v->anomalies->n; i++) {
        const struct tl_anomaly *a = &v->anomalies->a[i];
        sum->anomalies[a->type % TL_AN_NTYPES]++;
        sum->by_sev[a->severity % TL_SEV_NLEVELS]++;
    }
    tl_report_summary_add(sum, v);
}

/* --anomalies-only: info-level entries such as time_wait do not count. */
bool tl_report_lists(const struct tl_report *r, const struct tl_conn_view *v)
{
    if (r->cfg.only_id != 0 && v->conn->id != r->cfg.only_id)
        return false;
    if (!r->cfg.anomalies_only)
        return true;
    return v->anomalies != NULL && tl_anomaly_worst(v->anomalies) >= TL_SEV_WARNING;
}

void tl_report_oldest_held(struct tl_report *r, uint64_t oldest)
{
    if (oldest > r->oldest_held)
        r->oldest_held = oldest;
}

enum tl_status tl_report_conn(struct tl_report *r, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    tally(&r->sum, v);
    bool show = tl_report_lists(r, v);
    /* Not listed, and every older one accounted for: nothing to wait for. */
    if (!show && r->oldest_held != 0 && c->id != r->next_id)
        return drain(r, false);
    size_t len = 0;
    char *text = NULL;
    if (show) {
        r->sum.listed++;
        text = r->ops->format_conn(v, &r->cfg, &len);
        if (text == NULL)
            return TL_ENOMEM;
    }
    bool in_turn = c->id == r->next_id || (r->nheap == 0 && c->id < r->oldest_held);
    if (!r->cfg.reorder || in_turn) {
        enum tl_status s = show ? write_conn(r, c->id, text, len) : TL_OK;
        free(text);
        if (c->id >= r->next_id)
            r->next_id = c->id + 1;
        return s != TL_OK ? s : drain(r, false);
    }
    return heap_push(r, c->id, text, len, !show);
}

enum tl_status tl_report_finish(struct tl_report *r, const struct tl_run *run)
{
    enum tl_status st = drain(r, true);
    if (st != TL_OK)
        return st;
    if (r->spool != NULL) {
        if (fflush(r->spool) != 0)
            return TL_EIO;
        rewind(r->spool);
    }
    for (size_t i = 0; run->host_anomalies != NULL && i < run->host_anomalies->n; i++) {
        const struct tl_anomaly *a = &run->host_anomalies->a[i].a;
        r->sum.anomalies[a->type % TL_AN_NTYPES]++;
        r->sum.by_sev[a->severity % TL_SEV_NLEVELS]++;
        int8_t *w = &r->sum.type_worst[a->type % TL_AN_NTYPES];
        if (a->severity > *w)
            *w = (int8_t)a->severity;
    }
    /* A host table that could not grow would rank wrongly: say so. */
    for (int k = 0; k < TL_HOSTS_NTALLIES; k++)
        if (r->sum.hosts[k].failed)
            return TL_ENOMEM;
    st = r->ops->write_doc(r, run, r->spool);
    if (st == TL_OK && fflush(r->cfg.out) != 0)
        st = TL_EIO;
    return st;
}

void tl_report_free(struct tl_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nheap; i++)
        free(r->heap[i].text);
    free(r->heap);
    if (r->spool != NULL)
        fclose(r->spool);
    if (r->overflow != NULL)
        fclose(r->overflow);
    free(r->overflow_buf);
    tl_report_summary_free(&r->sum);
    free(r);
}

/* The civil date of a day counted from 1970-01-01 (proleptic Gregorian;
 * H. Hinnant's civil_from_days). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* n as exactly w digits, backwards from the end of d; returns d + w. */
static char *digits(char *d, uint64_t n, int w)
{
    for (int i = w - 1; i >= 0; i--, n /= 10)
        d[i] = (char)('0' + n % 10);
    return d + w;
}

/* "YYYY-MM-DD HH:MM:SS.uuuuuu" for years 1000 to 9999, without gmtime and
 * strftime (once per connection and timeline line); false otherwise. */
static bool utc_fast(int64_t sec, int64_t usec, char *buf, size_t size)
{
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400, y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    if (y < 1000 || y > 9999 || size < 27) /* libc writes other years unpadded */
        return false;
    char *p = digits(buf, (uint64_t)y, 4);
    *p++ = '-';
    p = digits(p, m, 2);
    *p++ = '-';
    p = digits(p, d, 2);
    *p++ = ' ';
    p = digits(p, (uint64_t)rem / 3600, 2);
    *p++ = ':';
    p = digits(p, (uint64_t)rem / 60 % 60, 2);
    *p++ = ':';
    p = digits(p, (uint64_t)rem % 60, 2);
    *p++ = '.';
    p = digits(p, (uint64_t)usec, 6);
    *p = '\0';
    return true;
}

const char *tl_report_utc(int64_t ts_us, char *buf, size_t size)
{
    int64_t sec = ts_us / TL_USEC_PER_SEC, usec = ts_us % TL_USEC_PER_SEC;
    if (usec < 0) {
        usec += TL_USEC_PER_SEC;
        sec--;
    }
    if (utc_fast(sec, usec, buf, size))
        return buf;
    time_t t = (time_t)sec;
    struct tm tm;
    char day[32];
    if (gmtime_r(&t, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(day, sizeof day, "@%" PRId64, sec);
    snprintf(buf, size, "%s.%06d", day, (int)usec);
    return buf;
}

void tl_report_endpoints(const struct tl_conn *c, char *cl, char *sv, size_t size)
{
    const struct tl_addr *a;
    uint16_t port;
    tl_conn_endpoint(c, TL_ROLE_CLIENT, &a, &port);
    tl_report_endpoint(a, port, cl, size);
    tl_conn_endpoint(c, TL_ROLE_SERVER, &a, &port);
    tl_report_endpoint(a, port, sv, size);
}

const char *tl_report_endpoint(const struct tl_addr *a, uint16_t port, char *buf, size_t size)
{
    char ip[TL_ADDR_STRLEN];
    tl_addr_str(a, ip, sizeof ip);
    bool v6 = a->family == TL_AF_INET6;
    size_t n = strlen(ip);
    /* "[ip]:port" or "ip:port" by hand: once or twice per connection. */
    if (size < n + 9) {
        snprintf(buf, size, v6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)port);
        return buf;
    }
    char *p = buf;
    if (v6)
        *p++ = '[';
    memcpy(p, ip, n);
    p += n;
    if (v6)
        *p++ = ']';
    *p++ = ':';
    char d[5];
    int k = 0;
    unsigned v = port;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (k > 0)
        *p++ = d[--k];
    *p = '\0';
    return buf;
}

enum tl_status tl_report_copy_spool(FILE *spool, FILE *out, const char *indent, const char *sep)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool first = true, ok = true;
    while (ok && (n = getline(&line, &cap, spool)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        ok = fprintf(out, "%s%s%s", first ? "" : sep, indent, line) >= 0;
        first = false;
    }
    free(line);
    /* getline() also stops short of memory, with neither EOF nor an error
     * on the stream: that is not the end of the spool. */
    if (ok && !feof(spool) && !ferror(spool))
        return TL_ENOMEM;
    if (ok && !first && sep[0] != '\0')
        ok = fputc('\n', out) != EOF;
    return ok && !ferror(spool) ? TL_OK : TL_EIO;
}
