/* HTML report: the escaping in markup and in the JSON blocks, and a page
 * written through the reporter core, with hostile strings in the input
 * name, the filter and an anomaly's text, read back and parsed. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report_html_int.h"
#include "tap.h"
#include "tcplens/report.h"

#define HOSTILE_NAME "\"><img src=x onerror=alert(1)>.pcap"
#define HOSTILE_TEXT "</script><script>alert(1)</script> & <!-- \xe2\x80\xa8 \xe2\x80\xa9 '\""

/* s escaped by tl_html_escape(), as a malloc'd string. */
static char *escaped(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL || !tl_html_escape(f, s) || fclose(f) != 0)
        abort();
    return buf;
}

static void check_escape(struct tap *t, const char *in, const char *want, const char *name)
{
    char *got = escaped(in);
    is_str(t, got, want, name);
    free(got);
}

static void test_escape(struct tap *t)
{
    check_escape(t, "", "", "empty string");
    check_escape(t, "plain 10.0.0.1:80", "plain 10.0.0.1:80", "plain text unchanged");
    check_escape(t, "a<b>&\"'", "a&lt;b&gt;&amp;&quot;&#39;", "the five markup characters");
    check_escape(t, HOSTILE_NAME, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.pcap",
                 "an attribute break-out and a tag");
    check_escape(t, "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x90\xa7",
                 "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x90\xa7", "valid UTF-8 passes through");
    check_escape(t, "x\xffy", "x&#xFFFD;y", "an invalid byte becomes U+FFFD");
    check_escape(t, "\xc0\xaf", "&#xFFFD;&#xFFFD;", "an overlong form is not '/'");
    check_escape(t, "\xed\xa0\x80", "&#xFFFD;&#xFFFD;&#xFFFD;", "a UTF-16 surrogate is refused");
    check_escape(t, "end\xe2\x82", "end&#xFFFD;&#xFFFD;", "a sequence cut at the end");
    check_escape(t, "\xf4\x90\x80\x80", "&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;", "beyond U+10FFFF");
    check_escape(t,
                 "a\x01"
                 "b\x7f"
                 "c\td\ne",
                 "a&#xFFFD;b&#xFFFD;c\td\ne", "control characters but tab and newline");
}

static void test_script_json(struct tap *t)
{
    json_t *arr = json_pack("[s]", HOSTILE_TEXT);
    char *in = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (in == NULL)
        abort();
    size_t len = 0;
    char *s = tl_html_script_json(in, strlen(in), &len);
    free(in);
    ok(t, s != NULL && len == strlen(s), "script JSON: length");
    ok(t, s != NULL && strpbrk(s, "<>&") == NULL, "script JSON: no < > &");
    ok(t, s != NULL && strstr(s, "\xe2\x80\xa8") == NULL && strstr(s, "\xe2\x80\xa9") == NULL,
       "script JSON: no U+2028, U+2029");
    ok(t, s != NULL && strstr(s, "\\u003c/script\\u003e") != NULL,
       "script JSON: </script> escaped");
    json_t *v = s != NULL ? json_loads(s, 0, NULL) : NULL;
    is_str(t, json_string_value(json_array_get(v, 0)), HOSTILE_TEXT,
           "script JSON reads back as the same string");
    json_decref(v);
    free(s);
}

/* A connection: SYN, SYN-ACK, folded data, RST; one anomaly at the RST. */
/* conn last: struct tl_conn ends in a flexible array (room for the engine). */
struct fixture {
    struct tl_tcpstate tcp;
    struct tl_event ev[5];
    struct tl_sum sum[1];
    struct tl_timeline tl;
    struct tl_anomaly an;
    struct tl_anomaly_list al;
    struct tl_conn conn;
};

static void make_fixture(struct fixture *f, uint64_t id)
{
    memset(f, 0, sizeof *f);
    struct tl_conn *c = &f->conn;
    c->id = id;
    c->key.a.family = c->key.b.family = TL_AF_INET;
    memcpy(c->key.a.b, "\x0a\x00\x00\x01", 4);
    memcpy(c->key.b.b, "\x0a\x00\x00\x02", 4);
    c->key.pa = (uint16_t)(40000 + id);
    c->key.pb = 80;
    c->client_is_a = true;
    c->first_ts = 1700000000 * TL_USEC_PER_SEC + 250000;
    c->last_ts = c->first_ts + 1500000;
    c->packets[0] = 5;
    c->packets[1] = 4;
    c->bytes[1] = 2000;
    c->end = TL_END_RST;
    tl_tcpstate_init(&f->tcp);
    f->tcp.ep[0].state = TL_EP_CLOSED;
    f->tcp.ep[1].state = TL_EP_CLOSED;
    int64_t t0 = c->first_ts;
    f->ev[0] = (struct tl_event){.ts = t0,
                                 .pkt = 1,
                                 .dir = TL_TL_C2S,
                                 .flags = TL_TH_SYN,
                                 .kind = TL_K_SYN,
                                 .client = TL_EP_SYN_SENT,
                                 .server = TL_EP_LISTEN};
    f->ev[1] = (struct tl_event){.ts = t0 + 11,
                                 .pkt = 2,
                                 .dir = TL_TL_S2C,
                                 .ack = 1,
                                 .flags = TL_TH_SYN | TL_TH_ACK,
                                 .kind = TL_K_SYNACK,
                                 .client = TL_EP_SYN_SENT,
                                 .server = TL_EP_SYN_RECV};
    f->ev[2] = (struct tl_event){.ts = t0 + 20,
                                 .pkt = 3,
                                 .dir = TL_TL_NONE,
                                 .kind = TL_TL_SUMMARY,
                                 .client = TL_EP_ESTABLISHED,
                                 .server = TL_EP_ESTABLISHED};
    f->sum[0] = (struct tl_sum){.packets = {3, 2},
                                .bytes = {0, 2000},
                                .last_ts = t0 + 900000,
                                .last_pkt = 7};
    f->ev[3] = (struct tl_event){.ts = t0 + 1500000,
                                 .pkt = 9,
                                 .dir = TL_TL_S2C,
                                 .seq = 2001,
                                 .ack = 1,
                                 .flags = TL_TH_RST | TL_TH_ACK,
                                 .kind = TL_K_RST,
                                 .client = TL_EP_CLOSED,
                                 .server = TL_EP_CLOSED};
    f->ev[4] = (struct tl_event){.ts = t0 + 1500001,
                                 .dir = TL_TL_NONE,
                                 .kind = TL_K_TIME_WAIT_END,
                                 .client = TL_EP_CLOSED,
                                 .server = TL_EP_CLOSED};
    f->ev[3].via[1][0] = TL_EP_CLOSE_WAIT;
    f->tl =
        (struct tl_timeline){.ev = f->ev, .n = 5, .cap = 5, .sum = f->sum, .nsum = 1, .sumcap = 1};
    f->an.type = TL_AN_RST_INSTEAD_OF_FIN;
    f->an.severity = TL_SEV_WARNING;
    f->an.endpoint = TL_AEP_SERVER;
    f->an.ts = c->last_ts;
    f->an.npkts = 1;
    f->an.pkts[0] = 9;
    /* The renderer puts state_before into the explanation. */
    f->an.nfields = 2;
    f->an.fields[0] = (struct tl_evfield){.key = "sent_by", .kind = TL_EVK_STR, .v.s = "server"};
    f->an.fields[1] = (struct tl_evfield){.key = "state_before",
                                          .kind = TL_EVK_STR,
                                          .v.s = HOSTILE_TEXT};
    f->al = (struct tl_anomaly_list){.a = &f->an, .n = 1, .cap = 1};
}

/* The whole page for connections 2 then 1 (ending out of order). */
static char *write_page(void)
{
    FILE *out = tmpfile();
    struct tl_report_cfg cfg = {.format = TL_REPORT_HTML, .out = out, .reorder = true};
    struct tl_report *r = tl_report_new(&cfg);
    if (out == NULL || r == NULL)
        abort();
    static struct fixture fx[2];
    for (int i = 0; i < 2; i++) {
        make_fixture(&fx[i], (uint64_t)(2 - i));
        struct tl_conn_view v = {&fx[i].conn, &fx[i].tcp, NULL, &fx[i].tl,
                                 &fx[i].al,   NULL,       NULL, 0};
        if (tl_report_conn(r, &v) != TL_OK)
            abort();
    }
    struct tl_input_info in = {.name = HOSTILE_NAME,
                               .linktype = 1,
                               .linktype_name = "EN10MB",
                               .packets = 18};
    struct tl_capture_info cap = {.first_ts = fx[1].conn.first_ts,
                                  .last_ts = fx[0].conn.last_ts,
                                  .packets = 18,
                                  .tcp_packets = 18,
                                  .connections = 2};
    struct tl_run run = {.inputs = &in,
                         .ninputs = 1,
                         .capture = &cap,
                         .filter = "tcp and len < 9999 and \"<i>\""};
    if (tl_report_finish(r, &run) != TL_OK)
        abort();
    tl_report_free(r);
    long n = ftell(out);
    char *doc = malloc((size_t)n + 1);
    rewind(out);
    if (doc == NULL || fread(doc, 1, (size_t)n, out) != (size_t)n)
        abort();
    doc[n] = '\0';
    fclose(out);
    return doc;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

/* The text of <script ... id="ID"> as a malloc'd string, or NULL. */
static char *block(const char *doc, const char *id)
{
    char open[64];
    snprintf(open, sizeof open, "id=\"%s\">", id);
    const char *b = strstr(doc, open), *e = b ? strstr(b, "</script>") : NULL;
    if (e == NULL)
        return NULL;
    b += strlen(open);
    return strndup(b, (size_t)(e - b));
}

static void test_records(struct tap *t, const char *data)
{
    json_t *recs = json_loads(data, 0, NULL);
    is_int(t, json_array_size(recs), 2, "records: one per connection");
    json_t *c = json_array_get(recs, 0);
    is_int(t, json_integer_value(json_array_get(c, 0)), 1, "records: first-seen order");
    is_str(t, json_string_value(json_array_get(c, 1)), "10.0.0.1", "records: client address");
    is_int(t, json_integer_value(json_array_get(c, 2)), 40001, "records: client port");
    is_int(t, json_integer_value(json_array_get(c, 7)), 1700000000250000LL,
           "records: first_ts in µs");
    is_int(t, json_integer_value(json_array_get(c, 13)), TL_END_RST, "records: end");
    is_int(t, json_integer_value(json_array_get(c, 18)), TL_SEV_WARNING, "records: worst severity");
    json_t *an = json_array_get(json_array_get(c, 20), 0), *tl = json_array_get(c, 21);
    const char *why = json_string_value(json_array_get(an, 6));
    ok(t, why != NULL && strstr(why, "while " HOSTILE_TEXT ", without a FIN") != NULL,
       "records: an explanation reads back unchanged");
    is_str(t, json_string_value(json_object_get(json_array_get(an, 5), "sent_by")), "server",
           "records: evidence");
    is_int(t, json_array_size(tl), 5, "records: every timeline entry");
    json_t *syn = json_array_get(tl, 0), *sum = json_array_get(tl, 2), *rst = json_array_get(tl, 3);
    is_str(t, json_string_value(json_array_get(syn, 4)), "S", "records: flags");
    is_int(t, json_integer_value(json_array_get(syn, 3)), TL_TL_C2S, "records: direction");
    is_int(t, json_integer_value(json_array_get(sum, 0)), TL_TL_SUMMARY, "records: a summary");
    is_int(t, json_integer_value(json_array_get(sum, 4)), 7, "records: summary's last packet");
    is_int(t, json_integer_value(json_array_get(rst, 1)), 1500000, "records: times from first_ts");
    is_int(t, json_integer_value(json_array_get(json_array_get(json_array_get(rst, 11), 1), 0)),
           TL_EP_CLOSE_WAIT, "records: states passed through");
    is_int(t, json_integer_value(json_array_get(json_array_get(tl, 4), 3)), TL_TL_NONE,
           "records: an entry without a packet");
    json_decref(recs);
}

static void test_page(struct tap *t)
{
    char *doc = write_page();
    ok(t, strncmp(doc, "<!DOCTYPE html>\n", 16) == 0, "page: an HTML5 document");
    ok(t,
       strstr(doc, "http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';") != NULL,
       "page: a Content-Security-Policy that allows nothing from outside");
    ok(t,
       strstr(doc, "<img") == NULL && strstr(doc, "<i>") == NULL && strstr(doc, "<b>first") == NULL,
       "page: no markup from the data");
    ok(t,
       strstr(doc, "<title>tcplens: &quot;&gt;&lt;img src=x onerror=alert(1)&gt;.pcap</title>") !=
           NULL,
       "page: the input name escaped in the title");
    ok(t, strstr(doc, "len &lt; 9999 and &quot;&lt;i&gt;&quot;") != NULL,
       "page: the filter escaped");
    is_int(t, count(doc, "<script"), 3, "page: three script elements");
    is_int(t, count(doc, "</script>"), 3, "page: each closed once (the data cannot close one)");
    is_int(t, count(doc, "<style>"), 1, "page: one inline style sheet");
    ok(t, strstr(tl_html_js, "</") == NULL && strstr(tl_html_css, "</") == NULL,
       "page: the script and the style cannot end their element early");
    ok(t,
       strstr(doc, "<link") == NULL && strstr(doc, "<script src") == NULL &&
           strstr(doc, "url(") == NULL && strstr(doc, "@import") == NULL,
       "page: nothing loaded");
    char *meta = block(doc, "tl-meta"), *data = block(doc, "tl-data");
    ok(t, data != NULL && strpbrk(data, "<>&") == NULL, "page: data block without < > &");
    json_t *m = meta ? json_loads(meta, 0, NULL) : NULL;
    is_int(t, json_array_size(json_object_get(m, "states")), TL_EP_NSTATES, "meta: state names");
    is_str(t, json_string_value(json_array_get(json_object_get(m, "events"), TL_TL_SUMMARY)),
           "segments", "meta: the summary's event name");
    is_str(t, json_string_value(json_array_get(json_object_get(m, "anomalies"), TL_AN_REFUSED)),
           "refused", "meta: anomaly ids by type");
    is_int(t, json_integer_value(json_object_get(m, "connections")), 2, "meta: connections");
    json_decref(m);
    if (data != NULL)
        test_records(t, data);
    free(meta);
    free(data);
    free(doc);
}

int main(void)
{
    struct tap t = {0, 0};
    test_escape(&t);
    test_script_json(&t);
    test_page(&t);
    return tap_done(&t);
}
