/* Command line: tcpdump's habits (-r, -c, -n, trailing filter) plus ours. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tcplens/anomaly.h"
#include "tcplens/engine.h"
#include "tcplens/source.h"

enum {
    OPT_JSON = 256,
    OPT_NDJSON,
    OPT_HTML,
    OPT_MAX_FLOWS,
    OPT_IDLE_TIMEOUT,
    OPT_LINGER,
    OPT_TIMELINE,
    OPT_TIMELINE_MAX,
    OPT_ZEEK_CHECKSUMS,
    OPT_ANOMALIES_ONLY,
    OPT_FAIL_ON,
    OPT_CLOSE_WAIT,
    OPT_CONNECTION,
    OPT_TOP,
    OPT_ALL,
    OPT_LADDER,
    OPT_COLOR,
    OPT_FIN_TIMEOUT,
    OPT_SHARD,
    OPT_VLAN_KEY,
    OPT_SCAN_PORTS,
    OPT_SCAN_HOSTS,
    OPT_DURATION,
    OPT_SNAPSHOT,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_CAPTURE_END,
    OPT_TUNNEL_PORT,
    OPT_THREADS,
    OPT_FOLLOW,
};

static const char usage_text[] =
    "Usage: tcplens [options] [-r FILE]... [FILE...] [FILTER EXPRESSION]\n"
    "       tcplens -i IFACE [options] [FILTER EXPRESSION]\n"
    "Reconstructs every TCP connection in packet captures: who opened it,\n"
    "how long it lived, how it ended.\n"
    "\n"
    "Input:\n"
    "  -r FILE              read a pcap or pcapng file; repeatable; '-' is stdin\n"
    "  FILE...              capture files may also be given without -r\n"
    "  --follow FILE        read FILE after the inputs (repeatable), only for the\n"
    "                       connections they hold: a unit of a rotated capture\n"
    "                       set (-r f2 --follow f3 --follow f4) reports them as\n"
    "                       one run over every file does and starts none (but\n"
    "                       one reusing a held 4-tuple); stops when none is held\n"
    "  -c COUNT             stop after COUNT packets\n"
    "  -n                   accepted for tcpdump habits (names are never resolved)\n"
    "  FILTER EXPRESSION    trailing words form a BPF filter, as in tcpdump\n"
    "  --progress, --no-progress\n"
    "                       show (or not) a progress line on stderr while reading\n"
    "                       files (default: when stderr is a terminal); SIGUSR1\n"
    "                       prints it with the open connections' states;\n"
    "                       SIGINT/SIGTERM stop the read and write the reports\n"
    "                       for what was read, marked partial\n"
    "\n"
    "Live capture:\n"
    "  -i IFACE             capture on IFACE ('any' for all); connections are\n"
    "                       reported as they end; SIGUSR1 prints a snapshot of\n"
    "                       the open ones; SIGINT/SIGTERM stop and write the report\n"
    "  -s SNAPLEN           bytes kept per packet (default 262144; 96 is enough)\n"
    "  -w FILE              also write the packets to FILE (pcap), to replay with -r\n"
    "  -Z USER              drop root privileges to USER once the capture is open\n"
    "  --duration DUR       stop after DUR\n"
    "  --snapshot-interval DUR\n"
    "                       print a snapshot of the open connections every DUR\n"
    "\n"
    "Output (default: the text report on stdout):\n"
    "  --json FILE|-        write the JSON report to FILE ('-' for stdout)\n"
    "  --ndjson[=FILE]      write one JSON record per line instead of the\n"
    "                       report document (to FILE, else the --json target,\n"
    "                       else stdout); live, lines are flushed as they come\n"
    "  --html FILE|-        write a self-contained HTML report to FILE: summary,\n"
    "                       chart, sortable list, a ladder diagram per connection\n"
    "  --timeline lifecycle|full\n"
    "                       per connection, list the lifecycle events and fold\n"
    "                       the data between them into counts (default), or\n"
    "                       list every segment\n"
    "  --timeline-max N     keep at most N timeline entries per connection\n"
    "                       (default 1000); the rest are counted\n"
    "  --zeek-checksums     compute each connection's Zeek conn_state and history\n"
    "                       as Zeek does by default, skipping packets with bad\n"
    "                       checksums (default: as 'zeek -C', since host captures\n"
    "                       carry offloaded, unfilled checksums)\n"
    "  --anomalies-only     list only connections with a warning or an error\n"
    "                       (the summary still counts every connection)\n"
    "  --connection LIST    list only these connections (3,17,40-45; repeats add\n"
    "                       up), with their anomalies and timelines (ids are\n"
    "                       first-seen order, as in the report); an id the\n"
    "                       capture lacks is an error\n"
    "  --top N              text: detail the worst N connections (default: the\n"
    "                       worst 20 a line each, the first of each kind detailed)\n"
    "  --all                text: the table of every connection and the detail of\n"
    "                       each one with a warning or an error\n"
    "  --ladder[=ascii|unicode]\n"
    "                       draw each listed connection as a ladder: client and\n"
    "                       server lifelines, each segment an arrow with its flags,\n"
    "                       relative seq, ack and length, the states where they\n"
    "                       change, anomalies marked on the packet that proves\n"
    "                       them; ASCII (default) or box-drawing characters\n"
    "  --color WHEN         colour the ladder: auto (default: when stdout is a\n"
    "                       terminal, TERM is not dumb and NO_COLOR is unset),\n"
    "                       always, never\n"
    "\n"
    "Detection:\n"
    "  --close-wait-threshold DUR\n"
    "                       report close_wait_stuck after this long in\n"
    "                       CLOSE_WAIT without a FIN (default 5s)\n"
    "  --fin-timeout DUR    the hosts' net.ipv4.tcp_fin_timeout: a FIN_WAIT_2\n"
    "                       endpoint idle this long was reaped (default 60s)\n"
    "  --scan-ports N       syn_scan: ports of one host a source tries within\n"
    "                       5 minutes, most failing (default 15, as Zeek's)\n"
    "  --scan-hosts N       syn_scan: hosts one source tries on one port (25)\n"
    "  --fail-on SEVERITY   exit 1 when an anomaly of this severity or worse\n"
    "                       was found (info, warning, error); every normal\n"
    "                       close is a time_wait (info), so 'info' fails on\n"
    "                       nearly every capture\n"
    "\n"
    "Limits:\n"
    "  --max-flows N        hold at most N connections at once (default 1000000;\n"
    "                       0 = no limit); the least recently seen is evicted\n"
    "  --idle-timeout DUR   end a connection idle this long as 'timeout' (default\n"
    "                       300s; 0 = never); a synchronized one waits up to\n"
    "                       2h15m more for a keepalive that continues it\n"
    "  --linger DUR         keep an ended connection this long for late packets\n"
    "                       (default 60s, Linux's TIME_WAIT; live, 2s)\n"
    "  --vlan-key MODE      VLAN ids in the connection key: auto (default; joins\n"
    "                       directions a tap tags apart), on, off\n"
    "  --shard K/N          keep only the connections whose 4-tuple hashes to\n"
    "                       shard K of N: N runs over the same files give\n"
    "                       disjoint results (ids count within the shard)\n"
    "  --threads N          1, or 2: detection and the reports run on a second\n"
    "                       thread beside the analysis when reading files\n"
    "                       (default: 2 when tcplens may use two CPUs); the\n"
    "                       output is the same\n"
    "  --tunnel-port TYPE=PORT[,PORT...]\n"
    "                       look into UDP on these ports as tunnel TYPE (vxlan\n"
    "                       4789,8472, geneve 6081, gtpu 2152, teredo 3544, l2tp\n"
    "                       1701 by default); TYPE=0 turns it off\n"
    "  --capture-end TIME|+DUR\n"
    "                       the capture ran until TIME (UTC, 2023-11-14T22:13:20Z,\n"
    "                       or seconds since 1970) or DUR after its last packet:\n"
    "                       timers of open connections (give-ups, TIME_WAIT) run\n"
    "                       until then (default: a pcapng file's isb_endtime, the\n"
    "                       clock in live capture, else the last packet)\n"
    "  DUR is a number with an optional unit: ms, s (default), m, h.\n"
    "\n"
    "  -h, --help           show this help\n"
    "  -V, --version        show versions\n"
    "\n"
    "Exit status: 0 ran fine, 1 --fail-on matched, 2 usage or input error, an\n"
    "output that could not be written, or a --connection id not in the capture.\n";

static _Noreturn TL_PRINTF(1, 2) void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tcplens: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'tcplens --help' for more information.\n");
    va_end(ap);
    exit(2);
}

bool tl_cli_parse_duration(const char *s, int64_t *us)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || errno != 0 || v < 0)
        return false;
    double mult;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1e6;
    else if (strcmp(end, "ms") == 0)
        mult = 1e3;
    else if (strcmp(end, "m") == 0)
        mult = 60e6;
    else if (strcmp(end, "h") == 0)
        mult = 3600e6;
    else
        return false;
    /* Past ~292 000 years the product no longer fits in int64_t. */
    if (v * mult > 9.2e18)
        return false;
    *us = (int64_t)(v * mult);
    return true;
}

/* One id, from 1, up to the next ',' or '-' or the end. */
static bool parse_id(const char **s, uint64_t *id)
{
    char *end;
    errno = 0;
    if (**s < '0' || **s > '9')
        return false;
    unsigned long long v = strtoull(*s, &end, 10);
    if (errno != 0 || v == 0 || (*end != '\0' && *end != ',' && *end != '-'))
        return false;
    *id = v;
    *s = end;
    return true;
}

bool tl_cli_parse_ids(const char *s, struct tl_id_range **r, size_t *n)
{
    size_t items = 1;
    for (const char *c = s; *c != '\0'; c++)
        items += *c == ',';
    struct tl_id_range *grown = realloc(*r, (*n + items) * sizeof **r);
    if (grown == NULL) {
        errno = ENOMEM;
        return false;
    }
    *r = grown;
    size_t k = *n;
    for (;;) {
        struct tl_id_range one;
        if (!parse_id(&s, &one.first))
            break;
        one.last = one.first;
        if (*s == '-' && (s++, !parse_id(&s, &one.last) || one.last < one.first))
            break;
        grown[k++] = one;
        if (*s == '\0') {
            *n = k;
            return true;
        }
        if (*s++ != ',')
            break;
    }
    errno = EINVAL;
    return false;
}

static int cmp_range(const void *a, const void *b)
{
    const struct tl_id_range *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

size_t tl_cli_merge_ids(struct tl_id_range *r, size_t n)
{
    if (n == 0)
        return 0;
    qsort(r, n, sizeof *r, cmp_range);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        /* Touching: 3-5 and 6-9 are 3-9 (no overflow: last < UINT64_MAX). */
        if (r[k].last == UINT64_MAX || r[i].first <= r[k].last + 1) {
            if (r[i].last > r[k].last)
                r[k].last = r[i].last;
        } else {
            r[++k] = r[i];
        }
    }
    return k + 1;
}

static uint64_t parse_count(const char *s, const char *what, uint64_t max)
{
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] == '-' || end == s || *end != '\0' || errno != 0 || v > max)
        usage_error("bad %s '%s'", what, s);
    return v;
}

/* The libraries' versions are those tcplens runs with, where they say
 * (jansson_version_str() came with jansson 2.13). */
static _Noreturn void print_version(void)
{
#if JANSSON_VERSION_HEX >= 0x020d00
    const char *jv = jansson_version_str();
#else
    const char *jv = JANSSON_VERSION;
#endif
    printf("tcplens %s\n%s\njansson %s\n", PACKAGE_VERSION, pcap_lib_version(), jv);
    exit(0);
}

static void add_input(struct tl_cli *cli, const char *path) { cli->inputs[cli->ninputs++] = path; }

static bool is_file(const char *path)
{
    struct stat sb;
    return strcmp(path, "-") == 0 || stat(path, &sb) == 0;
}

/* Joins the trailing words into one filter string, as tcpdump does. */
static char *join_words(char **words, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(words[i]) + 1;
    char *s = malloc(len);
    if (s == NULL) {
        fprintf(stderr, "tcplens: out of memory\n");
        exit(2);
    }
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i > 0)
            strcat(s, " ");
        strcat(s, words[i]);
    }
    return s;
}

/* --shard K/N: 1 <= K <= N. */
static void parse_shard(struct tl_cli *cli, const char *arg)
{
    unsigned long k = 0, n = 0;
    int used = 0;
    if (sscanf(arg, "%lu/%lu%n", &k, &n, &used) != 2 || arg[used] != '\0' || arg[0] == '-' ||
        k < 1 || n < 1 || k > n || n > TL_SHARD_MAX)
        usage_error("bad --shard '%s' (K/N with 1 <= K <= N <= 65536, e.g. 2/8)", arg);
    cli->shard_index = (uint32_t)(k - 1);
    cli->shard_count = (uint32_t)n;
}

/* Positional words: without -r the first is a file, and so is each next
 * word that names an existing file; the remaining words are the filter. */
static void take_positional(struct tl_cli *cli, int argc, char **argv, int i)
{
    if (cli->ninputs == 0 && i < argc) {
        add_input(cli, argv[i++]);
        while (i < argc && is_file(argv[i]))
            add_input(cli, argv[i++]);
    }
    if (i < argc)
        cli->filter = join_words(argv + i, argc - i);
}

static bool is_stdout(const char *path) { return path != NULL && strcmp(path, "-") == 0; }

/* Two documents interleaved on stdout would be neither. */
/* The fraction after a decimal point, in µs ("25" is 250000 µs); false
 * when it is not digits alone. */
static bool parse_fraction(const char *s, int64_t *us)
{
    int64_t v = 0, scale = 100000;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v += (*s - '0') * scale;
        scale /= 10;
    }
    *us = v;
    return true;
}

bool tl_cli_parse_time(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, sec, n = 0;
    struct tm tm = {0};
    int64_t frac = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6) {
        const char *rest = s + n;
        char buf[16] = "";
        if (*rest == '.') {
            size_t len = strcspn(rest + 1, "Z");
            if (len == 0 || len >= sizeof buf)
                return false;
            memcpy(buf, rest + 1, len);
            if (!parse_fraction(buf, &frac))
                return false;
            rest += 1 + len;
        }
        if (strcmp(rest, "Z") != 0 && *rest != '\0')
            return false;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
            return false;
        tm = (struct tm){.tm_year = y - 1900,
                         .tm_mon = mo - 1,
                         .tm_mday = d,
                         .tm_hour = h,
                         .tm_min = mi,
                         .tm_sec = sec};
        *us = (int64_t)timegm(&tm) * TL_USEC_PER_SEC + frac;
        return true;
    }
    /* Seconds since the epoch: digits, then an optional fraction. */
    char *end;
    errno = 0;
    long long whole = strtoll(s, &end, 10);
    if (end == s || errno != 0 || whole < 0 || whole > TL_TS_MAX_SEC)
        return false;
    if (*end == '.' && !parse_fraction(end + 1, &frac))
        return false;
    if (*end != '.' && *end != '\0')
        return false;
    *us = (int64_t)whole * TL_USEC_PER_SEC + frac;
    return true;
}

/* --tunnel-port TYPE=PORT[,PORT...]: the UDP ports of a tunnel carried in
 * UDP, in place of its defaults; 0 alone turns it off. */
static void parse_tunnel_port(struct tl_cli *cli, const char *arg)
{
    static const struct {
        const char *name;
        enum tl_tunnel_type type;
    } types[] = {{"vxlan", TL_TUN_VXLAN},
                 {"geneve", TL_TUN_GENEVE},
                 {"gtpu", TL_TUN_GTPU},
                 {"teredo", TL_TUN_TEREDO},
                 {"l2tp", TL_TUN_L2TP}};
    const char *eq = strchr(arg, '=');
    size_t t = 0, n = eq != NULL ? (size_t)(eq - arg) : 0;
    while (t < sizeof types / sizeof types[0] &&
           (strlen(types[t].name) != n || strncmp(arg, types[t].name, n) != 0))
        t++;
    if (eq == NULL || t == sizeof types / sizeof types[0])
        usage_error("bad --tunnel-port '%s' (TYPE=PORT[,PORT...]; TYPE vxlan, geneve, gtpu, "
                    "teredo or l2tp)",
                    arg);
    uint16_t *ports = cli->decode.udp_ports[types[t].type];
    memset(ports, 0, sizeof cli->decode.udp_ports[0]);
    const char *p = eq + 1;
    for (size_t k = 0;; k++) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || *p == '-' || errno != 0 || v > 65535 || k >= TL_DECODE_MAX_PORTS ||
            (*end != ',' && *end != '\0'))
            usage_error("bad --tunnel-port '%s' (at most %d ports from 0 to 65535)", arg,
                        TL_DECODE_MAX_PORTS);
        ports[k] = (uint16_t)v;
        if (*end == '\0')
            break;
        p = end + 1;
    }
}

static void check_stdout(const struct tl_cli *cli)
{
    bool json_out = is_stdout(cli->json_path) || is_stdout(cli->ndjson_path) ||
                    (cli->ndjson && cli->ndjson_path == NULL && cli->json_path == NULL);
    if (is_stdout(cli->html_path) && json_out)
        usage_error("%s", "--html - and the JSON report cannot both go to stdout");
}

static const struct option long_opts[] = {
    {"json", required_argument, NULL, OPT_JSON},
    {"html", required_argument, NULL, OPT_HTML},
    {"ndjson", optional_argument, NULL, OPT_NDJSON},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"snapshot-interval", required_argument, NULL, OPT_SNAPSHOT},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"linger", required_argument, NULL, OPT_LINGER},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"timeline", required_argument, NULL, OPT_TIMELINE},
    {"timeline-max", required_argument, NULL, OPT_TIMELINE_MAX},
    {"zeek-checksums", no_argument, NULL, OPT_ZEEK_CHECKSUMS},
    {"anomalies-only", no_argument, NULL, OPT_ANOMALIES_ONLY},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"close-wait-threshold", required_argument, NULL, OPT_CLOSE_WAIT},
    {"connection", required_argument, NULL, OPT_CONNECTION},
    {"top", required_argument, NULL, OPT_TOP},
    {"all", no_argument, NULL, OPT_ALL},
    {"ladder", optional_argument, NULL, OPT_LADDER},
    {"color", required_argument, NULL, OPT_COLOR},
    {"fin-timeout", required_argument, NULL, OPT_FIN_TIMEOUT},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"vlan-key", required_argument, NULL, OPT_VLAN_KEY},
    {"scan-ports", required_argument, NULL, OPT_SCAN_PORTS},
    {"scan-hosts", required_argument, NULL, OPT_SCAN_HOSTS},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"capture-end", required_argument, NULL, OPT_CAPTURE_END},
    {"tunnel-port", required_argument, NULL, OPT_TUNNEL_PORT},
    {"follow", required_argument, NULL, OPT_FOLLOW},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* The options of live capture; false when opt is not one of them. */
static bool parse_live(struct tl_cli *cli, int opt, const char *arg)
{
    switch (opt) {
    case 'i': cli->iface = arg; return true;
    case 's': cli->snaplen = (int)parse_count(arg, "snap length", 262144); return true;
    case 'w': cli->write_path = arg; return true;
    case 'Z': cli->user = arg; return true;
    case OPT_DURATION:
        if (!tl_cli_parse_duration(arg, &cli->duration_us) || cli->duration_us <= 0)
            usage_error("bad --duration '%s' (e.g. 30s, 5m)", arg);
        return true;
    case OPT_SNAPSHOT:
        if (!tl_cli_parse_duration(arg, &cli->snapshot_us) || cli->snapshot_us <= 0)
            usage_error("bad --snapshot-interval '%s' (e.g. 10s)", arg);
        return true;
    default: return false;
    }
}

/* --ladder[=STYLE] and --color WHEN; false when opt is neither. */
static bool parse_ladder(struct tl_cli *cli, int opt, const char *arg)
{
    if (opt == OPT_LADDER) {
        cli->ladder = true;
        if (arg != NULL && strcmp(arg, "unicode") != 0 && strcmp(arg, "ascii") != 0)
            usage_error("bad --ladder '%s' (ascii or unicode)", arg);
        cli->ladder_unicode = arg != NULL && strcmp(arg, "unicode") == 0;
        return true;
    }
    if (opt != OPT_COLOR)
        return false;
    if (strcmp(arg, "auto") == 0)
        cli->color = TL_COLOR_AUTO;
    else if (strcmp(arg, "always") == 0)
        cli->color = TL_COLOR_ALWAYS;
    else if (strcmp(arg, "never") == 0)
        cli->color = TL_COLOR_NEVER;
    else
        usage_error("bad --color '%s' (auto, always or never)", arg);
    return true;
}

static void parse_one(struct tl_cli *cli, int opt, const char *arg)
{
    if (parse_live(cli, opt, arg) || parse_ladder(cli, opt, arg))
        return;
    switch (opt) {
    case 'r': add_input(cli, arg); break;
    case OPT_FOLLOW: cli->follow[cli->nfollow++] = arg; break;
    case 'c': cli->count = parse_count(arg, "packet count", UINT64_MAX); break;
    case 'n': break;
    case OPT_JSON: cli->json_path = arg; break;
    case OPT_HTML: cli->html_path = arg; break;
    case OPT_NDJSON:
        cli->ndjson = true;
        cli->ndjson_path = arg;
        break;
    case OPT_MAX_FLOWS:
        cli->max_flows = (uint32_t)parse_count(arg, "--max-flows", UINT32_MAX);
        break;
    case OPT_IDLE_TIMEOUT:
        if (!tl_cli_parse_duration(arg, &cli->idle_timeout_us))
            usage_error("bad --idle-timeout '%s' (e.g. 300s, 5m)", arg);
        break;
    case OPT_THREADS:
        cli->threads = (uint32_t)parse_count(arg, "--threads", UINT32_MAX);
        if (cli->threads == 0 || cli->threads > 2)
            usage_error("bad --threads '%s' (1 or 2)", arg);
        break;
    case OPT_LINGER:
        if (!tl_cli_parse_duration(arg, &cli->linger_us))
            usage_error("bad --linger '%s' (e.g. 60s)", arg);
        cli->linger_set = true;
        break;
    case OPT_TIMELINE:
        if (strcmp(arg, "full") == 0)
            cli->timeline_full = true;
        else if (strcmp(arg, "lifecycle") == 0)
            cli->timeline_full = false;
        else
            usage_error("bad --timeline '%s' (lifecycle or full)", arg);
        break;
    case OPT_TIMELINE_MAX:
        cli->timeline_max = (uint32_t)parse_count(arg, "--timeline-max", UINT32_MAX);
        if (cli->timeline_max == 0)
            usage_error("bad --timeline-max '%s' (at least 1)", arg);
        break;
    case OPT_ZEEK_CHECKSUMS: cli->zeek_checksums = true; break;
    case OPT_ANOMALIES_ONLY: cli->anomalies_only = true; break;
    case OPT_FAIL_ON: {
        enum tl_sev sev;
        if (!tl_sev_parse(arg, &sev))
            usage_error("bad --fail-on '%s' (info, warning or error)", arg);
        cli->fail_on = (int)sev;
        break;
    }
    case OPT_CONNECTION:
        if (!tl_cli_parse_ids(arg, &cli->connections, &cli->nconnections)) {
            if (errno == ENOMEM)
                usage_error("%s", "out of memory");
            usage_error("bad --connection '%s' (ids from the report, from 1: 3,17,40-45)", arg);
        }
        break;
    case OPT_TOP:
        cli->top = (uint32_t)parse_count(arg, "--top", UINT32_MAX);
        if (cli->top == 0)
            usage_error("bad --top '%s' (at least 1)", arg);
        break;
    case OPT_ALL: cli->all = true; break;
    case OPT_SHARD: parse_shard(cli, arg); break;
    case OPT_SCAN_PORTS:
        cli->scan_ports = (uint32_t)parse_count(arg, "--scan-ports", 65535);
        if (cli->scan_ports == 0)
            usage_error("bad --scan-ports '%s' (1 to 65535)", arg);
        break;
    case OPT_SCAN_HOSTS:
        cli->scan_hosts = (uint32_t)parse_count(arg, "--scan-hosts", 100000);
        if (cli->scan_hosts == 0)
            usage_error("bad --scan-hosts '%s' (1 to 100000)", arg);
        break;
    case OPT_VLAN_KEY:
        if (strcmp(arg, "auto") == 0)
            cli->vlan_key = TL_VLAN_KEY_AUTO;
        else if (strcmp(arg, "on") == 0)
            cli->vlan_key = TL_VLAN_KEY_ON;
        else if (strcmp(arg, "off") == 0)
            cli->vlan_key = TL_VLAN_KEY_OFF;
        else
            usage_error("bad --vlan-key '%s' (auto, on or off)", arg);
        break;
    case OPT_PROGRESS: cli->progress = 1; break;
    case OPT_NO_PROGRESS: cli->progress = 0; break;
    case OPT_TUNNEL_PORT: parse_tunnel_port(cli, arg); break;
    case OPT_CAPTURE_END:
        if (arg[0] == '+' && tl_cli_parse_duration(arg + 1, &cli->capture_end_us))
            cli->capture_end = TL_CLI_END_AFTER;
        else if (arg[0] != '+' && tl_cli_parse_time(arg, &cli->capture_end_us))
            cli->capture_end = TL_CLI_END_AT;
        else
            usage_error("bad --capture-end '%s' (e.g. 2023-11-14T22:13:20Z, 1700000000.5 "
                        "or +30s)",
                        arg);
        break;
    case OPT_FIN_TIMEOUT:
        if (!tl_cli_parse_duration(arg, &cli->fin_timeout_us) || cli->fin_timeout_us <= 0)
            usage_error("bad --fin-timeout '%s' (e.g. 60s)", arg);
        break;
    case OPT_CLOSE_WAIT:
        if (!tl_cli_parse_duration(arg, &cli->close_wait_us) || cli->close_wait_us <= 0)
            usage_error("bad --close-wait-threshold '%s' (e.g. 5s)", arg);
        break;
    case 'h': fputs(usage_text, stdout); exit(0);
    case 'V': print_version();
    default: usage_error("%s", "unknown option");
    }
}

/* The long option whose value is val, "" when none. */
static const char *long_name(int val)
{
    for (const struct option *o = long_opts; o->name != NULL; o++)
        if (o->val == val)
            return o->name;
    return "";
}

/* An unknown or ambiguous long option: word is "--name[=value]". */
static _Noreturn void bad_long(const char *word)
{
    const char *name = word + 2;
    size_t len = strcspn(name, "="), n = 0;
    char list[160] = "";
    for (const struct option *o = long_opts; o->name != NULL; o++) {
        if (strncmp(o->name, name, len) != 0)
            continue;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s--%s", n++ > 0 ? ", " : "", o->name);
    }
    if (n > 1)
        usage_error("ambiguous option '--%.*s' (%s)", (int)len, name, list);
    usage_error("unknown option '--%.*s'", (int)len, name);
}

/* getopt found a mistake (opt '?' or ':'): it says nothing itself
 * (opterr 0), so that there is one message, under tcplens's name. optopt
 * is the option's value: 0 for a long option getopt does not know (word,
 * the argument it stopped after, is then that option), a character for a
 * short option (and --help, --version). */
static _Noreturn void bad_option(int opt, const char *word)
{
    bool is_long = optopt >= 256 || (strncmp(word, "--", 2) == 0 && *long_name(optopt) != '\0');
    if (opt == ':' && is_long)
        usage_error("option '--%s' requires an argument", long_name(optopt));
    if (opt == ':')
        usage_error("option '-%c' requires an argument", optopt);
    if (optopt == 0)
        bad_long(word);
    if (is_long)
        usage_error("option '--%s' takes no argument", long_name(optopt));
    usage_error("unknown option '-%c'", optopt);
}

void tl_cli_parse(int argc, char **argv, struct tl_cli *cli)
{
    memset(cli, 0, sizeof *cli);
    cli->max_flows = TL_DEFAULT_MAX_FLOWS;
    cli->idle_timeout_us = TL_DEFAULT_IDLE_TIMEOUT_US;
    cli->linger_us = TL_DEFAULT_LINGER_US;
    tl_decode_cfg_default(&cli->decode);
    cli->timeline_max = TL_DEFAULT_TIMELINE_MAX;
    cli->fail_on = -1;
    cli->progress = -1;
    cli->close_wait_us = TL_DEFAULT_CLOSE_WAIT_US;
    cli->fin_timeout_us = TL_DEFAULT_FIN_TIMEOUT_US;
    /* Every input is an argv word, so argc bounds their number. */
    cli->inputs = calloc((size_t)argc + 1, sizeof *cli->inputs);
    cli->follow = calloc((size_t)argc + 1, sizeof *cli->follow);
    if (cli->inputs == NULL || cli->follow == NULL) {
        fprintf(stderr, "tcplens: out of memory\n");
        exit(2);
    }
    int opt;
    /* Options may follow the files, as with tcpdump; filter words never
     * start with '-', and "--" ends the options anyway. */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":r:c:nhVi:s:w:Z:", long_opts, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            bad_option(opt, argv[optind - 1]);
        parse_one(cli, opt, optarg);
    }
    check_stdout(cli);
    cli->nconnections = tl_cli_merge_ids(cli->connections, cli->nconnections);
    if (cli->iface != NULL) {
        /* Live, an ended connection is reported after a short grace for its
         * last segments, not after Linux's 60 s of TIME_WAIT. */
        if (!cli->linger_set)
            cli->linger_us = TL_LIVE_LINGER_US;
        /* Every trailing word is the filter, as with tcpdump -i. */
        if (cli->ninputs > 0)
            usage_error("%s", "-i and -r cannot be used together");
        if (cli->nfollow > 0) { /* one line, as an input error is said */
            fputs("tcplens: --follow reads capture files after the -r ones, not with -i\n", stderr);
            exit(2);
        }
        if (optind < argc)
            cli->filter = join_words(argv + optind, argc - optind);
        return;
    }
    if (cli->write_path != NULL || cli->user != NULL || cli->duration_us != 0)
        usage_error("%s", "-w, -Z and --duration go with live capture (-i IFACE)");
    take_positional(cli, argc, argv, optind);
    if (cli->ninputs == 0)
        usage_error("%s",
                    "no capture file given (use -r FILE, or '-' for stdin; -i IFACE to capture)");
}

void tl_cli_free(struct tl_cli *cli)
{
    free(cli->inputs);
    free(cli->follow);
    free(cli->filter);
    free(cli->connections);
}
