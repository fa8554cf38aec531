/*
 * The pcapng blocks libpcap skips, read from the byte stream it reads
 * (pcapng_scan.h). Blocks are framed exactly as libpcap frames them (the
 * header's length, at least 12 and a multiple of 4, else the scanner stops
 * where libpcap stops), so the two never disagree on where a block starts.
 * Only what is needed is kept: a Section Header Block's byte order, an
 * Interface Description Block's link type and time options, a packet
 * block's interface and time, and an Interface Statistics Block whole;
 * every other byte is passed by without a copy.
 *
 * Block and option numbers: the pcapng draft (draft-ietf-opsawg-pcapng),
 * sections 4.1 (SHB), 4.2 (IDB: if_tsresol 9, if_tsoffset 14), 4.3 (EPB),
 * 4.6 (ISB: isb_starttime 2, isb_endtime 3, isb_ifrecv 4, isb_ifdrop 5,
 * isb_filteraccept 6, isb_osdrop 7, isb_usrdeliv 8).
 */
#include "tcplens/pcapng_scan.h"

#include <stdlib.h>

#define BT_SHB UINT32_C(0x0A0D0D0A) /* the same bytes in both byte orders */
#define BT_IDB 1
#define BT_PB 2 /* obsolete Packet Block: interface and time as an EPB's */
#define BT_ISB 5
#define BT_EPB 6
#define BYTE_ORDER_MAGIC UINT32_C(0x1A2B3C4D)

#define HEAD 12          /* type, length, and an SHB's byte-order magic */
#define PKT_HEAD 20      /* a packet block's interface and time too */
#define KEEP_MAX 65536   /* the largest IDB or ISB read whole */
#define FIRST_IFACES 8   /* room for interfaces made at the start */
#define MAX_IFACES 65536 /* interfaces whose statistics are kept */
#define USEC 1000000u    /* the resolution tcplens asks libpcap for */
#define QUIRK_WINDOW_SEC (366 * 24 * 3600)

#define OPT_END 0
#define IF_TSRESOL 9
#define IF_TSOFFSET 14
#define ISB_STARTTIME 2
#define ISB_ENDTIME 3
#define ISB_IFRECV 4
#define ISB_IFDROP 5
#define ISB_FILTERACCEPT 6
#define ISB_OSDROP 7
#define ISB_USRDELIV 8

/* How libpcap scales a fraction of the interface's unit to microseconds
 * (sf-pcapng.c: the two binary cases are the same arithmetic). */
enum scale { PASS_THROUGH, SCALE_UP_DEC, SCALE_DOWN_DEC, SCALE_BIN };

/* A time as libpcap hands it out: seconds (time_t) and microseconds. */
struct when {
    int64_t sec;
    int32_t usec;
};

struct iface {
    uint64_t tsresol; /* units a second */
    int64_t tsoffset; /* seconds */
    uint64_t factor;  /* for the decimal scalings */
    uint8_t scale;
    bool times_ok; /* its IDB was whole and its time options valid */
    bool has_pkt;
    struct when last_pkt; /* its latest packet */
    /* Its last ISB: */
    bool has_end, has_counts;
    uint64_t end_raw; /* isb_endtime, in the interface's units */
    uint64_t recv, drop, osdrop;
};

struct tl_pcapng_scan {
    bool off;               /* not pcapng, or its block boundaries lost: stopped */
    bool nomem;             /* an interface could not be kept for lack of memory */
    bool started;           /* the first block's head has been seen */
    bool le;                /* the current section is little-endian */
    uint32_t nifs;          /* interfaces seen, every section */
    uint32_t section_first; /* the current section's first interface */
    uint32_t nkept, cap;    /* of those, the ones in ifs */
    struct iface *ifs;
    bool has_first_lt, other;
    uint32_t first_lt, other_if, other_lt;
    /* The block being read: */ uint8_t *buf; /* KEEP_MAX bytes, made at the start */
    size_t have, want;                        /* bytes of it in buf, and the bytes wanted there */
    bool head_done;
    uint32_t type, len;
    uint64_t skip; /* bytes of it still to pass by */
};

static uint16_t rd16(const struct tl_pcapng_scan *s, const uint8_t *p)
{
    return s->le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const struct tl_pcapng_scan *s, const uint8_t *p)
{
    if (s->le)
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t rd64(const struct tl_pcapng_scan *s, const uint8_t *p)
{
    uint64_t a = rd32(s, p), b = rd32(s, p + 4);
    return s->le ? b << 32 | a : a << 32 | b;
}

/* A pcapng time: two 32-bit words, the high one first, each in the
 * section's byte order (EPB timestamps, isb_starttime and isb_endtime). */
static uint64_t rd_time(const struct tl_pcapng_scan *s, const uint8_t *p)
{
    return (uint64_t)rd32(s, p) << 32 | rd32(s, p + 4);
}

static bool earlier(struct when a, struct when b)
{
    return a.sec < b.sec || (a.sec == b.sec && a.usec < b.usec);
}

/* Exactly libpcap's conversion of a packet's time (pcap_ng_next_packet):
 * unsigned 64-bit arithmetic, wrapping where it wraps. */
static struct when convert(const struct iface *f, uint64_t t)
{
    uint64_t sec = t / f->tsresol + (uint64_t)f->tsoffset;
    uint64_t frac = t % f->tsresol;
    switch (f->scale) {
    case SCALE_UP_DEC: frac *= f->factor; break;
    case SCALE_DOWN_DEC: frac /= f->factor; break;
    case SCALE_BIN:
        frac *= USEC;
        frac /= f->tsresol;
        break;
    default: break;
    }
    return (struct when){(int64_t)sec, (int32_t)frac};
}

/* The file's end time for one interface. dumpcap writes isb_endtime in
 * microseconds whatever its IDB's if_tsresol says (Wireshark's
 * writecap/pcapio.c takes ISB times from gettimeofday()), and says
 * nanoseconds on Linux: read by the spec, its capture ends in January
 * 1970, before its own packets. An end before the interface's last packet
 * cannot be right (the spec: the time the capture ended); when the same
 * number read as microseconds falls at or after that packet (within a
 * year), it was written in microseconds. */
static struct when end_time(const struct iface *f)
{
    struct when end = convert(f, f->end_raw);
    if (!f->has_pkt || !earlier(end, f->last_pkt) || f->tsresol == USEC)
        return end;
    struct iface us = *f;
    us.tsresol = USEC;
    us.scale = PASS_THROUGH;
    struct when alt = convert(&us, f->end_raw);
    /* alt is not earlier: the unsigned difference is the true one. */
    if (!earlier(alt, f->last_pkt) &&
        (uint64_t)alt.sec - (uint64_t)f->last_pkt.sec <= QUIRK_WINDOW_SEC)
        return alt;
    return end;
}

/* if_tsresol as libpcap takes it: a power of 10 up to 10^19, or of 2 up
 * to 2^63; false for any other. */
static bool set_tsresol(struct iface *f, uint8_t v)
{
    bool binary = (v & 0x80) != 0;
    unsigned exp = v & 0x7f;
    if (binary ? exp > 63 : exp > 19)
        return false;
    uint64_t r = 1;
    for (unsigned i = 0; i < exp; i++)
        r = binary ? r * 2 : r * 10;
    f->tsresol = r;
    if (r == USEC)
        f->scale = PASS_THROUGH;
    else if (binary)
        f->scale = SCALE_BIN;
    else if (r > USEC)
        f->scale = SCALE_DOWN_DEC, f->factor = r / USEC;
    else
        f->scale = SCALE_UP_DEC, f->factor = USEC / r;
    return true;
}

/* One option of an options list: code, length, value. False when the list
 * ends (n == 0) or its next option does not fit, which *bad says. */
struct opt {
    uint16_t code, len;
    const uint8_t *val;
};

static bool next_opt(const struct tl_pcapng_scan *s, const uint8_t **p, size_t *n, struct opt *o,
                     bool *bad)
{
    *bad = false;
    if (*n == 0)
        return false;
    if (*n < 4) {
        *bad = true;
        return false;
    }
    o->code = rd16(s, *p);
    o->len = rd16(s, *p + 2);
    size_t padded = ((size_t)o->len + 3) & ~(size_t)3;
    if (padded > *n - 4) {
        *bad = true;
        return false;
    }
    o->val = *p + 4;
    *p += 4 + padded;
    *n -= 4 + padded;
    return true;
}

/* An IDB's options, checked as libpcap checks them (process_idb_options):
 * false where libpcap refuses the block. */
static bool idb_options(const struct tl_pcapng_scan *s, struct iface *f, const uint8_t *p, size_t n)
{
    bool saw_tsresol = false, saw_tsoffset = false, bad;
    struct opt o;
    while (next_opt(s, &p, &n, &o, &bad)) {
        if (o.code == OPT_END)
            return o.len == 0;
        if (o.code == IF_TSRESOL) {
            if (o.len != 1 || saw_tsresol || !set_tsresol(f, o.val[0]))
                return false;
            saw_tsresol = true;
        } else if (o.code == IF_TSOFFSET) {
            if (o.len != 8 || saw_tsoffset)
                return false;
            f->tsoffset = (int64_t)rd64(s, o.val);
            saw_tsoffset = true;
        }
    }
    return !bad;
}

/* The block's trailer repeats its length: libpcap refuses it otherwise. */
static bool whole_block(const struct tl_pcapng_scan *s)
{
    return s->want == s->len && rd32(s, s->buf + s->len - 4) == s->len;
}

/* Room for one more interface's record; NULL past MAX_IFACES or out of
 * memory (the interface is then only counted). */
static struct iface *new_iface(struct tl_pcapng_scan *s)
{
    if (s->nkept == s->cap) {
        uint32_t cap = s->cap * 2;
        if (cap > MAX_IFACES)
            return NULL;
        struct iface *ifs = realloc(s->ifs, cap * sizeof *ifs);
        if (ifs == NULL) {
            s->nomem = true;
            return NULL;
        }
        s->ifs = ifs;
        s->cap = cap;
    }
    struct iface *f = &s->ifs[s->nkept++];
    memset(f, 0, sizeof *f);
    f->tsresol = USEC; /* the pcapng default */
    f->scale = PASS_THROUGH;
    return f;
}

/* The interface a block of the current section names, if it is kept. */
static struct iface *iface_in_section(struct tl_pcapng_scan *s, uint32_t id)
{
    if (id >= s->nifs - s->section_first)
        return NULL;
    uint32_t global = s->section_first + id;
    return global < s->nkept ? &s->ifs[global] : NULL;
}

static void note_linktype(struct tl_pcapng_scan *s, uint32_t lt, uint32_t global)
{
    if (!s->has_first_lt) {
        s->has_first_lt = true;
        s->first_lt = lt;
    } else if (lt != s->first_lt && !s->other) {
        s->other = true;
        s->other_if = global;
        s->other_lt = lt;
    }
}

/* IDB: link type (2 bytes), reserved (2), snaplen (4), options. */
static void on_idb(struct tl_pcapng_scan *s)
{
    if (s->nifs == UINT32_MAX)
        return;
    uint32_t global = s->nifs++;
    /* Kept while every interface before it is, so that ifs[i] is
     * interface i. */
    struct iface *f = s->nkept == global ? new_iface(s) : NULL;
    if (s->len < 20 || s->want < 20)
        return; /* no link type: libpcap refuses it */
    note_linktype(s, rd16(s, s->buf + 8), global);
    if (f != NULL)
        f->times_ok = whole_block(s) && idb_options(s, f, s->buf + 16, s->len - 20);
}

/* EPB: interface (4 bytes), time (8); PB: interface (2), drops (2), time. */
static void on_packet(struct tl_pcapng_scan *s)
{
    if (s->want < PKT_HEAD)
        return;
    uint32_t id = s->type == BT_EPB ? rd32(s, s->buf + 8) : rd16(s, s->buf + 8);
    struct iface *f = iface_in_section(s, id);
    if (f == NULL || !f->times_ok)
        return;
    struct when t = convert(f, rd_time(s, s->buf + 12));
    if (!f->has_pkt || earlier(f->last_pkt, t))
        f->last_pkt = t;
    f->has_pkt = true;
}

/* ISB: interface (4 bytes), time (8), options. A block that is cut, lies
 * about its length or has an option of the wrong size is ignored whole. */
static void on_isb(struct tl_pcapng_scan *s)
{
    if (s->len < 24 || !whole_block(s))
        return;
    struct iface *f = iface_in_section(s, rd32(s, s->buf + 8));
    if (f == NULL)
        return;
    struct iface v = {0};
    const uint8_t *p = s->buf + 20;
    size_t n = s->len - 24;
    struct opt o;
    bool bad;
    while (next_opt(s, &p, &n, &o, &bad) && o.code != OPT_END) {
        if (o.code < ISB_STARTTIME || o.code > ISB_USRDELIV)
            continue; /* a comment, or a custom option */
        if (o.len != 8)
            return;
        if (o.code == ISB_ENDTIME)
            v.has_end = true, v.end_raw = rd_time(s, o.val);
        else if (o.code == ISB_IFRECV)
            v.has_counts = true, v.recv = rd64(s, o.val);
        else if (o.code == ISB_IFDROP)
            v.has_counts = true, v.drop = rd64(s, o.val);
        else if (o.code == ISB_OSDROP)
            v.has_counts = true, v.osdrop = rd64(s, o.val);
    }
    if (bad)
        return;
    f->has_end = v.has_end;
    f->end_raw = v.end_raw;
    f->has_counts = v.has_counts;
    f->recv = v.recv;
    f->drop = v.drop;
    f->osdrop = v.osdrop;
}

/* The bytes of a block worth keeping: the head only for most; the head and
 * the interface and time of a packet block; an IDB or ISB whole when it
 * is not huge (an IDB's link type is kept even then). */
static size_t bytes_wanted(uint32_t type, uint32_t len)
{
    if (type == BT_IDB || type == BT_ISB) {
        if (len <= KEEP_MAX)
            return len;
        return type == BT_IDB ? 20 : HEAD;
    }
    if ((type == BT_EPB || type == BT_PB) && len >= PKT_HEAD)
        return PKT_HEAD;
    return HEAD;
}

/* The first 12 bytes of a block are in: its type and length (an SHB sets
 * the byte order, from its magic, before its length is read). */
static void on_head(struct tl_pcapng_scan *s)
{
    static const uint8_t shb[4] = {0x0a, 0x0d, 0x0d, 0x0a};
    bool is_shb = memcmp(s->buf, shb, 4) == 0;
    if (!s->started && !is_shb) {
        s->off = true; /* not pcapng */
        return;
    }
    s->started = true;
    if (is_shb) {
        s->le = true;
        if (rd32(s, s->buf + 8) != BYTE_ORDER_MAGIC)
            s->le = false;
        if (rd32(s, s->buf + 8) != BYTE_ORDER_MAGIC) {
            s->off = true; /* libpcap refuses it too */
            return;
        }
    }
    s->type = rd32(s, s->buf);
    s->len = rd32(s, s->buf + 4);
    /* libpcap's own checks (read_block): past them it reads no further. */
    if (s->len < HEAD || s->len % 4 != 0 || (is_shb && s->len < 28)) {
        s->off = true;
        return;
    }
    s->want = bytes_wanted(s->type, s->len); /* at most KEEP_MAX */
    s->head_done = true;
}

/* The kept bytes of the block are in: take what it says, pass the rest. */
static void on_block(struct tl_pcapng_scan *s)
{
    if (s->type == BT_SHB)
        s->section_first = s->nifs; /* interface numbers start again */
    else if (s->type == BT_IDB)
        on_idb(s);
    else if (s->type == BT_EPB || s->type == BT_PB)
        on_packet(s);
    else if (s->type == BT_ISB)
        on_isb(s);
    s->skip = s->len - s->want;
    s->have = 0;
    s->want = HEAD;
    s->head_done = false;
}

struct tl_pcapng_scan *tl_pcapng_scan_new(void)
{ /* Everything a file with a few interfaces needs, made now: past this
     * point only an interface beyond the first FIRST_IFACES allocates. */
    struct tl_pcapng_scan *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->buf = malloc(KEEP_MAX);
    s->ifs = malloc(FIRST_IFACES * sizeof *s->ifs);
    if (s->buf == NULL || s->ifs == NULL) {
        tl_pcapng_scan_free(s);
        return NULL;
    }
    s->cap = FIRST_IFACES;
    s->want = HEAD;
    return s;
}

void tl_pcapng_scan_feed(struct tl_pcapng_scan *s, const uint8_t *p, size_t n)
{
    while (n > 0 && !s->off) {
        if (s->skip > 0) {
            size_t k = s->skip < n ? (size_t)s->skip : n;
            p += k;
            n -= k;
            s->skip -= k;
            continue;
        }
        size_t k = s->want - s->have < n ? s->want - s->have : n;
        memcpy(s->buf + s->have, p, k);
        s->have += k;
        p += k;
        n -= k;
        if (s->have < s->want)
            continue;
        if (!s->head_done)
            on_head(s);
        if (!s->off && s->head_done && s->have == s->want)
            on_block(s);
    }
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

void tl_pcapng_scan_stats(const struct tl_pcapng_scan *s, struct tl_pcapng_stats *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < s->nkept; i++) {
        const struct iface *f = &s->ifs[i];
        if (f->has_end && f->times_ok) {
            struct when end = end_time(f);
            struct when best = {out->end_sec, out->end_usec};
            if (!out->has_endtime || earlier(best, end)) {
                out->end_sec = end.sec;
                out->end_usec = end.usec;
            }
            out->has_endtime = true;
        }
        if (f->has_counts) {
            out->has_ifstats = true;
            out->if_recv = sat_add(out->if_recv, f->recv);
            out->if_drop = sat_add(out->if_drop, f->drop);
            out->os_drop = sat_add(out->os_drop, f->osdrop);
        }
    }
}

bool tl_pcapng_scan_nomem(const struct tl_pcapng_scan *s) { return s->nomem; }

bool tl_pcapng_scan_other_linktype(const struct tl_pcapng_scan *s, uint32_t *iface,
                                   uint32_t *linktype)
{
    if (!s->other)
        return false;
    *iface = s->other_if;
    *linktype = s->other_lt;
    return true;
}

void tl_pcapng_scan_free(struct tl_pcapng_scan *s)
{
    if (s == NULL)
        return;
    free(s->ifs);
    free(s->buf);
    free(s);
}
