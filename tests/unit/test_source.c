/*
 * Capture-file source tests. Small captures are written into a private
 * temporary directory (libpcap's dumper for good files, raw bytes for
 * broken or unusual ones) and removed at the end.
 */
#include "tcplens/source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#include "ngbuild.h"
#include "pkt.h"
#include "tap.h"

#define MAX_FILES 64

/* The temporary directory and every file made in it, for the cleanup. */
struct tmp {
    char dir[1024];
    char files[MAX_FILES][1100];
    int n;
};

static bool tmp_init(struct tmp *tp)
{
    const char *base = getenv("TMPDIR");
    snprintf(tp->dir, sizeof tp->dir, "%s/tl-source.XXXXXX", base && *base ? base : "/tmp");
    tp->n = 0;
    return mkdtemp(tp->dir) != NULL;
}

/* A new path in the directory, remembered for removal. */
static const char *tmp_path(struct tmp *tp, const char *name)
{
    if (tp->n == MAX_FILES) {
        fprintf(stderr, "test_source: too many files\n");
        exit(99);
    }
    char *p = tp->files[tp->n++];
    size_t dl = strlen(tp->dir); /* < sizeof dir < sizeof files[0] */
    memcpy(p, tp->dir, dl);
    snprintf(p + dl, sizeof tp->files[0] - dl, "/%s", name);
    return p;
}

static void tmp_cleanup(struct tmp *tp)
{
    for (int i = 0; i < tp->n; i++)
        if (unlink(tp->files[i]) != 0 && errno != ENOENT)
            printf("# cannot remove %s\n", tp->files[i]);
    if (rmdir(tp->dir) != 0)
        printf("# cannot remove %s\n", tp->dir);
}

/* One record to write: an Ethernet/IPv4/TCP frame whose sequence number
 * (bytes 38..41) identifies it. snap > 0 cuts the record to snap bytes. */
struct rec {
    int64_t sec, frac; /* frac: µs, or ns in a nanosecond file */
    uint32_t seq;
    uint16_t sport, dport;
    uint32_t snap;
};

/* Builds the frame of r into buf; returns its length. */
static size_t frame(const struct rec *r, uint8_t *buf, size_t size, bool raw)
{
    struct pkt p;
    pkt_init(&p, buf, size);
    if (!raw)
        pkt_eth(&p, PKT_ETH_IPV4);
    pkt_ipv4(&p, PKT_V4(10, 0, 0, 1), PKT_V4(10, 0, 0, 2), PKT_PROTO_TCP, 0);
    pkt_tcp(&p, &(struct pkt_tcp){.sport = r->sport ? r->sport : 1000,
                                  .dport = r->dport ? r->dport : 80,
                                  .seq = r->seq,
                                  .flags = 0x10,
                                  .paylen = 20});
    pkt_finish(&p);
    return p.len;
}

/* Writes a capture with libpcap's dumper; false on failure. */
static bool write_pcap(const char *path, int dlt, u_int precision, const struct rec *r, size_t n)
{
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(dlt, 65535, precision);
    if (dead == NULL)
        return false;
    pcap_dumper_t *dump = pcap_dump_open(dead, path);
    if (dump == NULL) {
        printf("# %s\n", pcap_geterr(dead));
        pcap_close(dead);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t buf[PKT_MAX];
        size_t len = frame(&r[i], buf, sizeof buf, dlt != DLT_EN10MB);
        struct pcap_pkthdr h;
        memset(&h, 0, sizeof h);
        h.ts.tv_sec = (time_t)r[i].sec;
        h.ts.tv_usec = (suseconds_t)r[i].frac;
        h.len = (bpf_u_int32)len;
        h.caplen = r[i].snap ? r[i].snap : (bpf_u_int32)len;
        pcap_dump((u_char *)dump, &h, buf);
    }
    pcap_dump_close(dump);
    pcap_close(dead);
    return true;
}

static bool write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    bool good = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && good;
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    fclose(f);
    return n;
}

/* Keeps the first n bytes of a file. */
static bool cut_file(const char *path, long n) { return truncate(path, n) == 0; }

static uint32_t seq_of(const struct tl_frame *f, size_t l2)
{
    const uint8_t *b = f->data + l2 + 24;
    if (f->caplen < l2 + 28)
        return 0;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static struct tl_source *open_src(const char *const *paths, size_t n,
                                  const struct tl_source_cfg *cfg)
{
    struct tl_source *src = NULL;
    struct tl_diag d = {{0}, 0};
    enum tl_status st = tl_source_open_files(&src, paths, n, cfg, &d);
    if (st != TL_OK) {
        printf("# open failed: %s (%s)\n", tl_status_str(st), d.msg);
        return NULL;
    }
    return src;
}

/* Reads every frame; writes "seq@input#pkt_no" items into buf. */
static int read_all(struct tl_source *src, char *buf, size_t size)
{
    struct tl_frame f;
    int n = 0;
    size_t used = 0;
    buf[0] = '\0';
    while (tl_source_next(src, &f) == TL_OK) {
        size_t l2 = f.linktype == DLT_EN10MB ? 14 : 0;
        if (used < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%u@%u#%llu", n ? " " : "",
                                     (unsigned)seq_of(&f, l2), f.input,
                                     (unsigned long long)f.pkt_no);
        n++;
    }
    return n;
}

static const struct rec file_a[] = {{1, 0, 1, 0, 0, 0},
                                    {3, 0, 3, 0, 0, 60},
                                    {5, 0, 5, 0, 0, 0},
                                    {7, 500000, 7, 0, 0, 0}};
static const struct rec file_b[] = {{2, 0, 2, 0, 0, 0},
                                    {4, 0, 4, 0, 0, 0},
                                    {5, 0, 55, 0, 0, 0},
                                    {6, 999999, 6, 0, 0, 0}};

/* Input i's information; when there is none, an empty one, which fails
 * every check made of it. */
static const struct tl_input_info *info(const struct tl_source *src, size_t i)
{
    static const struct tl_input_info none = {.name = "", .status = TL_EINVAL};
    const struct tl_input_info *in = src != NULL ? tl_source_input(src, i) : NULL;
    return in != NULL ? in : &none;
}

static void test_merge(struct tap *t, struct tmp *tp)
{
    const char *a = tmp_path(tp, "a.pcap"), *b = tmp_path(tp, "b.pcap");
    ok(t,
       write_pcap(a, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, file_a, 4) &&
           write_pcap(b, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, file_b, 4),
       "merge: two captures written");
    const char *paths[] = {a, b};
    struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
    struct tl_source *src = open_src(paths, 2, &cfg);
    ok(t, src != NULL && tl_source_ninputs(src) == 2, "merge: opened, 2 inputs");
    if (src == NULL)
        return;
    static const int64_t want_ts[] = {1000000, 2000000, 3000000, 4000000,
                                      5000000, 5000000, 6999999, 7500000};
    static const uint32_t want_caplen[] = {74, 74, 60, 74, 74, 74, 74, 74};
    struct tl_frame f;
    bool ts = true, lens = true, meta = true;
    char got[256];
    size_t used = 0;
    for (int i = 0; i < 8 && tl_source_next(src, &f) == TL_OK; i++) {
        ts = ts && f.ts_us == want_ts[i];
        lens = lens && f.caplen == want_caplen[i] && f.wirelen == 74;
        meta = meta && f.linktype == DLT_EN10MB && f.data != NULL;
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%u@%u#%llu", i ? " " : "",
                                 (unsigned)seq_of(&f, 14), f.input, (unsigned long long)f.pkt_no);
    }
    is_str(t, got, "1@0#1 2@1#2 3@0#3 4@1#4 5@0#5 55@1#6 6@1#7 7@0#8",
           "merge: timestamp order, ties by input order, pkt_no 1..8");
    ok(t, ts, "merge: ts_us of every frame");
    ok(t, lens, "merge: caplen (one cut to 60) and wirelen");
    ok(t, meta, "merge: linktype EN10MB on every frame");
    ok(t, tl_source_next(src, &f) == TL_EOF && tl_source_next(src, &f) == TL_EOF,
       "merge: then EOF, and EOF again");
    const struct tl_input_info *ia = info(src, 0), *ib = info(src, 1);
    ok(t,
       ia->packets == 4 && ib->packets == 4 && ia->status == TL_OK && ib->status == TL_OK &&
           ia->error[0] == '\0' && ia->name == a && ib->name == b,
       "merge: each input read 4 frames, status ok, no error");
    ok(t,
       ia->linktype == DLT_EN10MB && ia->linktype_name != NULL &&
           strcmp(ia->linktype_name, "EN10MB") == 0,
       "merge: input link type EN10MB");
    ok(t, tl_source_input(src, 2) == NULL, "tl_source_input out of range: NULL");
    tl_source_free(src);

    cfg.max_packets = 3;
    src = open_src(paths, 2, &cfg);
    char buf[256];
    is_int(t, src ? read_all(src, buf, sizeof buf) : -1, 3, "max_packets 3: three frames");
    is_str(t, buf, "1@0#1 2@1#2 3@0#3", "max_packets 3: the first three in merged order");
    tl_source_free(src);
}

static void test_filter(struct tap *t, struct tmp *tp)
{
    static const struct rec recs[] = {{1, 0, 1, 1000, 80, 0},
                                      {2, 0, 2, 1001, 443, 0},
                                      {3, 0, 3, 80, 1002, 0},
                                      {4, 0, 4, 8080, 1003, 0}};
    const char *path = tmp_path(tp, "ports.pcap");
    ok(t, write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, recs, 4),
       "filter: capture written");
    struct tl_source_cfg cfg = {"tcp port 80", 0, NULL, false, NULL, 0};
    struct tl_source *src = open_src(&path, 1, &cfg);
    char buf[256];
    is_int(t, src ? read_all(src, buf, sizeof buf) : -1, 2, "filter 'tcp port 80': 2 frames");
    /* Packet numbers stay the frame numbers of the file (Wireshark's), so
     * a filtered run can still be read next to the capture. */
    is_str(t, buf, "1@0#1 3@0#3", "filter: ports 80 either way, frame numbers kept");
    ok(t, info(src, 0)->packets == 4, "filter: info counts every frame read: 4");
    tl_source_free(src);

    struct tl_diag d = {{0}, 0};
    cfg.filter = "tcp port";
    src = (struct tl_source *)&d; /* must be overwritten with NULL */
    enum tl_status st = tl_source_open_files(&src, &path, 1, &cfg, &d);
    is_int(t, st, TL_EINVAL, "bad filter: TL_EINVAL");
    ok(t, src == NULL, "bad filter: no source");
    ok(t, strstr(d.msg, "filter") != NULL && strstr(d.msg, "tcp port") != NULL,
       "bad filter: the diag names the filter");
    printf("#   diag: %s\n", d.msg);
}

/* A filter that fits one link type only skips the inputs it does not fit. */
static void test_filter_linktype(struct tap *t, struct tmp *tp)
{
    static const struct rec recs[] = {{1, 0, 1, 0, 0, 0}, {2, 0, 2, 0, 0, 0}};
    const char *eth = tmp_path(tp, "eth.pcap"), *raw = tmp_path(tp, "raw.pcap");
    ok(t,
       write_pcap(eth, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, recs, 2) &&
           write_pcap(raw, DLT_RAW, PCAP_TSTAMP_PRECISION_MICRO, recs, 2),
       "filter by link type: captures written");
    const char *paths[] = {raw, eth};
    struct tl_source_cfg cfg = {"ether src 02:00:00:00:00:01", 0, NULL, false, NULL, 0};
    struct tl_diag d = {{0}, 0};
    struct tl_source *src = NULL;
    enum tl_status st = tl_source_open_files(&src, paths, 2, &cfg, &d);
    is_int(t, st, TL_OK, "an Ethernet-only filter over RAW + EN10MB inputs: opens");
    if (src == NULL)
        return;
    const struct tl_input_info *ir = info(src, 0);
    ok(t, ir->status == TL_EINVAL && ir->error[0] != '\0' && ir->packets == 0,
       "the RAW input is skipped, its info says why");
    printf("#   error: %s\n", ir->error);
    char buf[256];
    is_int(t, read_all(src, buf, sizeof buf), 2, "the EN10MB input is read through the filter");
    tl_source_free(src);
    st = tl_source_open_files(&src, paths, 1, &cfg, &d);
    ok(t, st == TL_EINVAL && src == NULL && d.msg[0] != '\0',
       "the same filter over the RAW input alone: TL_EINVAL");
}

static void test_bad_inputs(struct tap *t, struct tmp *tp)
{
    static const struct rec recs[] = {{1, 0, 1, 0, 0, 0}, {2, 0, 2, 0, 0, 0}};
    const char *good = tmp_path(tp, "good.pcap"), *empty = tmp_path(tp, "empty.pcap");
    const char *text = tmp_path(tp, "text.pcap");
    const char *missing = tmp_path(tp, "missing.pcap");
    ok(t,
       write_pcap(good, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, recs, 2) &&
           write_bytes(empty, "", 0) &&
           write_bytes(text, "this is not a capture file at all\n", 34),
       "bad inputs: files written");
    const char *paths[] = {missing, empty, text, good};
    struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
    struct tl_source *src = open_src(paths, 4, &cfg);
    ok(t, src != NULL, "missing, empty and text inputs: the call still succeeds");
    if (src == NULL)
        return;
    static const char *const what[] = {"missing file", "zero-length file", "text file"};
    static const enum tl_status want[] = {TL_EIO, TL_EFORMAT, TL_EFORMAT};
    char name[96];
    for (size_t i = 0; i < 3; i++) {
        const struct tl_input_info *in = info(src, i);
        snprintf(name, sizeof name, "%s: %s, an error, 0 packets, no link type", what[i],
                 tl_status_str(want[i]));
        ok(t,
           in->status == want[i] && in->error[0] != '\0' && in->packets == 0 && in->linktype == -1,
           name);
        printf("#   %s: %s: %s\n", what[i], tl_status_str(in->status), in->error);
    }
    char buf[256];
    is_int(t, read_all(src, buf, sizeof buf), 2, "the good input is read in full");
    is_str(t, buf, "1@3#1 2@3#2", "its frames come with input index 3, pkt_no 1..2");
    ok(t, info(src, 3)->status == TL_OK, "the good input's status stays ok");
    tl_source_free(src);
}

/* Writes three records, keeps the first keep bytes, reads what is left. */
static void cut_case(struct tap *t, struct tmp *tp, const char *name, long into_third, bool clean)
{
    static const struct rec recs[] = {{1, 0, 1, 0, 0, 0}, {2, 0, 2, 0, 0, 0}, {3, 0, 3, 0, 0, 0}};
    const char *path = tmp_path(tp, name);
    bool made = write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, recs, 3);
    long rec = (file_size(path) - 24) / 3; /* equal records */
    made = made && cut_file(path, 24 + 2 * rec + into_third);
    struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
    struct tl_source *src = made ? open_src(&path, 1, &cfg) : NULL;
    char buf[256], label[128];
    int n = src ? read_all(src, buf, sizeof buf) : -1;
    snprintf(label, sizeof label, "%s: the 2 whole records are read", name);
    is_int(t, n, 2, label);
    const struct tl_input_info *in = info(src, 0);
    snprintf(label, sizeof label, "%s: %s", name,
             clean ? "status ok, no error" : "status TL_EFORMAT, packets 2, an error");
    if (clean)
        ok(t, in && in->status == TL_OK && in->packets == 2 && in->error[0] == '\0', label);
    else
        ok(t, in && in->status == TL_EFORMAT && in->packets == 2 && in->error[0] != '\0', label);
    if (in && in->error[0])
        printf("#   error: %s\n", in->error);
    tl_source_free(src);
}

static void test_cut(struct tap *t, struct tmp *tp)
{
    cut_case(t, tp, "cut-data.pcap", 16 + 30, false);
    cut_case(t, tp, "cut-header.pcap", 8, false);
    cut_case(t, tp, "cut-boundary.pcap", 0, true);
}

static void test_nano(struct tap *t, struct tmp *tp)
{
    static const struct rec recs[] = {{1, 123456789, 1, 0, 0, 0},
                                      {2, 999, 2, 0, 0, 0},
                                      {3, 999999999, 3, 0, 0, 0}};
    const char *path = tmp_path(tp, "nano.pcap");
    ok(t, write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, recs, 3),
       "nanosecond capture written");
    struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
    struct tl_source *src = open_src(&path, 1, &cfg);
    struct tl_frame f;
    int64_t ts[3] = {0, 0, 0};
    for (int i = 0; i < 3 && src && tl_source_next(src, &f) == TL_OK; i++)
        ts[i] = f.ts_us;
    is_int(t, ts[0], 1123456, "nanosecond 1.123456789 s: 1123456 µs");
    is_int(t, ts[1], 2000000, "nanosecond 2.000000999 s: 2000000 µs");
    is_int(t, ts[2], 3999999, "nanosecond 3.999999999 s: 3999999 µs");
    tl_source_free(src);
}

static bool only_raw(int linktype) { return linktype == DLT_RAW; }

static void test_linktype(struct tap *t, struct tmp *tp)
{
    static const struct rec recs[] = {{1, 0, 1, 0, 0, 0}, {2, 0, 2, 0, 0, 0}};
    const char *eth = tmp_path(tp, "lt-eth.pcap"), *raw = tmp_path(tp, "lt-raw.pcap");
    ok(t,
       write_pcap(eth, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, recs, 2) &&
           write_pcap(raw, DLT_RAW, PCAP_TSTAMP_PRECISION_MICRO, recs, 2),
       "link types: captures written");
    const char *paths[] = {eth, raw};
    struct tl_source_cfg cfg = {NULL, 0, only_raw, false, NULL, 0};
    struct tl_source *src = open_src(paths, 2, &cfg);
    if (src == NULL) {
        ok(t, false, "link types: opened");
        return;
    }
    const struct tl_input_info *ie = info(src, 0);
    ok(t,
       ie->status == TL_ELINKTYPE && ie->packets == 0 && ie->linktype == DLT_EN10MB &&
           strstr(ie->error, "link type") != NULL,
       "a refused link type: TL_ELINKTYPE, type recorded, not read");
    printf("#   error: %s\n", ie->error);
    char buf[256];
    is_int(t, read_all(src, buf, sizeof buf), 2, "the accepted input is read");
    is_str(t, buf, "1@1#1 2@1#2", "only its frames, linktype RAW");
    tl_source_free(src);
}

static void le32(uint8_t *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w[i] = (uint8_t)(v >> (8 * i));
}

/* A pcapng file written by hand (little-endian): section header, one
 * Ethernet interface (µs resolution), and an enhanced packet block per rec. */
static size_t make_pcapng(uint8_t *out, const struct rec *r, size_t n)
{
    static const uint8_t shb[28] = {0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0,    0,    0x4d, 0x3c,
                                    0x2b, 0x1a, 1,    0,    0,  0, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 28, 0, 0,    0};
    static const uint8_t idb[20] = {1, 0, 0,    0,    20, 0, 0,  0, 1, 0,
                                    0, 0, 0xff, 0xff, 0,  0, 20, 0, 0, 0};
    size_t len = 0;
    memcpy(out, shb, sizeof shb);
    memcpy(out + 28, idb, sizeof idb);
    len = 48;
    for (size_t i = 0; i < n; i++) {
        uint8_t fr[PKT_MAX];
        size_t fl = frame(&r[i], fr, sizeof fr, false);
        size_t padded = (fl + 3) & ~(size_t)3, blen = 32 + padded;
        uint64_t ts = (uint64_t)r[i].sec * 1000000u + (uint64_t)r[i].frac;
        uint8_t *b = out + len;
        memset(b, 0, blen);
        le32(b, 6);
        le32(b + 4, (uint32_t)blen);
        le32(b + 12, (uint32_t)(ts >> 32));
        le32(b + 16, (uint32_t)ts);
        le32(b + 20, (uint32_t)fl);
        le32(b + 24, (uint32_t)fl);
        memcpy(b + 28, fr, fl);
        le32(b + blen - 4, (uint32_t)blen);
        len += blen;
    }
    return len;
}

/* A classic pcap written big-endian, as a SPARC or POWER host would. */
static size_t make_pcap_be(uint8_t *out, const struct rec *r, size_t n)
{
    static const uint8_t hdr[24] = {0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0,    4,    0, 0, 0, 0,
                                    0,    0,    0,    0,    0, 0, 0xff, 0xff, 0, 0, 0, 1};
    memcpy(out, hdr, sizeof hdr);
    size_t len = 24;
    for (size_t i = 0; i < n; i++) {
        size_t fl = frame(&r[i], out + len + 16, PKT_MAX, false);
        pkt_be32(out + len, (uint32_t)r[i].sec);
        pkt_be32(out + len + 4, (uint32_t)r[i].frac);
        pkt_be32(out + len + 8, (uint32_t)fl);
        pkt_be32(out + len + 12, (uint32_t)fl);
        len += 16 + fl;
    }
    return len;
}

static void test_formats(struct tap *t, struct tmp *tp)
{
    static const struct rec recs[] = {{10, 1, 1, 0, 0, 0}, {0x12345678, 999999, 2, 0, 0, 0}};
    uint8_t buf[4 * PKT_MAX];
    const char *ng = tmp_path(tp, "capture.pcapng"), *be = tmp_path(tp, "be.pcap");
    ok(t,
       write_bytes(ng, buf, make_pcapng(buf, recs, 2)) &&
           write_bytes(be, buf, make_pcap_be(buf, recs, 2)),
       "pcapng and big-endian pcap written");
    const char *paths[] = {ng, be};
    struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
    struct tl_source *src = open_src(paths, 2, &cfg);
    struct tl_frame f;
    char got[256];
    size_t used = 0;
    got[0] = '\0';
    for (int i = 0; src && tl_source_next(src, &f) == TL_OK && i < 8; i++)
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%u@%u:%lld/%u", i ? " " : "",
                                 (unsigned)seq_of(&f, 14), f.input, (long long)f.ts_us,
                                 (unsigned)f.caplen);
    is_str(t, got,
           "1@0:10000001/74 1@1:10000001/74 2@0:305419896999999/74 "
           "2@1:305419896999999/74",
           "pcapng and big-endian pcap: frames, timestamps, lengths");
    ok(t, info(src, 0)->linktype == DLT_EN10MB && info(src, 1)->linktype == DLT_EN10MB,
       "pcapng and big-endian pcap: link type EN10MB");
    tl_source_free(src);
}

/* Timestamps at the edges of both formats. A pcapng timestamp is a 64-bit
 * count of the interface's units, so a file can claim 2^64 - 1 µs: that is
 * clamped (+-73,000 years) instead of overflowing int64_t microseconds.
 * A classic pcap's seconds are 32 bits, signed as libpcap and tcpdump read
 * them: one past 2038-01-19 03:14:07 is 1901-12-13 20:45:52, a step back
 * that is read as it is, in file order. */
static void test_extreme_times(struct tap *t, struct tmp *tp)
{
    static const struct rec recs[] = {{1, 0, 1, 0, 0, 0}, {2, 0, 2, 0, 0, 0}};
    uint8_t buf[4 * PKT_MAX];
    size_t len = make_pcapng(buf, recs, 2);
    memset(buf + 48 + 12, 0xff, 8); /* the first packet block's timestamp */
    const char *ng = tmp_path(tp, "far.pcapng");
    static const struct rec classic[] = {{INT32_MAX, 999999, 1, 0, 0, 0},
                                         {0x80000000LL, 0, 2, 0, 0, 0}};
    const char *pc = tmp_path(tp, "2038.pcap");
    ok(t,
       write_bytes(ng, buf, len) &&
           write_pcap(pc, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, classic, 2),
       "extreme timestamps: captures written");
    const int64_t far = TL_TS_MAX_SEC * TL_USEC_PER_SEC + 551615;
    const int64_t want[2][2] = {{far, 2 * TL_USEC_PER_SEC},
                                {INT32_MAX * TL_USEC_PER_SEC + 999999,
                                 INT32_MIN * TL_USEC_PER_SEC}};
    const char *paths[2] = {ng, pc};
    for (int i = 0; i < 2; i++) {
        struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
        struct tl_source *src = open_src(&paths[i], 1, &cfg);
        struct tl_frame f;
        int64_t got[2] = {-1, -1};
        for (int k = 0; src && k < 2 && tl_source_next(src, &f) == TL_OK; k++)
            got[k] = f.ts_us;
        ok(t, got[0] == want[i][0] && got[1] == want[i][1],
           i == 0 ? "pcapng timestamp of 2^64-1 us clamped, the next one as written"
                  : "pcap: 2038-01-19 then 1901-12-13, in file order");
        if (got[0] != want[i][0] || got[1] != want[i][1])
            printf("# got %lld %lld\n", (long long)got[0], (long long)got[1]);
        tl_source_free(src);
    }
}

/* "-" reads the standard input. */
static void test_stdin(struct tap *t, struct tmp *tp)
{
    static const struct rec recs[] = {{1, 0, 1, 0, 0, 0}, {2, 0, 2, 0, 0, 0}};
    const char *path = tmp_path(tp, "stdin.pcap");
    bool made = write_pcap(path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, recs, 2);
    if (!made || freopen(path, "rb", stdin) == NULL) {
        ok(t, false, "stdin: capture redirected to stdin");
        return;
    }
    const char *dash = "-";
    struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
    struct tl_source *src = open_src(&dash, 1, &cfg);
    char buf[256];
    is_int(t, src ? read_all(src, buf, sizeof buf) : -1, 2, "\"-\" reads a capture on stdin");
    ok(t, src && strcmp(info(src, 0)->name, "-") == 0, "its name is \"-\"");
    tl_source_free(src);
}

/* tl_source_progress(): bytes read of the total, over merged inputs. */
static void test_progress(struct tap *t, struct tmp *tp)
{
    const char *a = tmp_path(tp, "pa.pcap"), *b = tmp_path(tp, "pb.pcap");
    const char *gone = tmp_path(tp, "missing.pcap");
    bool made = write_pcap(a, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, file_a, 4) &&
                write_pcap(b, DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, file_b, 4);
    long size = file_size(a) + file_size(b);
    const char *paths[] = {a, gone, b};
    struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
    struct tl_source *src = made ? open_src(paths, 3, &cfg) : NULL;
    ok(t, src != NULL, "progress: two captures and a missing file opened");
    if (src == NULL)
        return;
    struct tl_read_progress p;
    tl_source_progress(src, &p);
    /* Opening read each file's 24-byte header; the missing file counts for nothing. */
    is_int(t, p.total, size, "progress: total is the size of the files that opened");
    is_int(t, p.bytes, 48, "progress: at the start, the two file headers read");
    is_int(t, p.frames, 0, "progress: no frame read yet");
    struct tl_frame f;
    uint64_t before = p.bytes;
    bool grows = true;
    for (int i = 0; i < 3 && tl_source_next(src, &f) == TL_OK; i++) {
        tl_source_progress(src, &p);
        grows = grows && p.bytes >= before && p.bytes <= p.total;
        before = p.bytes;
    }
    ok(t, grows && p.frames == 3, "progress: grows with each frame, within the total");
    char buf[256];
    read_all(src, buf, sizeof buf);
    tl_source_progress(src, &p);
    ok(t, p.bytes == p.total && p.frames == 8, "progress: at the end, every byte and frame");
    tl_source_free(src);

    /* A pipe has no size: no total; the bytes are counted from the records. */
    const char *fifo = tmp_path(tp, "fifo");
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "cat '%s' > '%s'", a, fifo);
    FILE *writer = mkfifo(fifo, 0600) == 0 ? popen(cmd, "r") : NULL;
    src = writer != NULL ? open_src(&fifo, 1, &cfg) : NULL;
    if (src != NULL) {
        read_all(src, buf, sizeof buf);
        tl_source_progress(src, &p);
    }
    ok(t, src != NULL && p.total == 0 && p.bytes == (uint64_t)file_size(a) && p.frames == 4,
       "progress: a pipe: no total, the bytes of the pcap records read");
    tl_source_free(src);
    if (writer != NULL)
        pclose(writer);
}

/* Reads every frame of one input; its info afterwards (NULL when it did
 * not open). ts gets the last frame's time. */
static const struct tl_input_info *read_one(struct tl_source **src, const char *path, int64_t *ts,
                                            int *frames)
{
    struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
    *src = open_src(&path, 1, &cfg);
    struct tl_frame f;
    *frames = 0;
    while (*src != NULL && tl_source_next(*src, &f) == TL_OK) {
        *ts = f.ts_us;
        ++*frames;
    }
    return *src != NULL ? tl_source_input(*src, 0) : NULL;
}

/*
 * samples/dumpcap-isb.pcapng: dumpcap 4.0.17 on lo in a network namespace
 * (tests/netns/make-isb-sample.sh), 12 packets. Its ISB, as tshark shows
 * it (tshark -X 'read_format:MIME Files Format' -r ... -T json -x): ifrecv
 * 12, ifdrop 0, no osdrop; End Time bytes 00620600f1c3c112 (little-endian
 * words: high 0x00066200, low 0x12c1c3f1), which tshark 4.0 does not
 * decode. dumpcap wrote them in microseconds though its if_tsresol says
 * nanoseconds: 1796602314474481 µs, 2026-12-07 00:11:54.474481 UTC, two
 * seconds after the last packet (00:11:52.488807), as the -a duration:3
 * capture stopped.
 */
static void test_isb_sample(struct tap *t)
{
    const char *dir = getenv("SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/samples/dumpcap-isb.pcapng", dir ? dir : ".");
    struct tl_source *src;
    int64_t last = 0;
    int frames = 0;
    const struct tl_input_info *in = read_one(&src, path, &last, &frames);
    ok(t, in != NULL && in->status == TL_OK && frames == 12, "dumpcap-isb.pcapng: 12 frames");
    ok(t, in != NULL && in->has_endtime && in->endtime_us == INT64_C(1796602314474481),
       "dumpcap-isb.pcapng: endtime_us 1796602314474481 (its isb_endtime, in µs)");
    ok(t, in != NULL && last == INT64_C(1796602312488807),
       "... and its last frame at 1796602312488807");
    ok(t,
       in != NULL && in->has_ifstats && in->if_recv == 12 && in->if_drop == 0 && in->os_drop == 0,
       "dumpcap-isb.pcapng: ifrecv 12, ifdrop 0, osdrop 0");
    if (in != NULL)
        printf("#   end %lld, recv %llu, drop %llu, osdrop %llu\n", (long long)in->endtime_us,
               (unsigned long long)in->if_recv, (unsigned long long)in->if_drop,
               (unsigned long long)in->os_drop);
    tl_source_free(src);
}

/* An ISB's end time is on the frames' clock: libpcap's time of an EPB on
 * the same interface with the same count of units, for every kind of
 * if_tsresol and if_tsoffset (and the clamp of TL_TS_MAX_SEC). */
static void test_isb_clock(struct tap *t, struct tmp *tp)
{
    static const struct {
        int tsresol; /* -1: none (µs) */
        bool has_offset;
        int64_t offset;
        uint64_t raw;
    } cases[] = {
        {-1, false, 0, UINT64_C(1700000000123456)},
        {9, false, 0, UINT64_C(1700000000123456789)},
        {0x83, false, 0, (UINT64_C(1700000000) << 3) + 5},       /* 1/8 s */
        {0x94, true, -50, (UINT64_C(1700000000) << 20) + 12345}, /* 2^-20 s */
        {3, true, 86400, UINT64_C(1700000000999)},               /* ms */
        {19, false, 0, UINT64_MAX},                              /* 10^-19 s */
        {0, false, 0, UINT64_C(1) << 63},                        /* seconds: clamped */
        {0xbf, false, 0, UINT64_MAX},                            /* 2^-63 s */
    };
    static struct ng g;
    bool all = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&g, 0, sizeof g);
        ng_shb(&g);
        ng_idb(&g, 1, cases[i].tsresol, cases[i].has_offset, cases[i].offset);
        ng_epb(&g, 0, cases[i].raw, 60);
        ng_isb(&g, 0, true, cases[i].raw, 1, 0, false, 0);
        char name[32];
        snprintf(name, sizeof name, "clock%zu.pcapng", i);
        const char *path = tmp_path(tp, name);
        struct tl_source *src = NULL;
        int64_t ts = -1;
        int frames = 0;
        const struct tl_input_info *in = write_bytes(path, g.b, g.n)
                                             ? read_one(&src, path, &ts, &frames)
                                             : NULL;
        bool same = in != NULL && frames == 1 && in->has_endtime && in->endtime_us == ts;
        if (!same)
            printf("# case %zu: frame %lld, end %lld\n", i, (long long)ts,
                   in ? (long long)in->endtime_us : -1LL);
        all = all && same;
        tl_source_free(src);
    }
    ok(t, all, "isb_endtime = the time libpcap gives a frame of the same units (8 resolutions)");
}

/* Two interfaces of different if_tsresol, two sections, a lying ISB (its
 * option runs past the block; libpcap skips ISBs and reads on), read
 * through the source: ngbuild.h's ng_two_sections() says the values. An
 * input that ends in a read error gives no statistics: what the file said
 * after the error was not read. */
static void test_isb_source(struct tap *t, struct tmp *tp)
{
    static struct ng g;
    ng_two_sections(&g, false);
    const char *path = tmp_path(tp, "two.pcapng");
    struct tl_source *src = NULL;
    int64_t ts = 0;
    int frames = 0;
    const struct tl_input_info *in = write_bytes(path, g.b, g.n)
                                         ? read_one(&src, path, &ts, &frames)
                                         : NULL;
    ok(t, in != NULL && in->status == TL_OK && frames == 3,
       "two interfaces, two sections, a lying ISB: 3 frames, no error");
    ok(t, in != NULL && in->has_endtime && in->endtime_us == INT64_C(1700000010750000),
       "the latest end: interface 1's, 2^-20 s units and +100 s");
    ok(t,
       in != NULL && in->has_ifstats && in->if_recv == 14 && in->if_drop == 2 && in->os_drop == 3,
       "each interface's last ISB, summed: recv 14, drop 2, osdrop 3");
    if (in != NULL && in->error[0] != '\0')
        printf("#   error: %s\n", in->error);
    tl_source_free(src);

    ng_epb(&g, 0, UINT64_C(1700000004000000), 60);
    ng_put32_at(&g, g.n - 4, 4096); /* the trailer lies: libpcap stops */
    ng_isb(&g, 0, true, UINT64_C(1700000009000000), 1, 0, false, 0);
    path = tmp_path(tp, "two-bad.pcapng");
    in = write_bytes(path, g.b, g.n) ? read_one(&src, path, &ts, &frames) : NULL;
    ok(t,
       in != NULL && in->status == TL_EFORMAT && frames == 3 && !in->has_endtime &&
           !in->has_ifstats,
       "a block whose trailer lies: read error after 3 frames, no statistics");
    if (in != NULL)
        printf("#   error: %s\n", in->error);
    tl_source_free(src);
}

/* libpcap refuses a pcapng whose interfaces differ in link type; the
 * error says which and how to split the file. */
static void test_mixed_linktypes(struct tap *t, struct tmp *tp)
{
    static struct ng g;
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_idb(&g, 1, -1, false, 0);
    ng_epb(&g, 0, UINT64_C(1700000000000000), 60);
    ng_idb(&g, 276, -1, false, 0);
    ng_epb(&g, 1, UINT64_C(1700000001000000), 60);
    const char *path = tmp_path(tp, "mixed.pcapng");
    struct tl_source *src = NULL;
    int64_t ts = 0;
    int frames = 0;
    const struct tl_input_info *in = write_bytes(path, g.b, g.n)
                                         ? read_one(&src, path, &ts, &frames)
                                         : NULL;
    ok(t, in != NULL && in->status == TL_EFORMAT && frames == 1,
       "EN10MB then LINUX_SLL2 interfaces: the first frame, then an error");
    ok(t,
       in != NULL && strstr(in->error, "interface 1 is LINUX_SLL2 (276)") != NULL &&
           strstr(in->error, "tshark -r IN -Y \"frame.interface_id == 1\" -w T.pcapng") != NULL &&
           strstr(in->error, "editcap -T linux-sll2 -F pcap T.pcapng OUT.pcap") != NULL &&
           strchr(in->error, '\n') == NULL,
       "the error names interface 1 and the tshark and editcap commands, in one line");
    if (in != NULL)
        printf("#   error: %s\n", in->error);
    tl_source_free(src);
}

#ifdef HAVE_ZLIB
/* A gzip file of n records of 1000 bytes, a quarter random (which do not
 * compress), the rest zeros: over two decoded bytes to one compressed. */
static bool write_gz(const char *path, int n)
{
    gzFile gz = gzopen(path, "wb");
    if (gz == NULL)
        return false;
    static const uint8_t hdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
                                    0,    0,    0,    0,    0, 0, 4, 0, 1, 0, 0, 0};
    bool good = gzwrite(gz, hdr, sizeof hdr) == (int)sizeof hdr;
    srand(7);
    for (int i = 0; i < n && good; i++) {
        uint8_t rec[16 + 1000];
        memset(rec, 0, 16);
        rec[0] = (uint8_t)(i + 1);
        rec[8] = rec[12] = 1000 & 0xff;
        rec[9] = rec[13] = 1000 >> 8;
        for (int k = 16; k < (int)sizeof rec; k++)
            rec[k] = k % 4 == 0 ? (uint8_t)rand() : 0;
        good = gzwrite(gz, rec, sizeof rec) == (int)sizeof rec;
    }
    return gzclose(gz) == Z_OK && good;
}

/* The progress of a compressed file counts its compressed bytes: at half
 * the frames, about half of them (the decoder reads 256 KB at a time);
 * counting decoded bytes would reach the total there. */
static void test_gz_progress(struct tap *t, struct tmp *tp)
{
    const char *path = tmp_path(tp, "big.pcap.gz");
    enum { N = 3000 };
    bool made = write_gz(path, N);
    long size = file_size(path);
    struct tl_source_cfg cfg = {NULL, 0, NULL, false, NULL, 0};
    struct tl_source *src = made ? open_src(&path, 1, &cfg) : NULL;
    struct tl_read_progress p = {0, 0, 0}, half = {0, 0, 0};
    struct tl_frame f;
    int n = 0;
    while (src != NULL && tl_source_next(src, &f) == TL_OK) {
        if (++n == N / 2)
            tl_source_progress(src, &half);
    }
    if (src != NULL)
        tl_source_progress(src, &p);
    ok(t, n == N && p.total == (uint64_t)size && size < N * 1016 / 2,
       "a .gz: every frame; the total is the compressed size, well under the decoded one");
    ok(t, half.bytes > half.total / 5 && half.bytes < half.total * 4 / 5 && p.bytes == p.total,
       "a .gz: at half the frames about half the compressed bytes, at the end all of them");
    printf("#   at half: %llu of %llu\n", (unsigned long long)half.bytes,
           (unsigned long long)half.total);
    printf("#   %llu of %llu bytes\n", (unsigned long long)p.bytes, (unsigned long long)p.total);
    tl_source_free(src);
}
#endif

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep the TAP lines if a sanitizer aborts */
    struct tap t = {0, 0};
    struct tmp tp;
    if (!tmp_init(&tp)) {
        printf("Bail out! cannot make a temporary directory\n");
        return 1;
    }
    test_merge(&t, &tp);
    test_filter(&t, &tp);
    test_filter_linktype(&t, &tp);
    test_bad_inputs(&t, &tp);
    test_cut(&t, &tp);
    test_nano(&t, &tp);
    test_linktype(&t, &tp);
    test_formats(&t, &tp);
    test_extreme_times(&t, &tp);
    test_stdin(&t, &tp);
    test_progress(&t, &tp);
    test_isb_sample(&t);
    test_isb_clock(&t, &tp);
    test_isb_source(&t, &tp);
    test_mixed_linktypes(&t, &tp);
#ifdef HAVE_ZLIB
    test_gz_progress(&t, &tp);
#endif
    tmp_cleanup(&tp);
    return tap_done(&t);
}
