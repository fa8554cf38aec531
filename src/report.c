/*
 * Reporter core: what every format shares. A reporter tallies every
 * connection and formats those it lists (tl_report_take) when they end;
 * the ordering stage (order.h) hands the texts back in first-seen order
 * (tl_report_put). A document's connections go to a temporary spool file,
 * because its summary comes before them and is only known at the end.
 */
#include "tcplens/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report_int.h"
#include "tcplens/order.h"

#define BIG_BUFFER ((size_t)1024 * 1024)

/* A stream read as it is written (a pipe, a socket, a terminal) gets what
 * the ordering stage released at most this long after it, in writes no
 * more often than that: `tcplens big.pcap --ndjson | head -1` ends with
 * the first connection, and a pipe into gzip still gets big writes. */
#define STREAM_FLUSH_NS ((int64_t)10 * 1000 * 1000)

char *tl_report_big_buffer(FILE *f)
{
    char *b = malloc(BIG_BUFFER);
    if (b != NULL)
        setvbuf(f, b, _IOFBF, BIG_BUFFER);
    return b;
}

/* Whether out is a pipe, a socket or a terminal: someone reads it now. */
static bool read_as_written(const struct tl_report_cfg *cfg)
{
    int fd = cfg->out_fd > 0 ? cfg->out_fd : cfg->out != NULL ? fileno(cfg->out) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return false;
    return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(fd);
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

struct tl_report *tl_report_new(const struct tl_report_cfg *cfg)
{
    struct tl_report *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->cfg = *cfg;
    if (r->cfg.wait_budget == 0)
        r->cfg.wait_budget = TL_REPORT_WAIT_BUDGET;
    r->ops = cfg->format == TL_REPORT_TEXT    ? &tl_report_text_ops
             : cfg->format == TL_REPORT_LINES ? &tl_report_lines_ops
             : cfg->format == TL_REPORT_HTML  ? &tl_report_html_ops
             : cfg->format == TL_REPORT_JSON  ? &tl_report_json_ops
                                              : &tl_report_ndjson_ops;
    /* Streams need no document around their lines: they go straight out. */
    if (cfg->format != TL_REPORT_NDJSON && cfg->format != TL_REPORT_LINES) {
        r->spool = tmpfile();
        if (r->spool == NULL) {
            int err = errno; /* tmpfile()'s, for the caller's message */
            free(r);
            errno = err;
            return NULL;
        }
        /* The JSON and HTML documents write their spool once and read it
         * back once, front to back. Not the text report's, which seeks to
         * each detail block: a refill after a seek reads a whole buffer. */
        if (cfg->format == TL_REPORT_JSON || cfg->format == TL_REPORT_HTML)
            r->spool_buf = tl_report_big_buffer(r->spool);
    } else {
        r->read_live = read_as_written(cfg);
    }
    return r;
}

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
    r->unflushed = r->spool == NULL && r->cfg.reorder;
    return TL_OK;
}

/* The first line at once, then at most one write every STREAM_FLUSH_NS:
 * a write(2) per line cost more than formatting it. Lines still waiting
 * go with the next batch, or at the end. */
enum tl_status tl_report_released(struct tl_report *r)
{
    if (!r->unflushed || !r->read_live)
        return TL_OK;
    int64_t now = now_ns();
    if (r->flushed_ns != 0 && now - r->flushed_ns < STREAM_FLUSH_NS)
        return TL_OK;
    r->flushed_ns = now;
    r->unflushed = false;
    return fflush(r->cfg.out) == 0 ? TL_OK : TL_EIO;
}

bool tl_report_reorders(const struct tl_report *r) { return r->cfg.reorder; }

size_t tl_report_wait_budget(const struct tl_report *r) { return r->cfg.wait_budget; }

/* Writes one listed connection, counting it when a newer one went first. */
enum tl_status tl_report_put(struct tl_report *r, uint64_t id, const char *text, size_t len)
{
    if (r->cfg.reorder && id < r->top_written)
        r->out_of_order++;
    else if (id > r->top_written)
        r->top_written = id;
    return emit(r, text, len);
}

/* Whether id is in one of the sorted, disjoint ranges. */
static bool in_ranges(const struct tl_id_range *rg, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (id < rg[mid].first)
            hi = mid;
        else if (id > rg[mid].last)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* --anomalies-only: info-level entries such as time_wait do not count. */
bool tl_report_lists(const struct tl_report *r, const struct tl_conn_view *v)
{
    if (r->cfg.nonly != 0 && !in_ranges(r->cfg.only, r->cfg.nonly, v->conn->id))
        return false;
    if (!r->cfg.anomalies_only)
        return true;
    return v->anomalies != NULL && tl_anomaly_worst(v->anomalies) >= TL_SEV_WARNING;
}

enum tl_status tl_report_take(struct tl_report *r, const struct tl_conn_view *v, char **text,
                              size_t *len)
{
    *text = NULL;
    *len = 0;
    if (!tl_report_lists(r, v))
        return TL_OK;
    r->listed++;
    if (r->ops->take != NULL)
        return r->ops->take(r, v, text, len);
    *text = r->ops->format_conn(v, &r->cfg, len);
    return *text != NULL ? TL_OK : TL_ENOMEM;
}

enum tl_status tl_report_put_formatted(struct tl_report *r, const struct tl_conn_view *v,
                                       const char *text, size_t len)
{
    if (!tl_report_lists(r, v))
        return TL_OK;
    r->listed++;
    return tl_report_put(r, v->conn->id, text, len);
}

/* A reporter used on its own gets an ordering stage of its own. */
static struct tl_order *own_order(struct tl_report *r)
{
    if (r->own == NULL)
        r->own = tl_order_new(&r, 1);
    return r->own;
}

void tl_report_oldest_held(struct tl_report *r, uint64_t oldest)
{
    if (own_order(r) != NULL)
        tl_order_oldest_held(r->own, oldest);
}

enum tl_status tl_report_conn(struct tl_report *r, const struct tl_conn_view *v)
{
    return own_order(r) != NULL ? tl_order_conn(r->own, v) : TL_ENOMEM;
}

enum tl_status tl_report_finish(struct tl_report *r, const struct tl_run *run)
{
    enum tl_status st = r->own != NULL ? tl_order_flush(r->own) : TL_OK;
    if (st != TL_OK)
        return st;
    if (r->spool != NULL) {
        if (fflush(r->spool) != 0)
            return TL_EIO;
        rewind(r->spool);
    }
    /* The tallies of the stage that fed it; a reporter used on its own
     * has its own stage's, to which the host anomalies are added here. */
    struct report_summary none = {0};
    tl_report_summary_init(&none);
    const struct report_summary *sum = run->summary;
    if (sum == NULL && r->own != NULL) {
        tl_order_tally_hosts(r->own, run->host_anomalies);
        sum = tl_order_summary(r->own);
    }
    r->sum = sum != NULL ? sum : &none;
    /* A host table that could not grow would rank wrongly: say so. */
    for (int k = 0; k < TL_HOSTS_NTALLIES; k++)
        if (r->sum->hosts[k].failed)
            st = TL_ENOMEM;
    if (r->sum->groups.failed || tl_report_summary_services_failed(r->sum))
        st = TL_ENOMEM;
    if (st == TL_OK)
        st = r->ops->write_doc(r, run, r->spool);
    r->sum = NULL;
    if (st == TL_OK && fflush(r->cfg.out) != 0)
        st = TL_EIO;
    return st;
}

void tl_report_free(struct tl_report *r)
{
    if (r == NULL)
        return;
    tl_order_free(r->own);
    if (r->spool != NULL)
        fclose(r->spool);
    free(r->spool_buf);
    free(r->top);
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

const char *tl_report_tunnel_name(uint8_t type)
{
    static const char *const names[TL_TUN_NTYPES] = {
        [TL_TUN_NONE] = "",     [TL_TUN_VXLAN] = "vxlan",   [TL_TUN_GENEVE] = "geneve",
        [TL_TUN_GRE] = "gre",   [TL_TUN_ERSPAN] = "erspan", [TL_TUN_IPIP] = "ipip",
        [TL_TUN_GTPU] = "gtpu", [TL_TUN_TEREDO] = "teredo", [TL_TUN_L2TP] = "l2tp",
    };
    return type < TL_TUN_NTYPES && names[type] != NULL ? names[type] : "";
}

const char *tl_report_end_source(uint8_t end_source)
{
    static const char *const words[TL_CEND_N] = {"last packet", "pcapng statistics",
                                                 "live capture's clock", "--capture-end"};
    return end_source < TL_CEND_N ? words[end_source] : words[0];
}

const char *tl_report_follow_words(const struct tl_capture_info *cap, char *buf, size_t size)
{
    char t[40];
    int n = snprintf(buf, size, "%zu file%s, %" PRIu64 " packet%s", cap->nfollow,
                     cap->nfollow == 1 ? "" : "s", cap->follow_packets,
                     cap->follow_packets == 1 ? "" : "s");
    if (n >= 0 && (size_t)n < size && cap->follow_packets > 0)
        n += snprintf(buf + n, size - (size_t)n, " to %s UTC",
                      tl_report_utc(cap->follow_last_ts, t, sizeof t));
    if (n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, ", %s",
                 cap->follow_complete ? "read to their end" : "stopped: no connection held");
    return buf;
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
