/*
 * The streaming JSON writer, value by value (escaping, integers, reals,
 * fixed-point times, structure, growth), and the JSON reporter's
 * connection line held against the jansson object built for the same
 * connection: every line the writer writes must parse with jansson and
 * equal tl_report_conn_json()'s object, keys in the same order. That runs
 * on synthetic connections with extreme values and on every connection of
 * every capture under samples/ and tests/ (fuzz corpus files included), and
 * ../shared's real captures and Zeek conformance traces when they are there,
 * with the lifecycle and the full timeline.
 */
#include <dirent.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "feed_file.h"
#include "json_ref.h"
#include "json_writer.h"
#include "report_int.h"
#include "tap.h"
#include "tcplens/engine.h"

/* ---- helpers ---- */

static bool text_is(const struct tl_jw *w, const char *want)
{
    return !tl_jw_failed(w) && w->len == strlen(want) && memcmp(w->buf, want, w->len) == 0;
}

/* The writer's text as a string (the caller frees it). */
static char *text_of(const struct tl_jw *w)
{
    size_t len;
    char *s = tl_jw_dup(w, &len);
    if (s == NULL)
        abort();
    return s;
}

/* What jansson writes for v (compact, reals as the reporter dumps them). */
static char *jansson_text(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(16));
    json_decref(v);
    return s;
}

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: reproducible, no global state */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* ---- strings ---- */

static void test_strings(struct tap *t)
{
    static const char *const cases[] = {
        "",
        "plain",
        "quote \" backslash \\ slash / and \"\\\"",
        "\b\f\n\r\t",
        "del \x7f and space ",
        "utf-8: \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "edges \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf",
    };
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    bool all = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tl_jw_reset(&w);
        tl_jw_str(&w, cases[i]);
        char *want = jansson_text(json_string(cases[i]));
        if (!text_is(&w, want)) {
            all = false;
            printf("# case %zu: got %.*s want %s\n", i, (int)w.len, w.buf, want);
        }
        free(want);
    }
    ok(t, all, "strings: escaped byte for byte as jansson does");
    char ctl[32];
    for (int c = 1; c < 32; c++)
        ctl[c - 1] = (char)c;
    ctl[31] = '\0';
    tl_jw_reset(&w);
    tl_jw_str(&w, ctl);
    char *want = jansson_text(json_string(ctl));
    ok(t, text_is(&w, want), "every control character, as jansson (\\u001F upper case)");
    free(want);
    tl_jw_reset(&w);
    tl_jw_strn(&w, "a\0b", 3);
    ok(t, text_is(&w, "\"a\\u0000b\""), "NUL inside a counted string");
    tl_jw_reset(&w);
    tl_jw_str(&w, NULL);
    ok(t, text_is(&w, "null"), "a NULL string is null");
    tl_jw_reset(&w);
    tl_jw_obj_begin(&w);
    tl_jw_key(&w, "k\"\\\n");
    tl_jw_int(&w, 1);
    tl_jw_obj_end(&w);
    ok(t, text_is(&w, "{\"k\\\"\\\\\\n\":1}"), "keys are escaped too");
    tl_jw_free(&w);
}

/* Random strings from pieces that need every treatment, at every length
 * and offset (plain runs are copied eight bytes at a time). */
static void test_random_strings(struct tap *t)
{
    static const char *const pieces[] = {"a",
                                         "Zz09",
                                         "plain text, longer ",
                                         "\"",
                                         "\\",
                                         "/",
                                         "\n",
                                         "\x01",
                                         "\x1f",
                                         "\x7f",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         " "};
    uint64_t seed = 0x2545f4914f6cdd1du;
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    size_t bad = 0;
    for (int k = 0; k < 20000; k++) {
        char s[256];
        size_t n = 0, npieces = next_rand(&seed) % 24;
        for (size_t i = 0; i < npieces; i++) {
            const char *piece = pieces[next_rand(&seed) % (sizeof pieces / sizeof pieces[0])];
            size_t len = strlen(piece);
            memcpy(s + n, piece, len);
            n += len;
        }
        s[n] = '\0';
        tl_jw_reset(&w);
        tl_jw_str(&w, s);
        char *want = jansson_text(json_string(s));
        if (!text_is(&w, want) && bad++ < 3)
            printf("# got %.*s want %s\n", (int)w.len, w.buf, want);
        free(want);
    }
    is_int(t, bad, 0, "strings: 20000 random mixes, as jansson");
    tl_jw_free(&w);
}

/* Bytes that are not UTF-8: jansson refuses them, the writer puts U+FFFD
 * for each byte that is not part of a valid sequence. */
static void test_bad_utf8(struct tap *t)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a\xff"
         "b",
         "a\xef\xbf\xbd"
         "b"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"}, /* cut short */
        {"\x80 \xe2\x82\xac", "\xef\xbf\xbd \xe2\x82\xac"},
    };
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    bool all = true, refused = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tl_jw_reset(&w);
        tl_jw_str(&w, cases[i].in);
        json_t *got = json_loadb(w.buf, w.len, JSON_DECODE_ANY, NULL);
        all = all && got != NULL && strcmp(json_string_value(got), cases[i].want) == 0;
        json_decref(got);
        json_t *j = json_string(cases[i].in);
        refused = refused && j == NULL;
        json_decref(j);
    }
    ok(t, refused, "bad UTF-8: jansson refuses every case");
    ok(t, all, "bad UTF-8: the writer's text parses, with U+FFFD per bad byte");
    tl_jw_free(&w);
}

/* ---- numbers ---- */

static void test_integers(struct tap *t)
{
    static const int64_t ints[] = {0,          1,         -1,        9,
                                   10,         -10,       1000000,   INT32_MIN,
                                   UINT32_MAX, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    bool all = true;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        tl_jw_reset(&w);
        tl_jw_int(&w, ints[i]);
        char *want = jansson_text(json_integer(ints[i]));
        all = all && text_is(&w, want);
        free(want);
    }
    ok(t, all, "int64 down to INT64_MIN: as jansson");
    static const struct {
        uint64_t v;
        const char *want;
    } u[] = {{0, "0"},
             {UINT64_MAX, "18446744073709551615"},
             {(uint64_t)INT64_MAX + 1, "9223372036854775808"},
             {42, "42"}};
    all = true;
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        tl_jw_reset(&w);
        tl_jw_uint(&w, u[i].v);
        all = all && text_is(&w, u[i].want);
    }
    ok(t, all, "uint64 up to UINT64_MAX");
    tl_jw_reset(&w);
    tl_jw_arr_begin(&w);
    tl_jw_bool(&w, true);
    tl_jw_bool(&w, false);
    tl_jw_null(&w);
    tl_jw_arr_end(&w);
    ok(t, text_is(&w, "[true,false,null]"), "booleans and null");
    tl_jw_free(&w);
}

/* us as text, parsed back by jansson: the real (double)us / 1e6? */
static bool usec_reads_back(struct tl_jw *w, int64_t us)
{
    tl_jw_reset(w);
    tl_jw_usec(w, us);
    json_t *j = json_loadb(w->buf, w->len, JSON_DECODE_ANY, NULL);
    bool good = json_is_real(j) && json_real_value(j) == (double)us / 1e6;
    json_decref(j);
    return good;
}

static void test_usec(struct tap *t)
{
    static const struct {
        int64_t us;
        const char *want;
    } cases[] = {
        {0, "0.0"},
        {1, "0.000001"},
        {-1, "-0.000001"},
        {11, "0.000011"},
        {-11, "-0.000011"},
        {1000000, "1.0"},
        {1500000, "1.5"},
        {-1500000, "-1.5"},
        {100000, "0.1"},
        {1700000000123456, "1700000000.123456"},
        {1700000000500000, "1700000000.5"},
        {1700000000000000, "1700000000.0"},
        {INT64_C(1) << 53, "9007199254.740992"},
        {-(INT64_C(1) << 53), "-9007199254.740992"},
    };
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    bool text = true, back = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        back = back && usec_reads_back(&w, cases[i].us);
        text = text && text_is(&w, cases[i].want);
    }
    ok(t, text, "times: fixed-point seconds, trailing zeros trimmed, one kept");
    ok(t, back, "times: read back as (double)us / 1e6");
    static const int64_t far[] = {INT64_MAX, INT64_MIN, (INT64_C(1) << 53) + 1,
                                  -(INT64_C(1) << 53) - 1, INT64_MAX / 3};
    back = true;
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++)
        back = back && usec_reads_back(&w, far[i]);
    ok(t, back, "times beyond 2^53 us, down to INT64_MIN: still (double)us / 1e6");
    /* Many values at every magnitude: strtod of the text is the division. */
    uint64_t seed = 88172645463325252u;
    size_t bad = 0, n = 0;
    for (int bits = 1; bits <= 54; bits++)
        for (int k = 0; k < 4000; k++, n++) {
            int64_t us = (int64_t)(next_rand(&seed) >> (64 - bits));
            if (k & 1)
                us = -us;
            tl_jw_reset(&w);
            tl_jw_usec(&w, us);
            char *s = text_of(&w);
            if (strtod(s, NULL) != (double)us / 1e6 || strchr(s, '.') == NULL ||
                strchr(s, 'e') != NULL)
                bad++;
            free(s);
        }
    is_int(t, bad, 0, "times: 216000 random values read back exactly");
    tl_jw_free(&w);
}

/* A real reads back as itself (sign of zero too) and, when jansson's 16
 * digits do as well, is jansson's text. */
static bool real_ok(struct tl_jw *w, double v)
{
    tl_jw_reset(w);
    tl_jw_real(w, v);
    char *s = text_of(w);
    double back = strtod(s, NULL);
    bool good = back == v && signbit(back) == signbit(v) && strpbrk(s, ".e") != NULL;
    char *want = jansson_text(json_real(v));
    if (want != NULL && strtod(want, NULL) == v)
        good = good && strcmp(s, want) == 0;
    free(want);
    free(s);
    return good;
}

static void test_reals(struct tap *t)
{
    static const double vals[] = {0.0,
                                  -0.0,
                                  0.1,
                                  1.1e-5,
                                  100.0,
                                  1e300,
                                  -1e-300,
                                  5e-324,
                                  DBL_MAX,
                                  DBL_MIN,
                                  1.0 / 3,
                                  2.0 / 3,
                                  1e16,
                                  1e15,
                                  123456789012345678.0,
                                  0.30000000000000004,
                                  1700000000.5};
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    bool all = true;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        all = all && real_ok(&w, vals[i]);
    ok(t, all, "reals: exact, and jansson's text when that is exact");
    uint64_t seed = 0x9e3779b97f4a7c15u;
    size_t bad = 0;
    for (int k = 0; k < 100000; k++) {
        uint64_t bits = next_rand(&seed);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v) && !real_ok(&w, v))
            bad++;
    }
    is_int(t, bad, 0, "reals: 100000 random doubles");
    tl_jw_reset(&w);
    tl_jw_arr_begin(&w);
    tl_jw_real(&w, NAN);
    tl_jw_real(&w, -INFINITY);
    tl_jw_arr_end(&w);
    ok(t, text_is(&w, "[null,null]"), "NaN and infinity are null");
    tl_jw_free(&w);
}

/* ---- structure and buffer ---- */

static void test_structure(struct tap *t)
{
    char small[4];
    struct tl_jw w;
    tl_jw_init(&w, small, sizeof small);
    tl_jw_obj_begin(&w);
    tl_jw_key(&w, "a");
    tl_jw_arr_begin(&w);
    tl_jw_int(&w, 1);
    tl_jw_obj_begin(&w);
    tl_jw_obj_end(&w);
    tl_jw_arr_begin(&w);
    tl_jw_arr_end(&w);
    tl_jw_str(&w, "x");
    tl_jw_arr_end(&w);
    tl_jw_key(&w, "b");
    tl_jw_obj_begin(&w);
    tl_jw_key(&w, "c");
    tl_jw_null(&w);
    tl_jw_key(&w, "d");
    tl_jw_obj_begin(&w);
    tl_jw_obj_end(&w);
    tl_jw_obj_end(&w);
    tl_jw_obj_end(&w);
    ok(t, text_is(&w, "{\"a\":[1,{},[],\"x\"],\"b\":{\"c\":null,\"d\":{}}}"),
       "commas and colons where they belong (grown out of 4 bytes)");
    ok(t, w.owned && w.buf != small, "the text moved to the heap");
    tl_jw_reset(&w);
    json_t *arr = json_array();
    tl_jw_arr_begin(&w);
    for (int i = 0; i < 5000; i++) {
        tl_jw_int(&w, (int64_t)i * 7919 - 100000);
        json_array_append_new(arr, json_integer((json_int_t)i * 7919 - 100000));
    }
    tl_jw_arr_end(&w);
    char *want = jansson_text(arr);
    ok(t, text_is(&w, want), "a long array after reset, growing again");
    free(want);
    tl_jw_free(&w);
    tl_jw_init(&w, NULL, 0);
    w.failed = true; /* as after a failed allocation */
    tl_jw_str(&w, "ignored");
    size_t len = 0;
    char *s = tl_jw_dup(&w, &len);
    ok(t, s == NULL && w.len == 0, "a failed writer writes nothing and gives no text");
    free(s);
    tl_jw_free(&w);
}

/* ---- connections: the writer against the jansson object ---- */

/* NULL when text is one line that parses to an object equal to ref, keys
 * in the same order; otherwise why not. */
static const char *compare(const char *text, size_t len, json_t *ref)
{
    if (ref == NULL)
        return "the jansson path failed";
    if (text == NULL)
        return "the writer failed";
    if (strlen(text) != len)
        return "length does not match the text";
    if (memchr(text, '\n', len) != NULL || memchr(text, '\r', len) != NULL)
        return "raw newline in the line";
    json_t *got = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (got == NULL)
        return "does not parse";
    const char *why = NULL;
    if (!json_equal(got, ref)) {
        why = "not equal to the jansson object";
    } else {
        /* 17 digits print equal reals alike: the texts differ only in order. */
        size_t f = JSON_COMPACT | JSON_REAL_PRECISION(17);
        char *a = json_dumps(got, f), *b = json_dumps(ref, f);
        if (a == NULL || b == NULL || strcmp(a, b) != 0)
            why = "keys in another order";
        free(a);
        free(b);
    }
    json_decref(got);
    return why;
}

/* Both paths for one view; NULL when they agree. */
static const char *check_view(const struct tl_conn_view *v)
{
    size_t len = 0;
    char *text = tl_report_json_format_conn(v, NULL, &len);
    json_t *ref = tl_report_conn_json(v);
    const char *why = compare(text, len, ref);
    if (why != NULL)
        printf("# %s; writer: %s\n", why, text ? text : "(null)");
    free(text);
    json_decref(ref);
    return why;
}

struct synth {
    struct tl_conn *c;
    struct tl_tcpstate tcp;
    struct tl_zeek zeek;
    struct tl_anomaly an[2];
    struct tl_anomaly_list anl;
    struct tl_event ev[5];
    struct tl_sum sum[1];
    struct tl_timeline tl;
    struct tl_host_conn host;
    struct tl_conn_view v;
};

static void synth_anomalies(struct synth *s)
{
    static const double gaps[] = {1.0, 3.0, 0.1, 1e-7, -0.0, 1e300};
    struct tl_anomaly *a = &s->an[0];
    a->type = TL_AN_RST_INSTEAD_OF_FIN;
    a->severity = TL_SEV_WARNING;
    a->endpoint = TL_AEP_CLIENT;
    a->ts = -11;
    tl_anomaly_pkt(a, 1);
    tl_anomaly_pkt(a, UINT64_MAX);
    tl_anomaly_int(a, "min", INT64_MIN);
    tl_anomaly_int(a, "max", INT64_MAX);
    tl_anomaly_real(a, "third", 1.0 / 3);
    tl_anomaly_real(a, "tiny", 1.1e-5);
    tl_anomaly_bool(a, "yes", true);
    tl_anomaly_bool(a, "no", false);
    tl_anomaly_str(a, "odd \"key\"\\", "q\" b\\ c\x01\x1f t\t n\n \xc3\xa9\xe2\x82\xac /");
    tl_anomaly_series(a, "gaps", gaps, sizeof gaps / sizeof gaps[0]);
    /* Its renderer puts state_before into the explanation. */
    tl_anomaly_str(a, "state_before", "It said \"no\"\\\nthen\tstopped \xf0\x9f\x98\x80.");
    a = &s->an[1];
    a->type = TL_AN_TIME_WAIT;
    a->endpoint = TL_AEP_CONNECTION;
    a->ts = 0;
    s->anl = (struct tl_anomaly_list){.a = s->an, .n = 2, .cap = 2};
}

static void synth_timeline(struct synth *s)
{
    struct tl_event *e = s->ev;
    e[0] = (struct tl_event){.ts = 1,
                             .pkt = 1,
                             .seq = UINT32_MAX,
                             .ack = 0,
                             .len = UINT32_MAX,
                             .win = 65535,
                             .dir = TL_TL_C2S,
                             .flags = 0xff,
                             .kind = TL_K_SYN,
                             .client = TL_EP_SYN_SENT,
                             .server = TL_EP_LISTEN};
    e[1] = (struct tl_event){.ts = -1,
                             .pkt = UINT64_MAX,
                             .dir = TL_TL_S2C,
                             .kind = TL_K_FIN,
                             .client = TL_EP_LAST_ACK,
                             .server = TL_EP_FIN_WAIT_2,
                             .via = {{TL_EP_CLOSE_WAIT, TL_EP_ESTABLISHED}, {TL_EP_FIN_WAIT_1}}};
    e[2] = (struct tl_event){.ts = 0,
                             .dir = TL_TL_NONE,
                             .kind = TL_K_TIME_WAIT_END,
                             .client = TL_EP_CLOSED,
                             .via = {{0}, {TL_EP_TIME_WAIT}}};
    e[3] = (struct tl_event){.ts = INT64_MIN, .pkt = 7, .dir = TL_TL_C2S, .kind = TL_TL_SUMMARY};
    s->sum[0] = (struct tl_sum){.packets = {UINT32_MAX, 0},
                                .bytes = {UINT64_MAX, (uint64_t)INT64_MAX + 1},
                                .last_ts = INT64_MAX,
                                .last_pkt = 9};
    e[4] = (struct tl_event){.ts = 1700000000999999,
                             .dir = TL_TL_NONE,
                             .kind = 200,
                             .client = 250,
                             .server = TL_EP_CLOSED};
    s->tl = (struct tl_timeline){
        .ev = e, .n = 5, .cap = 5, .sum = s->sum, .nsum = 1, .sumcap = 1, .dropped = UINT64_MAX};
}

/* A connection with every optional part and extreme values. */
static void synth_init(struct synth *s, bool v6)
{
    memset(s, 0, sizeof *s);
    s->c = calloc(1, sizeof *s->c);
    if (s->c == NULL)
        abort();
    struct tl_conn *c = s->c;
    c->id = UINT64_MAX;
    c->key.a.family = c->key.b.family = v6 ? TL_AF_INET6 : TL_AF_INET;
    c->key.a.b[0] = 10;
    c->key.a.b[15] = 1;
    c->key.b.b[0] = 0xfe;
    c->key.pa = 65535;
    c->key.pb = 0;
    c->key.vlan = v6 ? 4095 : 0;
    c->client_is_a = !v6;
    c->roles_from = 1;
    c->end = 3;
    c->first_ts = 1700000000000001;
    c->last_ts = c->first_ts;
    c->packets[0] = UINT64_MAX;
    c->packets[1] = (uint64_t)INT64_MAX + 1;
    c->bytes[1] = 1;
    s->tcp.ep[TL_ROLE_CLIENT].state = TL_EP_TIME_WAIT;
    s->tcp.ep[TL_ROLE_SERVER].state = 77; /* out of range: "UNKNOWN" */
    tl_zeek_init(&s->zeek);
    snprintf(s->zeek.history, sizeof s->zeek.history, "%s", "ShA\"\\d\x02\xc3\xa9");
    synth_anomalies(s);
    synth_timeline(s);
    /* Every host fact, at the ends of their ranges. */
    s->host = (struct tl_host_conn){.syn_seen = true,
                                    .hs_ack = true,
                                    .outcome = 77, /* out of range: "answered" */
                                    .syns_lost = 3,
                                    .synack_after_ack = UINT32_MAX,
                                    .hs_ack_ts = -1,
                                    .accepted_ts = INT64_MAX - 1,
                                    .syn_ts = INT64_MIN + 1,
                                    .client_time_wait_ts = 1};
    s->v = (struct tl_conn_view){c, &s->tcp, &s->zeek, &s->tl, &s->anl, NULL, &s->host, UINT64_MAX};
}

/* ---- pretty mode (the document's head) ---- */

/* A random value of at most depth levels, written to w and built as the
 * jansson value it must print as. Keys are unique within an object, as
 * jansson's objects need them. */
static json_t *random_value(struct tl_jw *w, uint64_t *seed, int depth)
{
    static const char *const strs[] = {"", "plain", "tab\tquote\"", "caf\xc3\xa9", " end "};
    unsigned kind = (unsigned)(next_rand(seed) % (depth > 0 ? 8 : 5));
    switch (kind) {
    case 0: {
        int64_t v = (int64_t)(next_rand(seed) % 2000001) - 1000000;
        tl_jw_int(w, v);
        return json_integer((json_int_t)v);
    }
    case 1: {
        double v = (double)(int64_t)(next_rand(seed) % 20000001) / 1000.0;
        tl_jw_real(w, v);
        return json_real(v);
    }
    case 2: {
        const char *v = strs[next_rand(seed) % 5];
        tl_jw_str(w, v);
        return json_string(v);
    }
    case 3: {
        bool v = next_rand(seed) & 1;
        tl_jw_bool(w, v);
        return json_boolean(v);
    }
    case 4: tl_jw_null(w); return json_null();
    case 5:
    case 6: {
        json_t *o = json_object();
        unsigned n = (unsigned)(next_rand(seed) % 5);
        tl_jw_obj_begin(w);
        for (unsigned i = 0; i < n; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%u", i);
            tl_jw_key(w, key);
            json_object_set_new(o, key, random_value(w, seed, depth - 1));
        }
        tl_jw_obj_end(w);
        return o;
    }
    default: {
        json_t *a = json_array();
        unsigned n = (unsigned)(next_rand(seed) % 5);
        tl_jw_arr_begin(w);
        for (unsigned i = 0; i < n; i++)
            json_array_append_new(a, random_value(w, seed, depth - 1));
        tl_jw_arr_end(w);
        return a;
    }
    }
}

static void test_pretty(struct tap *t)
{
    uint64_t seed = 0x9e3779b97f4a7c15u;
    int same = 0, rounds = 2000;
    for (int i = 0; i < rounds; i++) {
        struct tl_jw w;
        tl_jw_init(&w, NULL, 0);
        tl_jw_pretty(&w, 2);
        json_t *v = random_value(&w, &seed, 4);
        char *want = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER |
                                       JSON_REAL_PRECISION(16));
        json_decref(v);
        char *got = text_of(&w);
        if (want != NULL && strcmp(got, want) == 0)
            same++;
        else if (same == i)
            printf("# first difference:\n# got  %s\n# want %s\n", got, want);
        free(want);
        free(got);
        tl_jw_free(&w);
    }
    is_int(t, same, rounds, "pretty mode writes what JSON_INDENT(2) dumps, on random values");
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    tl_jw_pretty(&w, 2);
    tl_jw_obj_begin(&w);
    tl_jw_key(&w, "a");
    tl_jw_arr_begin(&w);
    ok(t, tl_jw_depth(&w) == 2, "the depth counts the structures open");
    tl_jw_arr_end(&w);
    tl_jw_key(&w, "b");
    tl_jw_obj_begin(&w);
    tl_jw_obj_end(&w);
    tl_jw_obj_end(&w);
    ok(t, text_is(&w, "{\n  \"a\": [],\n  \"b\": {}\n}") && tl_jw_depth(&w) == 0,
       "empty structures stay on their key's line");
    tl_jw_free(&w);
}

static void test_synthetic(struct tap *t)
{
    struct synth s;
    synth_init(&s, false);
    ok(t, check_view(&s.v) == NULL, "synthetic connection, every part, extreme values");
    s.c->first_ts = 5;
    s.c->last_ts = -6; /* a negative duration: -0.000011 */
    ok(t, check_view(&s.v) == NULL, "negative times and duration");
    s.c->first_ts = s.c->last_ts = 0;
    s.an[0].nseries = 0;
    s.tl.dropped = 0;
    ok(t, check_view(&s.v) == NULL, "zero times, empty series, nothing dropped");
    free(s.c);
    synth_init(&s, true);
    ok(t, check_view(&s.v) == NULL, "IPv6 with a VLAN");
    s.v.tcp = NULL;
    s.v.zeek = NULL;
    s.v.timeline = NULL;
    s.v.anomalies = NULL;
    ok(t, check_view(&s.v) == NULL, "no optional part");
    free(s.c);
}

/* The comparison can fail: a changed value, another key order, a raw
 * newline and a line that does not parse are each caught. */
static void test_compare_fails(struct tap *t)
{
    struct synth s;
    synth_init(&s, false);
    size_t len = 0;
    char *text = tl_report_json_format_conn(&s.v, NULL, &len);
    json_t *ref = tl_report_conn_json(&s.v);
    ok(t, compare(text, len, ref) == NULL, "self-check: the pair agrees");
    json_t *changed = json_deep_copy(ref);
    double d = json_real_value(json_object_get(ref, "duration"));
    uint64_t bits;
    memcpy(&bits, &d, sizeof d);
    bits++; /* the next double up: one bit off */
    memcpy(&d, &bits, sizeof d);
    json_object_set_new(changed, "duration", json_real(d));
    ok(t, compare(text, len, changed) != NULL, "self-check: a duration one bit off is caught");
    json_decref(changed);
    changed = json_deep_copy(ref);
    json_object_set_new(changed, "id", json_integer(1));
    ok(t, compare(text, len, changed) != NULL, "self-check: a changed id is caught");
    json_decref(changed);
    json_t *reordered = json_object();
    json_object_set(reordered, "client", json_object_get(ref, "client"));
    const char *key;
    json_t *val;
    json_object_foreach(ref, key, val) json_object_set(reordered, key, val);
    ok(t, json_equal(reordered, ref) && compare(text, len, reordered) != NULL,
       "self-check: another key order is caught");
    json_decref(reordered);
    char *nl = strdup(text);
    nl[1] = '\n'; /* just after '{': still JSON, now two lines */
    ok(t, nl[0] == '{' && compare(nl, len, ref) != NULL, "self-check: a raw newline is caught");
    nl[1] = '{';
    ok(t, compare(nl, len, ref) != NULL, "self-check: text that does not parse is caught");
    free(nl);
    free(text);
    json_decref(ref);
    free(s.c);
}

/* ---- real captures ---- */

/* The reporter's format hook, swapped in: each connection's "line" is the
 * verdict of the comparison, which the report writes out in id order. */
static char *verdict_conn(const struct tl_conn_view *v, const struct tl_report_cfg *cfg,
                          size_t *len)
{
    (void)cfg;
    const char *why = check_view(v);
    char buf[160];
    int n = snprintf(buf, sizeof buf, "%s %llu%s%s", why ? "bad" : "good",
                     (unsigned long long)v->conn->id, why ? ": " : "", why ? why : "");
    char *s = strdup(buf);
    if (s != NULL)
        *len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    return s;
}

static enum tl_status verdict_doc(const struct tl_report *r, const struct tl_run *run, FILE *spool)
{
    (void)r;
    (void)run;
    (void)spool;
    return TL_OK;
}

static const struct report_ops verdict_ops = {verdict_conn, verdict_doc, NULL};

struct mode {
    const char *name;
    struct tl_timeline_cfg tl;
};

/* Runs one capture through the engine; counts connections and mismatches. */
static bool run_capture(const char *path, const struct mode *m, FILE *out)
{
    struct tl_report_cfg rc = {.format = TL_REPORT_NDJSON, .out = out, .reorder = true};
    struct tl_report *r = tl_report_new(&rc);
    if (r == NULL)
        return false;
    r->ops = &verdict_ops;
    bool good = tl_test_feed_file(path, r, &m->tl, NULL);
    tl_report_free(r);
    return good;
}

static void check_capture(struct tap *t, const char *path, const struct mode *m, uint64_t *total)
{
    FILE *out = tmpfile();
    if (out == NULL)
        abort();
    bool ran = run_capture(path, m, out);
    rewind(out);
    char line[256];
    uint64_t n = 0, bad = 0;
    while (fgets(line, sizeof line, out) != NULL) {
        n++;
        if (strncmp(line, "good ", 5) != 0 && bad++ < 3)
            printf("# %s", line);
    }
    fclose(out);
    *total += n;
    char name[600];
    snprintf(name, sizeof name, "%s (%s): %llu connections, writer = jansson", path, m->name,
             (unsigned long long)n);
    ok(t, ran && bad == 0, name);
}

struct paths {
    char **p;
    size_t n, cap;
};

static bool is_capture(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".pcap") == 0) ||
           (n > 7 && strcmp(name + n - 7, ".pcapng") == 0);
}

/* Every capture file under dir, depth first, in name order: by its name,
 * or any file in a fuzz corpus of whole captures (named by their hash). */
static void find_captures(const char *dir, struct paths *out)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return; /* no such directory: nothing there */
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        char path[1024];
        struct stat st;
        if (nm[0] != '.' && (size_t)snprintf(path, sizeof path, "%s/%s", dir, nm) < sizeof path &&
            stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                find_captures(path, out);
            } else if (S_ISREG(st.st_mode) &&
                       (is_capture(nm) || strstr(dir, "fuzz/corpus/pipeline") != NULL)) {
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
    free(names);
}

static void test_captures(struct tap *t)
{
    static const struct mode modes[] = {
        {"lifecycle", {false, TL_DEFAULT_TIMELINE_MAX}},
        {"full", {true, TL_DEFAULT_TIMELINE_MAX}},
        {"full, 3 events at most", {true, 3}},
    };
    const char *srcdir = getenv("SRCDIR") ? getenv("SRCDIR") : ".";
    const char *corpus = getenv("TL_CONFORMANCE");
    char dir[1024];
    struct paths ps = {NULL, 0, 0};
    snprintf(dir, sizeof dir, "%s/samples", srcdir);
    find_captures(dir, &ps);
    snprintf(dir, sizeof dir, "%s/tests", srcdir);
    find_captures(dir, &ps);
    size_t ours = ps.n;
    /* Real captures from other projects' suites, where the tree has them. */
    snprintf(dir, sizeof dir, "%s/../shared/real-captures", srcdir);
    find_captures(dir, &ps);
    /* The Zeek conformance traces, where the source tree has them. */
    if (corpus != NULL)
        snprintf(dir, sizeof dir, "%s/zeek/traces", corpus);
    else
        snprintf(dir, sizeof dir, "%s/../shared/conformance/zeek/traces", srcdir);
    find_captures(dir, &ps);
    printf("# %zu captures in the tree, %zu real captures and conformance traces\n", ours,
           ps.n - ours);
    ok(t, ours >= 10, "captures found under samples/ and tests/ (SRCDIR)");
    uint64_t total = 0;
    for (size_t i = 0; i < ps.n; i++) {
        for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++)
            check_capture(t, ps.p[i], &modes[k], &total);
        free(ps.p[i]);
    }
    free(ps.p);
    printf("# %llu connections compared\n", (unsigned long long)total);
    ok(t, total > 0, "connections were compared");
}

int main(void)
{
    struct tap t = {0, 0};
    test_strings(&t);
    test_random_strings(&t);
    test_bad_utf8(&t);
    test_integers(&t);
    test_usec(&t);
    test_reals(&t);
    test_structure(&t);
    test_pretty(&t);
    test_synthetic(&t);
    test_compare_fails(&t);
    test_captures(&t);
    return tap_done(&t);
}
