/* Command-line parsing (private to the program). */
#ifndef TCPLENS_CLI_H
#define TCPLENS_CLI_H

#include "tcplens/decode.h"
#include "tcplens/report.h"
#include "tcplens/types.h"

/* Most shards --shard accepts. */
#define TL_SHARD_MAX 65536u

/* Live capture reports an ended connection after this grace (--linger). */
#define TL_LIVE_LINGER_US (2 * TL_USEC_PER_SEC)

/* --color: auto colours the ladder when stdout is a terminal, TERM is set
 * and not "dumb", and NO_COLOR is unset or empty (https://no-color.org). */
enum tl_cli_color { TL_COLOR_AUTO = 0, TL_COLOR_ALWAYS, TL_COLOR_NEVER };

struct tl_cli {
    const char **inputs; /* capture files, "-" for stdin */
    size_t ninputs;
    const char **follow; /* --follow: read after the inputs, for their connections */
    size_t nfollow;
    char *filter;          /* BPF expression from the trailing words, or NULL */
    const char *json_path; /* --json FILE|-, NULL when not asked */
    const char *html_path; /* --html FILE|-, NULL when not asked */
    bool ndjson;
    const char *ndjson_path; /* --ndjson=FILE: the stream goes there */
    const char *iface;       /* -i: live capture */
    int snaplen;             /* -s */
    const char *write_path;  /* -w */
    const char *user;        /* -Z */
    int64_t duration_us;     /* --duration, 0 = until stopped */
    int64_t snapshot_us;     /* --snapshot-interval, 0 = only on SIGUSR1 and at exit */
    uint64_t count;          /* -c, 0 = all */
    uint32_t max_flows;
    int64_t idle_timeout_us;
    int64_t linger_us;
    bool linger_set;                   /* --linger given */
    bool timeline_full;                /* --timeline full */
    uint32_t timeline_max;             /* --timeline-max */
    bool zeek_checksums;               /* --zeek-checksums */
    bool anomalies_only;               /* --anomalies-only */
    struct tl_id_range *connections;   /* --connection LIST: sorted, apart */
    size_t nconnections;               /* 0 = all */
    uint32_t top;                      /* --top N, 0: the report's default (20) */
    bool all;                          /* --all: the text's every connection */
    bool ladder;                       /* --ladder */
    bool ladder_unicode;               /* --ladder=unicode */
    int color;                         /* --color: enum tl_cli_color */
    int fail_on;                       /* --fail-on: enum tl_sev, -1 when not asked */
    int64_t close_wait_us;             /* --close-wait-threshold */
    int64_t fin_timeout_us;            /* --fin-timeout */
    uint32_t shard_index, shard_count; /* --shard K/N: index K-1 of N; count 0 = off */
    int vlan_key;                      /* --vlan-key: enum tl_vlan_key */
    uint32_t scan_ports, scan_hosts;   /* --scan-ports, --scan-hosts; 0: default */
    int progress;                /* --progress 1, --no-progress 0; -1: when stderr is a terminal */
    uint32_t threads;            /* --threads: 1, 2 (formatting beside the analysis); 0 auto */
    struct tl_decode_cfg decode; /* --tunnel-port: the tunnels' UDP ports */
    int capture_end;             /* --capture-end: enum tl_cli_end */
    int64_t capture_end_us; /* the time (µs since the epoch), or how long after the last packet */
};

/* --capture-end: none, a time, or a duration after the last packet. */
enum tl_cli_end { TL_CLI_END_NONE = 0, TL_CLI_END_AT, TL_CLI_END_AFTER };

/* Parses argv; on a usage error or --help/--version it prints and exits
 * (the only place besides main that may). Free with tl_cli_free. */
void tl_cli_parse(int argc, char **argv, struct tl_cli *cli);
void tl_cli_free(struct tl_cli *cli);

/* Parses a time: seconds since the epoch ("1700000000.25") or UTC as ISO
 * 8601 ("2023-11-14T22:13:20.25Z", the Z or a space optional) into µs
 * since the epoch; false when malformed. */
bool tl_cli_parse_time(const char *s, int64_t *us);

/* Parses an id list, "3,17,40-45" (ids from 1, a range's first <= its
 * last), appending its ranges to the *n of *r (realloc'd; free it): false
 * when malformed (nothing appended then) or out of memory (errno ENOMEM). */
bool tl_cli_parse_ids(const char *s, struct tl_id_range **r, size_t *n);

/* Sorts ranges and merges those that overlap or touch; returns how many
 * are left. */
size_t tl_cli_merge_ids(struct tl_id_range *r, size_t n);

/* Parses "300", "5s", "500ms", "2m", "1h" into µs; false when malformed. */
bool tl_cli_parse_duration(const char *s, int64_t *us);

#endif
