/*
 * The JSON report document (docs/design.md section 4, schema_version 1). A
 * connection is one compact object on one line, as in NDJSON
 * (report_json_ndjson.c); the document (report_json_doc.c) lists them under
 * "connections". Both are written by the streaming writer (json_writer.h);
 * tests/unit/json_ref.c builds the same connection with jansson, the
 * reference the writer is held to.
 */
#include "tcplens/report.h"

#include "report_int.h"

static enum tl_status write_doc(const struct tl_report *r, const struct tl_run *run, FILE *spool)
{
    return tl_report_json_doc(r, run, spool);
}

static char *format_conn(const struct tl_conn_view *v, const struct tl_report_cfg *cfg, size_t *len)
{
    (void)cfg;
    return tl_report_json_format_conn(v, NULL, len);
}

const struct report_ops tl_report_json_ops = {format_conn, write_doc, NULL};
