/*
 * Private to the HTML report (report_html*.c): the escaping every string
 * from the capture or the run goes through, the connection record the
 * page's script draws from, and the page's static style and script.
 *
 * The page is one self-contained file: a strict Content-Security-Policy,
 * no external resource, the style and the script inline. The summary is
 * HTML written here; the connection list and each connection's ladder
 * diagram are drawn by the script from one JSON record per connection,
 * held in a <script type="application/json"> block, so that a capture of
 * 100k connections makes a file of compact data rather than of markup,
 * and the browser builds the DOM only for the rows and ladders on show.
 */
#ifndef TCPLENS_REPORT_HTML_INT_H
#define TCPLENS_REPORT_HTML_INT_H

#include <stdio.h>

#include "tcplens/status.h"
#include "tcplens/types.h"

/*
 * Writes s (NUL-terminated) escaped for HTML text and for a quoted
 * attribute value: & < > " ' as character references; bytes that are not
 * valid UTF-8 and control characters other than tab, newline and carriage
 * return as U+FFFD. false on an I/O error.
 */
bool tl_html_escape(FILE *out, const char *s);

/*
 * A copy of the JSON text json (n bytes, as the streaming writer makes it:
 * valid UTF-8) made safe inside a <script> element: < > & and U+2028,
 * U+2029 become \u003c \u003e \u0026 \u2028 \u2029. These can only occur
 * within JSON strings, where the escapes mean the same characters, so the
 * data reads back unchanged. The copy is malloc'd and NUL-terminated, its
 * length in *len; NULL when out of memory.
 */
TL_MUST_CHECK char *tl_html_script_json(const char *json, size_t n, size_t *len);

/*
 * The connection record, one JSON array per connection (times in µs,
 * names as indexes into the tables of the page's "tl-meta" block):
 *
 *   [id, client ip, client port, server ip, server port, roles_from,
 *    vlan, first_ts, last_ts, packets client, packets server,
 *    bytes client, bytes server, end, client state at end, server state
 *    at end (-1 when unknown), zeek conn_state, zeek history ("" when
 *    unknown), worst severity (-1 none), timeline entries dropped,
 *    [anomaly...], [event...]]
 *
 *   anomaly: [type, severity, endpoint, ts - first_ts, [packet...],
 *             {evidence}, explanation, suggestion]
 *   event:   [kind, ts - first_ts, packet, dir (0 c>s, 1 s>c, 2 none),
 *             flags, seq, ack, len, win, client state, server state
 *             (, [[client via...], [server via...]])]
 *   summary: [kind "segments", ts - first_ts, packet, last_ts - first_ts,
 *             last packet, packets c, packets s, bytes c, bytes s,
 *             client state, server state]
 *
 * The script's field indexes (tl_html_js) follow this layout.
 */

struct tl_report;
struct tl_run;

/* Writes the page's header and summary (report_html_summary.c): what was
 * read, counts, states at end, anomalies, hosts, host anomalies, the
 * anomaly groups and the frame of the chart the script draws; opens <main>.
 * TL_EIO on an I/O error, TL_ENOMEM when the groups could not be sorted. */
enum tl_status tl_report_html_summary(const struct tl_report *r, const struct tl_run *run,
                                      FILE *out);

/*
 * The page's style sheet and script, written into the page as they are:
 * src/html/report.css and src/html/report.js, embedded at build time by
 * src/html/embed.awk (which refuses "</" in them: it could end the element
 * early). The script is plain JavaScript with no library: it parses the
 * "tl-meta" and "tl-data" JSON blocks, draws the chart of connections over
 * time, the sortable, filterable, paged list of connections, and, for
 * each connection opened, its ladder diagram (an SVG with one arrow per
 * packet in its timeline, the folded segments as a band, both endpoints'
 * states after each entry, and numbered marks at the packets that prove
 * each anomaly) and its anomalies. Data reaches the page only as text
 * nodes and attribute values (createElement, append, setAttribute), never
 * through markup parsing.
 */
extern const char tl_html_css[];
extern const char tl_html_js[];

#endif
