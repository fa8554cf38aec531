/*
 * The connection-level detectors (src/anomaly_*.c), each driven by a short
 * segment script through the whole engine, as a capture would show it:
 * one line per segment, at a time in milliseconds. Every scenario checks
 * the anomaly's id, its endpoint and its key evidence, as the JSON report
 * gives them; never its explanation, whose words may change.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"
#include "tap.h"
#include "tcplens/engine.h"

enum { C2S, S2C };

#define S TL_TH_SYN
#define A TL_TH_ACK
#define F TL_TH_FIN
#define R TL_TH_RST
#define P TL_TH_PSH

static double absd(double x) { return x < 0 ? -x : x; }

/* One scenario: the engine and its report, and what the report said. */
struct run {
    struct tap *t;
    const char *name;
    struct rig rig;  /* 10.0.0.1:cport <-> 10.0.0.2:80 */
    json_t *conns;   /* after finish(): the connections, first-seen order */
    char label[200]; /* the current test point's name */
};

static void start(struct run *g, struct tap *t, const char *name)
{
    memset(g, 0, sizeof *g);
    g->t = t;
    g->name = name;
    struct tl_report_cfg rc = {.format = TL_REPORT_NDJSON, .reorder = true};
    struct tl_engine_cfg ec = {.idle_timeout_us = TL_DEFAULT_IDLE_TIMEOUT_US,
                               .linger_us = TL_DEFAULT_LINGER_US,
                               .timeline = {.max_events = TL_DEFAULT_TIMELINE_MAX},
                               .detect = {.close_wait_us = TL_DEFAULT_CLOSE_WAIT_US,
                                          .fin_timeout_us = TL_DEFAULT_FIN_TIMEOUT_US}};
    rig_start(&g->rig, &rc, &ec);
}

/* One segment ms milliseconds into the capture, with window win. */
static void seg(struct run *g, double ms, int dir, uint8_t flags, uint32_t seq, uint32_t ack,
                size_t len, uint16_t win)
{
    int64_t ts = 1700000000 * TL_USEC_PER_SEC + (int64_t)(ms * 1000.0 + 0.5);
    rig_feed(&g->rig, ts, dir, flags, seq, ack, len, win);
}

/* Ends the capture and reads the report back. */
static void finish(struct run *g)
{
    struct tl_capture_info cap;
    rig_finish(&g->rig, &cap, NULL);
    g->conns = rig_read(&g->rig);
}

static void done(struct run *g) { json_decref(g->conns); }

/* "<scenario>: <what>" for a test point's name. */
static const char *name(struct run *g, const char *what)
{
    snprintf(g->label, sizeof g->label, "%s: %s", g->name, what);
    return g->label;
}

static json_t *anomalies(const struct run *g, size_t conn)
{
    return json_object_get(json_array_get(g->conns, conn), "anomalies");
}

static size_t count(const struct run *g, size_t conn, const char *type)
{
    json_t *an = anomalies(g, conn);
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(an); i++) {
        const char *ty = json_string_value(json_object_get(json_array_get(an, i), "type"));
        n += ty != NULL && strcmp(ty, type) == 0;
    }
    return n;
}

/* The anomaly of type on connection conn (the first on endpoint ep when
 * ep is not NULL); checks there is exactly one such. */
static json_t *only(struct run *g, size_t conn, const char *type, const char *ep)
{
    json_t *an = anomalies(g, conn), *found = NULL;
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(an); i++) {
        json_t *a = json_array_get(an, i);
        const char *ty = json_string_value(json_object_get(a, "type"));
        const char *e = json_string_value(json_object_get(a, "endpoint"));
        if (ty == NULL || strcmp(ty, type) != 0 || (ep != NULL && strcmp(e, ep) != 0))
            continue;
        if (n++ == 0)
            found = a;
    }
    char what[120];
    snprintf(what, sizeof what, "one %s%s%s", type, ep ? " on the " : "", ep ? ep : "");
    is_int(g->t, n, 1, name(g, what));
    return found;
}

static void endpoint_is(struct run *g, json_t *a, const char *want)
{
    is_str(g->t, json_string_value(json_object_get(a, "endpoint")), want, name(g, "endpoint"));
}

static void severity_is(struct run *g, json_t *a, const char *want)
{
    is_str(g->t, json_string_value(json_object_get(a, "severity")), want, name(g, "severity"));
}

static json_t *evidence(json_t *a, const char *key)
{
    return json_object_get(json_object_get(a, "evidence"), key);
}

/* Evidence checks: the value must be there, of its type, and equal. */
static void ev_int(struct run *g, json_t *a, const char *key, long long want)
{
    json_t *v = evidence(a, key);
    long long got = json_is_integer(v) ? json_integer_value(v) : -999999;
    is_int(g->t, got, want, name(g, key));
}

static void ev_bool(struct run *g, json_t *a, const char *key, bool want)
{
    json_t *v = evidence(a, key);
    int got = json_is_boolean(v) ? json_is_true(v) : -1;
    is_int(g->t, got, want, name(g, key));
}

static void ev_str(struct run *g, json_t *a, const char *key, const char *want)
{
    is_str(g->t, json_string_value(evidence(a, key)), want, name(g, key));
}

/* Reals to a microsecond (they are times in seconds, or ratios). */
static void ev_real(struct run *g, json_t *a, const char *key, double want)
{
    json_t *v = evidence(a, key);
    bool good = json_is_real(v) && absd(json_real_value(v) - want) < 1e-6;
    ok(g->t, good, name(g, key));
    if (!good)
        printf("#   got: %s %.6f\n#   expected: %.6f\n", json_is_real(v) ? "" : "(not a real)",
               json_is_real(v) ? json_real_value(v) : 0.0, want);
}

/* The packets an anomaly points at, as "1,2,3". */
static void packets_are(struct run *g, json_t *a, const char *want)
{
    char got[200] = "";
    size_t used = 0;
    json_t *pk = json_object_get(a, "packets");
    for (size_t i = 0; i < json_array_size(pk) && used < sizeof got; i++)
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%lld", i ? "," : "",
                                 (long long)json_integer_value(json_array_get(pk, i)));
    is_str(g->t, got, want, name(g, "packets"));
}

static void none(struct run *g, size_t conn, const char *type)
{
    char what[120];
    snprintf(what, sizeof what, "no %s", type);
    is_int(g->t, count(g, conn, type), 0, name(g, what));
}

/* Handshake and 100 bytes each way from ms on: client ISN 1000, server
 * ISN 5000; the client's next byte is 1101, the server's 5101. Packets 1-5. */
static void open_exchange(struct run *g, double ms)
{
    seg(g, ms, C2S, S, 1000, 0, 0, 64240);
    seg(g, ms + 1, S2C, S | A, 5000, 1001, 0, 65160);
    seg(g, ms + 2, C2S, A, 1001, 5001, 0, 502);
    seg(g, ms + 3, C2S, A | P, 1001, 5001, 100, 502);
    seg(g, ms + 4, S2C, A | P, 5001, 1101, 100, 509);
}

/* RST answering the SYN: nothing listens. */
static void test_refused(struct tap *t)
{
    struct run g;
    start(&g, t, "refused");
    seg(&g, 0, C2S, S, 1000, 0, 0, 64240);
    seg(&g, 2.5, S2C, R | A, 0, 1001, 0, 0);
    finish(&g);
    json_t *a = only(&g, 0, "refused", NULL);
    endpoint_is(&g, a, "server");
    packets_are(&g, a, "1,2");
    ev_int(&g, a, "syns", 1);
    ev_int(&g, a, "tries", 1);
    ev_real(&g, a, "rst_delay", 0.0025);
    none(&g, 0, "rst_instead_of_fin");
    done(&g);
}

/* Two SYNs lost, the third answered: Linux's doubling from 1 s. */
static void test_syn_backoff(struct tap *t)
{
    struct run g;
    start(&g, t, "syn_backoff");
    seg(&g, 0, C2S, S, 1000, 0, 0, 64240);
    seg(&g, 1000, C2S, S, 1000, 0, 0, 64240);
    seg(&g, 3000, C2S, S, 1000, 0, 0, 64240);
    seg(&g, 3010, S2C, S | A, 5000, 1001, 0, 65160);
    seg(&g, 3011, C2S, A, 1001, 5001, 0, 502);
    finish(&g);
    json_t *a = only(&g, 0, "syn_backoff", NULL);
    endpoint_is(&g, a, "client");
    packets_are(&g, a, "1,2,3,4");
    ev_int(&g, a, "syns", 3);
    json_t *gaps = evidence(a, "gaps");
    ok(t,
       json_array_size(gaps) == 2 && absd(json_real_value(json_array_get(gaps, 0)) - 1.0) < 1e-6 &&
           absd(json_real_value(json_array_get(gaps, 1)) - 2.0) < 1e-6,
       "syn_backoff: gaps 1 s, 2 s");
    ev_str(&g, a, "pattern", "exponential");
    ev_bool(&g, a, "answered", true);
    ev_bool(&g, a, "gave_up", false);
    ev_real(&g, a, "wait", 3.010);
    done(&g);
}

/* The client resets an established connection the server just wrote on. */
static void test_rst_instead_of_fin(struct tap *t)
{
    struct run g;
    start(&g, t, "rst_instead_of_fin");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, R | A, 1101, 5101, 0, 0);
    finish(&g);
    json_t *a = only(&g, 0, "rst_instead_of_fin", NULL);
    endpoint_is(&g, a, "client");
    packets_are(&g, a, "5,6");
    ev_str(&g, a, "sent_by", "client");
    ev_str(&g, a, "state_before", "ESTABLISHED");
    ev_str(&g, a, "peer_state_before", "ESTABLISHED");
    ev_bool(&g, a, "unread_data_likely", true);
    none(&g, 0, "rst_after_close");
    done(&g);
}

/* The client closed; the server writes on and meets the client's RST. */
static void test_rst_after_close(struct tap *t)
{
    struct run g;
    start(&g, t, "rst_after_close");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, F | A, 1101, 5101, 0, 502);   /* 6 */
    seg(&g, 11, S2C, A, 5101, 1102, 0, 509);       /* 7 */
    seg(&g, 500, S2C, A | P, 5101, 1102, 50, 509); /* 8: into a closed socket */
    seg(&g, 500.5, C2S, R, 1102, 0, 0, 0);         /* 9 */
    finish(&g);
    json_t *a = only(&g, 0, "rst_after_close", NULL);
    endpoint_is(&g, a, "client");
    packets_are(&g, a, "6,8,9");
    ev_str(&g, a, "sent_by", "client");
    ev_str(&g, a, "state_before", "FIN_WAIT_2");
    ev_str(&g, a, "writer", "server");
    ev_int(&g, a, "data_packet", 8);
    ev_real(&g, a, "seconds_since_fin", 0.4905);
    none(&g, 0, "rst_instead_of_fin");
    none(&g, 0, "half_close");
    done(&g);
}

/* The server's FIN from LAST_ACK is never acknowledged: it retries. */
static void test_missing_final_ack(struct tap *t)
{
    struct run g;
    start(&g, t, "missing_final_ack");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, F | A, 1101, 5101, 0, 502);  /* 6 */
    seg(&g, 11, S2C, A, 5101, 1102, 0, 509);      /* 7 */
    seg(&g, 12, S2C, F | A, 5101, 1102, 0, 509);  /* 8 */
    seg(&g, 220, S2C, F | A, 5101, 1102, 0, 509); /* 9 */
    seg(&g, 650, S2C, F | A, 5101, 1102, 0, 509); /* 10 */
    finish(&g);
    json_t *a = only(&g, 0, "missing_final_ack", NULL);
    endpoint_is(&g, a, "server");
    packets_are(&g, a, "8,9,10");
    ev_int(&g, a, "fins", 3);
    ev_int(&g, a, "fin_retransmits", 2);
    ev_bool(&g, a, "final_ack_seen", false);
    ev_real(&g, a, "seconds_in_last_ack", 0.638); /* to the capture's end */
    ev_str(&g, a, "ack_expected_from", "client");
    ev_str(&g, a, "state", "LAST_ACK");
    done(&g);
}

/* The server takes the client's FIN in and closes only 10 s later. */
static void test_close_wait_stuck(struct tap *t)
{
    struct run g;
    start(&g, t, "close_wait_stuck");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, F | A, 1101, 5101, 0, 502);    /* 6 */
    seg(&g, 11, S2C, A, 5101, 1102, 0, 509);        /* 7 */
    seg(&g, 10011, S2C, F | A, 5101, 1102, 0, 509); /* 8 */
    seg(&g, 10012, C2S, A, 1102, 5102, 0, 502);     /* 9 */
    finish(&g);
    json_t *a = only(&g, 0, "close_wait_stuck", NULL);
    endpoint_is(&g, a, "server");
    ev_real(&g, a, "seconds", 10.0);
    ev_real(&g, a, "threshold", 5.0);
    ev_bool(&g, a, "still_open", false);
    ev_bool(&g, a, "sent_data", false);
    ev_int(&g, a, "data_segments", 0);
    none(&g, 0, "missing_final_ack");
    done(&g);
}

/* The active closer holds TIME_WAIT: the client here, the server in the
 * second connection. */
static void test_time_wait(struct tap *t)
{
    struct run g;
    start(&g, t, "time_wait");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, F | A, 1101, 5101, 0, 502); /* 6 */
    seg(&g, 11, S2C, F | A, 5101, 1102, 0, 509); /* 7 */
    seg(&g, 12, C2S, A, 1102, 5102, 0, 502);     /* 8 */
    g.rig.cport = 40001;
    open_exchange(&g, 100);                       /* 9-13 */
    seg(&g, 110, S2C, F | A, 5101, 1101, 0, 509); /* 14 */
    seg(&g, 111, C2S, F | A, 1101, 5102, 0, 502); /* 15 */
    seg(&g, 112, S2C, A, 5102, 1102, 0, 509);     /* 16 */
    finish(&g);
    json_t *a = only(&g, 0, "time_wait", NULL);
    endpoint_is(&g, a, "client");
    packets_are(&g, a, "6,8");
    ev_bool(&g, a, "via_closing", false);
    ev_str(&g, a, "ended_by", "capture_end");
    ev_real(&g, a, "duration", 60.0);
    a = only(&g, 1, "time_wait", NULL);
    endpoint_is(&g, a, "server");
    packets_are(&g, a, "14,16");
    none(&g, 0, "simultaneous_close");
    done(&g);
}

/* Both FINs cross: both endpoints go through CLOSING. */
static void test_simultaneous_close(struct tap *t)
{
    struct run g;
    start(&g, t, "simultaneous_close");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, F | A, 1101, 5101, 0, 502);   /* 6 */
    seg(&g, 10.2, S2C, F | A, 5101, 1101, 0, 509); /* 7: before the client's FIN arrived */
    seg(&g, 11, S2C, A, 5102, 1102, 0, 509);       /* 8 */
    seg(&g, 11.1, C2S, A, 1102, 5102, 0, 502);     /* 9 */
    finish(&g);
    json_t *a = only(&g, 0, "simultaneous_close", NULL);
    endpoint_is(&g, a, "connection");
    ev_real(&g, a, "fin_gap", 0.0002);
    ev_bool(&g, a, "both_closing", true);
    a = only(&g, 0, "time_wait", "client");
    ev_bool(&g, a, "via_closing", true);
    a = only(&g, 0, "time_wait", "server");
    ev_bool(&g, a, "via_closing", true);
    none(&g, 0, "missing_final_ack");
    done(&g);
}

/* The client shuts its sending side; the server still sends it data. */
static void test_half_close(struct tap *t)
{
    struct run g;
    start(&g, t, "half_close");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, F | A, 1101, 5101, 0, 502);   /* 6: shutdown(SHUT_WR) */
    seg(&g, 11, S2C, A, 5101, 1102, 0, 509);       /* 7 */
    seg(&g, 20, S2C, A | P, 5101, 1102, 200, 509); /* 8 */
    seg(&g, 21, S2C, A | P, 5301, 1102, 100, 509); /* 9 */
    seg(&g, 22, C2S, A, 1102, 5401, 0, 502);       /* 10 */
    seg(&g, 23, S2C, F | A, 5401, 1102, 0, 509);   /* 11 */
    seg(&g, 24, C2S, A, 1102, 5402, 0, 502);       /* 12 */
    finish(&g);
    json_t *a = only(&g, 0, "half_close", NULL);
    endpoint_is(&g, a, "client");
    packets_are(&g, a, "6,8");
    ev_str(&g, a, "data_from", "server");
    ev_int(&g, a, "segments", 2);
    ev_int(&g, a, "bytes", 300);
    none(&g, 0, "rst_after_close");
    done(&g);
}

/* The server's reader stalls: a zero window, two probes, then it opens. */
static void test_zero_window(struct tap *t)
{
    struct run g;
    start(&g, t, "zero_window");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, A | P, 1101, 5101, 1000, 502); /* 6 */
    seg(&g, 11, S2C, A, 5101, 2101, 0, 0);          /* 7: window 0 */
    seg(&g, 220, C2S, A, 2100, 5101, 0, 502);       /* 8: probe */
    seg(&g, 221, S2C, A, 5101, 2101, 0, 0);         /* 9 */
    seg(&g, 630, C2S, A, 2100, 5101, 0, 502);       /* 10: probe */
    seg(&g, 631, S2C, A, 5101, 2101, 0, 0);         /* 11 */
    seg(&g, 1511, S2C, A, 5101, 2101, 0, 509);      /* 12: open again */
    finish(&g);
    json_t *a = only(&g, 0, "zero_window", NULL);
    endpoint_is(&g, a, "server");
    packets_are(&g, a, "7,8,10,12");
    severity_is(&g, a, "warning"); /* probed: more than a brief stop */
    ev_int(&g, a, "times", 1);
    ev_real(&g, a, "longest_s", 1.5);
    ev_int(&g, a, "probes", 2);
    ev_bool(&g, a, "reopened", true);
    done(&g);
}

/* One of the client's segments is lost and sent again. */
static void test_retransmission(struct tap *t)
{
    struct run g;
    start(&g, t, "retransmission");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, A, 1101, 5101, 100, 502);     /* 6: lost */
    seg(&g, 11, C2S, A | P, 1201, 5101, 100, 502); /* 7 */
    seg(&g, 12, S2C, A, 5101, 1201, 0, 509);       /* 8: dup ACK */
    seg(&g, 220, C2S, A, 1101, 5101, 100, 502);    /* 9: again */
    seg(&g, 221, S2C, A, 5101, 1301, 0, 509);      /* 10 */
    finish(&g);
    json_t *a = only(&g, 0, "retransmission", NULL);
    endpoint_is(&g, a, "client");
    ev_int(&g, a, "retransmissions", 1);
    ev_int(&g, a, "bytes", 100);
    ev_int(&g, a, "data_segments", 4);
    ev_real(&g, a, "rate", 0.25);
    ev_int(&g, a, "spurious", 0);
    severity_is(&g, a, "info"); /* one loss is no lossy path */
    none(&g, 0, "stalled_retransmission");
    done(&g);
}

/* A new SYN (another ISN) on the 4-tuple while the client still holds
 * TIME_WAIT of the connection before. */
static void test_port_reuse(struct tap *t)
{
    struct run g;
    start(&g, t, "port_reuse");
    open_exchange(&g, 0);
    seg(&g, 10, C2S, F | A, 1101, 5101, 0, 502); /* 6 */
    seg(&g, 11, S2C, F | A, 5101, 1102, 0, 509); /* 7 */
    seg(&g, 12, C2S, A, 1102, 5102, 0, 502);     /* 8 */
    seg(&g, 2012, C2S, S, 900000, 0, 0, 64240);  /* 9 */
    seg(&g, 2013, S2C, S | A, 7000, 900001, 0, 65160);
    seg(&g, 2014, C2S, A, 900001, 7001, 0, 502);
    finish(&g);
    is_int(t, json_array_size(g.conns), 2, "port_reuse: two connections");
    none(&g, 0, "port_reuse");
    ev_str(&g, only(&g, 0, "time_wait", NULL), "ended_by", "reused");
    json_t *a = only(&g, 1, "port_reuse", NULL);
    endpoint_is(&g, a, "connection");
    packets_are(&g, a, "9");
    ev_int(&g, a, "previous_id", 1);
    ev_real(&g, a, "gap", 2.0);
    ev_bool(&g, a, "previous_in_time_wait", true);
    done(&g);
}

/* The capture starts in the middle of a connection. */
static void test_midstream(struct tap *t)
{
    struct run g;
    start(&g, t, "midstream");
    seg(&g, 0, S2C, A | P, 5101, 1101, 100, 509);
    seg(&g, 1, C2S, A, 1101, 5201, 0, 502);
    finish(&g);
    json_t *a = only(&g, 0, "midstream", NULL);
    endpoint_is(&g, a, "connection");
    packets_are(&g, a, "1");
    ev_str(&g, a, "roles_from", "port");
    ev_int(&g, a, "first_packet", 1);
    done(&g);

    /* With the handshake in the capture, no midstream. */
    start(&g, t, "not midstream");
    open_exchange(&g, 0);
    finish(&g);
    none(&g, 0, "midstream");
    done(&g);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct tap t = {0, 0};
    test_refused(&t);
    test_syn_backoff(&t);
    test_rst_instead_of_fin(&t);
    test_rst_after_close(&t);
    test_missing_final_ack(&t);
    test_close_wait_stuck(&t);
    test_time_wait(&t);
    test_simultaneous_close(&t);
    test_half_close(&t);
    test_zero_window(&t);
    test_retransmission(&t);
    test_port_reuse(&t);
    test_midstream(&t);
    return tap_done(&t);
}
