/*
 * NDJSON (--ndjson): one JSON object a line, each naming its kind in its
 * first member, "record", by which consumers select lines (as with
 * Suricata's event_type):
 *
 *   connection    a connection object of the document, as the ordering
 *                 stage releases it (first-seen order), while the capture
 *                 is still being read
 *   host_anomaly  an entry of the document's host_anomalies, at the end
 *   service       an entry of the document's services (a server
 *                 address:port), in its order, at the end
 *   host          an entry of the document's hosts (a client host)
 *   summary       the last line: the document's tool, version,
 *                 schema_version, inputs, capture, summary and
 *                 services_untracked
 *
 * The records written at the end are the rows of tail_records[]: another
 * kind is one function that writes its members and one row.
 */
#include "tcplens/report.h"

#include "json_writer.h"
#include "report_int.h"

static char *format_conn(const struct tl_conn_view *v, const struct tl_report_cfg *cfg, size_t *len)
{
    (void)cfg;
    return tl_report_json_format_conn(v, "connection", len);
}

/* A kind of record written at the end: count(r, run) lines, the members
 * of the i-th written by fields() after "record". */
struct tail_record {
    const char *record;
    size_t (*count)(const struct tl_report *r, const struct tl_run *run);
    void (*fields)(struct tl_jw *w, const struct tl_report *r, const struct tl_run *run, size_t i);
};

static size_t host_anomalies(const struct tl_report *r, const struct tl_run *run)
{
    (void)r;
    return run->host_anomalies != NULL ? run->host_anomalies->n : 0;
}

static void host_anomaly(struct tl_jw *w, const struct tl_report *r, const struct tl_run *run,
                         size_t i)
{
    (void)r;
    tl_report_json_host_anomaly_fields(w, &run->host_anomalies->a[i]);
}

static size_t services(const struct tl_report *r, const struct tl_run *run)
{
    (void)run;
    return tl_report_svc_lines(r->sum, true);
}

static void service(struct tl_jw *w, const struct tl_report *r, const struct tl_run *run, size_t i)
{
    (void)run;
    tl_report_json_svc_fields(w, r->sum, true, i);
}

static size_t hosts(const struct tl_report *r, const struct tl_run *run)
{
    (void)run;
    return tl_report_svc_lines(r->sum, false);
}

static void host(struct tl_jw *w, const struct tl_report *r, const struct tl_run *run, size_t i)
{
    (void)run;
    tl_report_json_svc_fields(w, r->sum, false, i);
}

static size_t one(const struct tl_report *r, const struct tl_run *run)
{
    (void)r;
    (void)run;
    return 1;
}

static void summary(struct tl_jw *w, const struct tl_report *r, const struct tl_run *run, size_t i)
{
    (void)i;
    tl_report_json_tool(w);
    tl_report_json_inputs(w, run);
    tl_report_json_capture(w, run);
    tl_report_json_summary(w, r);
    tl_report_json_services_untracked(w, r->sum);
}

/* In the order written; the summary last, so that a reader knows the
 * stream is whole when it has it. */
static const struct tail_record tail_records[] = {
    {"host_anomaly", host_anomalies, host_anomaly},
    {"service", services, service},
    {"host", hosts, host},
    {"summary", one, summary},
};

static enum tl_status write_line(struct tl_jw *w, const struct tl_report *r,
                                 const struct tl_run *run, const struct tail_record *k, size_t i)
{
    tl_jw_reset(w);
    tl_jw_obj_begin(w);
    TL_JW_KEY(w, "record");
    tl_jw_str(w, k->record);
    k->fields(w, r, run, i);
    tl_jw_obj_end(w);
    if (tl_jw_failed(w))
        return TL_ENOMEM;
    FILE *out = r->cfg.out;
    return fwrite(w->buf, 1, w->len, out) == w->len && fputc('\n', out) != EOF ? TL_OK : TL_EIO;
}

/* The connections are out already (spool is NULL): the records of the end. */
static enum tl_status write_tail(const struct tl_report *r, const struct tl_run *run, FILE *spool)
{
    (void)spool;
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    enum tl_status st = TL_OK;
    for (size_t k = 0; k < sizeof tail_records / sizeof tail_records[0]; k++) {
        size_t n = tail_records[k].count(r, run);
        for (size_t i = 0; i < n && st == TL_OK; i++)
            st = write_line(&w, r, run, &tail_records[k], i);
    }
    tl_jw_free(&w);
    return st;
}

const struct report_ops tl_report_ndjson_ops = {format_conn, write_tail, NULL};
