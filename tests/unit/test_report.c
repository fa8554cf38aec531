/* Reporters: first-seen order whatever the end order, with and without the
 * overflow file, the cap on what waits for an older connection, and the
 * JSON document's shape (parsed back with jansson). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_int.h" /* the order window's cap, counters and heap */
#include "tap.h"
#include "tcplens/order.h"
#include "tcplens/report.h"

static struct tl_conn *make_conn(uint64_t id)
{
    struct tl_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->id = id;
    c->key.a.family = c->key.b.family = TL_AF_INET;
    c->key.a.b[0] = 10;
    c->key.a.b[3] = 1;
    c->key.b.b[0] = 10;
    c->key.b.b[3] = 2;
    c->key.pa = (uint16_t)(40000 + id);
    c->key.pb = 80;
    c->client_is_a = true;
    c->first_ts = 1700000000 * TL_USEC_PER_SEC + (int64_t)id;
    c->last_ts = c->first_ts + 1500000;
    c->packets[0] = id;
    c->end = TL_END_FIN;
    return c;
}

/* Feeds ids in the given order to an NDJSON report with the given
 * budget; returns its output, rewound. Each connection carries something
 * of its own (its bytes) besides its id. */
static FILE *feed_ndjson(const uint64_t *order, size_t n, size_t budget)
{
    FILE *out = tmpfile();
    struct tl_report_cfg cfg = {.format = TL_REPORT_NDJSON,
                                .out = out,
                                .reorder = true,
                                .wait_budget = budget};
    struct tl_report *r = tl_report_new(&cfg);
    if (r == NULL || out == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        struct tl_conn *c = make_conn(order[i]);
        c->bytes[0] = order[i] * 7919;
        if (tl_report_conn(r, &(struct tl_conn_view){.conn = c}) != TL_OK)
            abort();
        free(c);
    }
    struct tl_capture_info cap = {0};
    struct tl_run run = {.capture = &cap};
    if (tl_report_finish(r, &run) != TL_OK)
        abort();
    tl_report_free(r);
    rewind(out);
    return out;
}

/* The ids in the order feed_ndjson() wrote them. */
static size_t run_order(const uint64_t *order, size_t n, size_t budget, uint64_t *seen)
{
    FILE *out = feed_ndjson(order, n, budget);
    size_t k = 0;
    char line[2048];
    while (k < n && fgets(line, sizeof line, out) != NULL) {
        json_t *o = json_loads(line, 0, NULL);
        seen[k++] = o ? (uint64_t)json_integer_value(json_object_get(o, "id")) : 0;
        json_decref(o);
    }
    fclose(out);
    return k;
}

static void test_order(struct tap *t, size_t budget, const char *what)
{
    /* Connection 1 lives longest: everything else ends before it. */
    uint64_t order[50], seen[50];
    for (size_t i = 0; i < 49; i++)
        order[i] = 50 - i; /* 50, 49, …, 2 */
    order[49] = 1;
    size_t k = run_order(order, 50, budget, seen);
    is_int(t, k, 50, what);
    bool sorted = true;
    for (size_t i = 0; i < k; i++)
        sorted = sorted && seen[i] == i + 1;
    ok(t, sorted, "written in first-seen order");
}

/* Everything feed_ndjson() writes for n connections, the oldest last
 * (malloc'd, *len bytes). */
static char *run_reverse(uint64_t n, size_t budget, size_t *len)
{
    uint64_t *order = malloc(n * sizeof *order);
    if (order == NULL)
        abort();
    for (uint64_t i = 0; i < n; i++)
        order[i] = n - i;
    FILE *out = feed_ndjson(order, n, budget);
    free(order);
    if (fseek(out, 0, SEEK_END) != 0)
        abort();
    long size = ftell(out);
    rewind(out);
    char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (buf == NULL || fread(buf, 1, (size_t)size, out) != (size_t)size)
        abort();
    fclose(out);
    *len = (size_t)size;
    return buf;
}

/* More waiting text than the overflow file's write buffer holds: blocks
 * come back from the file, from the buffer, and across the write-outs in
 * between, byte for byte what the in-memory run writes. */
static void test_overflow_bytes(struct tap *t)
{
    size_t mem_len, file_len;
    char *mem = run_reverse(6000, 0, &mem_len);
    char *file = run_reverse(6000, 1, &file_len);
    ok(t, mem_len > 2 * 1024 * 1024, "more than two write buffers of text wait");
    ok(t, mem_len == file_len && memcmp(mem, file, mem_len) == 0,
       "overflow file: every byte as written from memory");
    free(mem);
    free(file);
}

static void test_document(struct tap *t)
{
    FILE *out = tmpfile();
    struct tl_report_cfg cfg = {.format = TL_REPORT_JSON, .out = out, .reorder = true};
    struct tl_report *r = tl_report_new(&cfg);
    struct tl_conn *c2 = make_conn(2), *c1 = make_conn(1);
    c1->end = TL_END_RST;
    ok(t,
       r != NULL && tl_report_conn(r, &(struct tl_conn_view){.conn = c2}) == TL_OK &&
           tl_report_conn(r, &(struct tl_conn_view){.conn = c1}) == TL_OK,
       "document: connections taken");
    struct tl_input_info in = {.name = "x.pcap",
                               .linktype = 1,
                               .linktype_name = "EN10MB",
                               .packets = 7};
    struct tl_capture_info cap = {.first_ts = 1700000000 * TL_USEC_PER_SEC + 250000,
                                  .last_ts = 1700000001 * TL_USEC_PER_SEC,
                                  .packets = 7,
                                  .tcp_packets = 6};
    cap.skipped[TL_DEC_NOT_IP] = 1;
    struct tl_run run = {.inputs = &in, .ninputs = 1, .capture = &cap};
    ok(t, tl_report_finish(r, &run) == TL_OK, "document: written");
    tl_report_free(r);
    rewind(out);
    json_error_t err;
    json_t *doc = json_loadf(out, 0, &err);
    fclose(out);
    ok(t, doc != NULL, "document parses as JSON");
    is_str(t, json_string_value(json_object_get(doc, "tool")), "tcplens", "tool");
    is_int(t, json_integer_value(json_object_get(doc, "schema_version")), 1, "schema_version");
    json_t *conns = json_object_get(doc, "connections");
    is_int(t, json_array_size(conns), 2, "two connections");
    is_int(t, json_integer_value(json_object_get(json_array_get(conns, 0), "id")), 1,
           "first-seen order in the document");
    is_str(t, json_string_value(json_object_get(json_array_get(conns, 0), "end")), "rst",
           "end of connection 1");
    json_t *capj = json_object_get(doc, "capture");
    is_int(t, json_integer_value(json_object_get(json_object_get(capj, "skipped"), "non_tcp")), 1,
           "skipped.non_tcp");
    ok(t, json_real_value(json_object_get(capj, "first_ts")) == 1700000000.25,
       "first_ts in epoch seconds");
    json_t *s = json_object_get(doc, "summary");
    is_int(t, json_integer_value(json_object_get(s, "connections")), 2, "summary.connections");
    json_t *c0 = json_array_get(conns, 1);
    is_str(t, json_string_value(json_object_get(json_object_get(c0, "client"), "ip")), "10.0.0.1",
           "client ip");
    ok(t, json_real_value(json_object_get(c0, "duration")) == 1.5, "duration");
    json_decref(doc);
    free(c1);
    free(c2);
}

/* The id of an NDJSON connection line, 0 for any other line. */
static uint64_t line_id(const char *line)
{
    static const char pre[] = "{\"record\":\"connection\",\"id\":";
    return strncmp(line, pre, sizeof pre - 1) == 0 ? strtoull(line + sizeof pre - 1, NULL, 10) : 0;
}

/* Connection 1 stays open while more than TL_ORDER_WAIT_MAX newer ones
 * end: they are written without it, in order, and it comes last, counted. */
static void test_window_cap(struct tap *t)
{
    FILE *out = tmpfile();
    struct tl_report_cfg cfg = {.format = TL_REPORT_NDJSON, .out = out, .reorder = true};
    struct tl_report *r = tl_report_new(&cfg);
    struct tl_order *o = r != NULL ? tl_order_new(&r, 1) : NULL;
    if (o == NULL || out == NULL)
        abort();
    uint64_t last = TL_ORDER_WAIT_MAX + 10;
    size_t most = 0;
    for (uint64_t id = 2; id <= last; id++) {
        struct tl_conn *c = make_conn(id);
        tl_order_oldest_held(o, 1);
        if (tl_order_conn(o, &(struct tl_conn_view){.conn = c}) != TL_OK)
            abort();
        most = tl_order_waiting(o) > most ? tl_order_waiting(o) : most;
        free(c);
    }
    ok(t, most <= TL_ORDER_WAIT_MAX && most > 1000,
       "window: no more than TL_ORDER_WAIT_MAX wait (and they did wait)");
    struct tl_conn *c1 = make_conn(1);
    tl_order_oldest_held(o, last + 1);
    struct tl_capture_info cap = {0};
    struct tl_run run = {.capture = &cap};
    ok(t,
       tl_order_conn(o, &(struct tl_conn_view){.conn = c1}) == TL_OK &&
           tl_order_flush(o) == TL_OK && tl_report_finish(r, &run) == TL_OK,
       "window: all taken and written");
    tl_order_free(o);
    is_int(t, (long long)r->out_of_order, 1, "window: the late one is counted");
    tl_report_free(r);
    free(c1);
    rewind(out);
    uint64_t want = 2, lines = 0;
    bool in_order = true;
    char line[2048];
    while (fgets(line, sizeof line, out) != NULL) {
        static const char summary[] = "{\"record\":\"summary\",";
        if (strncmp(line, summary, sizeof summary - 1) == 0)
            continue; /* the last line, after tl_report_finish() */
        uint64_t id = line_id(line);
        in_order = in_order && id == want;
        want = want == last ? 1 : want + 1;
        lines++;
    }
    fclose(out);
    ok(t, in_order && lines == last, "window: 2 to the last in order, then 1");
}

/* Once the engine says every older connection has come, one a report does
 * not list (--anomalies-only) takes no place in its order. */
static void test_unlisted(struct tap *t)
{
    FILE *out = tmpfile();
    struct tl_report_cfg cfg = {.format = TL_REPORT_NDJSON,
                                .out = out,
                                .reorder = true,
                                .anomalies_only = true};
    struct tl_report *r = tl_report_new(&cfg);
    struct tl_order *o = r != NULL ? tl_order_new(&r, 1) : NULL;
    if (o == NULL || out == NULL)
        abort();
    bool taken = true;
    for (uint64_t id = 2; id <= 1000; id++) {
        struct tl_conn *c = make_conn(id);
        tl_order_oldest_held(o, 1);
        taken = taken && tl_order_conn(o, &(struct tl_conn_view){.conn = c}) == TL_OK;
        free(c);
    }
    ok(t, taken, "unlisted: taken");
    is_int(t, (long long)tl_order_waiting(o), 0, "unlisted: none waits for connection 1");
    tl_order_free(o);
    tl_report_free(r);
    fclose(out);
}

/* Reads the ids of an NDJSON stream, in the order written. */
static size_t read_ids(FILE *f, uint64_t *ids, size_t max)
{
    char line[2048];
    size_t n = 0;
    rewind(f);
    while (n < max && fgets(line, sizeof line, f) != NULL)
        ids[n++] = line_id(line);
    return n;
}

/* One stage in front of a reporter that reorders and one that streams as
 * connections end (live): the first gets 1, 2, 3 in order, the second as
 * they came, and the texts waited in one place. */
static void test_shared_stage(struct tap *t)
{
    FILE *doc = tmpfile(), *live = tmpfile();
    struct tl_report_cfg a = {.format = TL_REPORT_NDJSON, .out = doc, .reorder = true};
    struct tl_report_cfg b = {.format = TL_REPORT_NDJSON, .out = live, .reorder = false};
    struct tl_report *rs[2] = {tl_report_new(&a), tl_report_new(&b)};
    struct tl_order *o = rs[0] && rs[1] ? tl_order_new(rs, 2) : NULL;
    if (o == NULL || doc == NULL || live == NULL)
        abort();
    static const uint64_t arrive[] = {3, 2, 1};
    size_t waited = 0;
    for (size_t i = 0; i < 3; i++) {
        struct tl_conn *c = make_conn(arrive[i]);
        if (tl_order_conn(o, &(struct tl_conn_view){.conn = c}) != TL_OK)
            abort();
        waited = tl_order_waiting(o) > waited ? tl_order_waiting(o) : waited;
        free(c);
    }
    ok(t, tl_order_flush(o) == TL_OK, "shared: flushed");
    fflush(doc);
    fflush(live);
    uint64_t ids[8];
    size_t n = read_ids(doc, ids, 8);
    ok(t, n == 3 && ids[0] == 1 && ids[1] == 2 && ids[2] == 3, "shared: the document's in order");
    n = read_ids(live, ids, 8);
    ok(t, n == 3 && ids[0] == 3 && ids[1] == 2 && ids[2] == 1, "shared: the stream's as they came");
    is_int(t, (long long)waited, 2, "shared: 3 and 2 waited for 1, once for both reporters");
    tl_order_free(o);
    tl_report_free(rs[0]);
    tl_report_free(rs[1]);
    fclose(doc);
    fclose(live);
}

/* What libc says of ts_us: gmtime_r and strftime. */
static void utc_libc(int64_t ts_us, char *buf, size_t size)
{
    int64_t sec = ts_us / TL_USEC_PER_SEC, usec = ts_us % TL_USEC_PER_SEC;
    if (usec < 0) {
        usec += TL_USEC_PER_SEC;
        sec--;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    char day[32];
    if (gmtime_r(&tt, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(day, sizeof day, "@%" PRId64, sec);
    snprintf(buf, size, "%s.%06d", day, (int)usec);
}

/* tl_report_utc's own calendar against libc's, from year 0 to 9999 and
 * beyond (where it defers to libc): edges, then a million pseudo-random
 * times. */
static void test_utc(struct tap *t)
{
    static const int64_t edges[] = {0,
                                    -1,
                                    1,
                                    86399999999,
                                    -86400000000,
                                    951782400000000 /* 2000-02-29 */,
                                    4107542400000000 /* 2100-03-01 */,
                                    -62167219200000000 /* 0000-01-01 */,
                                    -62167219200000001,
                                    253402300799999999 /* 9999-12-31 23:59:59.999999 */,
                                    253402300800000000,
                                    1795263359231769,
                                    -2208988800000000 /* 1900 */,
                                    -11644473600000000 /* 1601 */,
                                    INT64_C(2303999999999999999) /* ~73,000 years */,
                                    -INT64_C(2303999999999999999)};
    uint64_t x = 88172645463325252u;
    int64_t lo = -62167219200000000 - 86400000000, span = 253402300800000000 - lo + 86400000000;
    int bad = 0;
    char a[64], b[64];
    for (size_t i = 0; i < sizeof edges / sizeof edges[0] + 1000000; i++) {
        int64_t ts;
        if (i < sizeof edges / sizeof edges[0]) {
            ts = edges[i];
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ts = lo + (int64_t)(x % (uint64_t)span);
        }
        tl_report_utc(ts, a, sizeof a);
        utc_libc(ts, b, sizeof b);
        if (strcmp(a, b) != 0 && bad++ < 5)
            printf("# %" PRId64 ": %s, libc %s\n", ts, a, b);
    }
    ok(t, bad == 0, "UTC dates and times as libc writes them, years 0 to 9999 and beyond");
}

/* tl_addr_str's own IPv4 against inet_ntop: every value of each octet,
 * then pseudo-random addresses. */
static void test_addr(struct tap *t)
{
    uint64_t x = 0x2545f4914f6cdd1dULL;
    int bad = 0;
    for (uint32_t i = 0; i < 300000; i++) {
        struct tl_addr a = {.family = TL_AF_INET};
        uint32_t v;
        if (i < 1024) {
            v = (i % 256) << (8 * (i / 256));
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            v = (uint32_t)x;
        }
        memcpy(a.b, &v, 4);
        char mine[TL_ADDR_STRLEN], libc[INET_ADDRSTRLEN];
        tl_addr_str(&a, mine, sizeof mine);
        inet_ntop(AF_INET, a.b, libc, sizeof libc);
        if (strcmp(mine, libc) != 0 && bad++ < 5)
            printf("# %s, inet_ntop %s\n", mine, libc);
    }
    ok(t, bad == 0, "IPv4 addresses written as inet_ntop writes them");

    /* IPv6: every pattern of zero and non-zero words (the "::" rules),
     * each word 0, 1, 0xffff or random, IPv4-mapped and -compatible forms
     * among them, then random addresses. */
    bad = 0;
    for (uint32_t i = 0; i < 400000; i++) {
        struct tl_addr a = {.family = TL_AF_INET6};
        for (int k = 0; k < 8; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            unsigned wv;
            if (i < 256 * 8) {
                unsigned pick = (i >> k) & 1u ? (unsigned)(x % 4) : 0;
                wv = pick == 0   ? 0
                     : pick == 1 ? 1
                     : pick == 2 ? 0xffff
                                 : (unsigned)(x >> 16) & 0xffff;
                if (((i >> k) & 1u) == 0)
                    wv = 0;
            } else {
                wv = (unsigned)(x >> 20) & 0xffff;
                if ((x >> 40) % 3 == 0)
                    wv = 0;
                if ((x >> 44) % 7 == 0)
                    wv &= 0x00ff;
            }
            a.b[2 * k] = (uint8_t)(wv >> 8);
            a.b[2 * k + 1] = (uint8_t)wv;
        }
        if (i % 1000 == 1) { /* ::ffff:a.b.c.d and ::a.b.c.d */
            memset(a.b, 0, 12);
            if (i % 2000 == 1)
                a.b[10] = a.b[11] = 0xff;
        }
        char mine[TL_ADDR_STRLEN], libc[INET6_ADDRSTRLEN];
        tl_addr_str(&a, mine, sizeof mine);
        inet_ntop(AF_INET6, a.b, libc, sizeof libc);
        if (strcmp(mine, libc) != 0 && bad++ < 5)
            printf("# %s, inet_ntop %s\n", mine, libc);
    }
    ok(t, bad == 0, "IPv6 addresses written as inet_ntop writes them");
}

int main(void)
{
    struct tap t = {0, 0};
    test_order(&t, 0, "in memory: all 50 written");
    test_order(&t, 600, "overflow file: all 50 written");
    test_order(&t, 1, "everything overflows: all 50 written");
    test_overflow_bytes(&t);
    test_document(&t);
    test_window_cap(&t);
    test_unlisted(&t);
    test_shared_stage(&t);
    test_utc(&t);
    test_addr(&t);
    return tap_done(&t);
}
