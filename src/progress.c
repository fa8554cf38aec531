/* The progress line of long file reads: see progress.h. */
#include "progress.h"

#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "tcplens/tcpstate.h"

/*
 * The clock is read every `every` frames. A look sooner than LOOK_SOON_NS
 * after the last one doubles the interval, one later than LOOK_LATE_NS
 * halves it: a fast file costs a few dozen clock reads a second, and a
 * slow pipe still gets its line on time.
 */
#define EVERY_MIN 64u
#define EVERY_START 1024u
#define EVERY_MAX 65536u
#define LOOK_SOON_NS (TL_PROGRESS_PERIOD_NS / 8)
#define LOOK_LATE_NS TL_PROGRESS_PERIOD_NS

#define NS_PER_SEC 1000000000LL

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Scales v below 1000 and gives its decimal prefix ('\0' for none). */
static char shorten(double *v)
{
    static const char prefix[] = "kMGTPE";
    char p = '\0';
    for (size_t i = 0; *v >= 999.5 && i < sizeof prefix - 1; i++) {
        *v /= 1000;
        p = prefix[i];
    }
    return p;
}

/* Decimals that leave three significant digits of a scaled value. */
static int decimals(double v) { return v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2; }

/* With unit "B": "812 B", "41.3 MB", "1.50 GB"; with "": "812", "1.52k". */
static void fmt_scaled(char *buf, size_t size, double v, const char *unit)
{
    char p = shorten(&v);
    const char *gap = unit[0] != '\0' ? " " : "";
    if (p == '\0')
        snprintf(buf, size, "%.0f%s%s", v, gap, unit);
    else
        snprintf(buf, size, "%.*f%s%c%s", decimals(v), v, gap, p, unit);
}

/* "0:42", "12:05", "1:02:03". */
static void fmt_time(char *buf, size_t size, double secs)
{
    /* Past a thousand hours the estimate means nothing anyway. */
    uint64_t s = secs < 3.6e6 ? (uint64_t)(secs + 0.5) : 3600000;
    if (s >= 3600)
        snprintf(buf, size, "%llu:%02u:%02u", (unsigned long long)(s / 3600),
                 (unsigned)(s / 60 % 60), (unsigned)(s % 60));
    else
        snprintf(buf, size, "%u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
}

/* How much of the run is done, in [0, 1], or -1 when unknown. With -c the
 * run ends when the inputs or the count run out, whichever comes first. */
static double fraction(const struct tl_progress_sample *s)
{
    double f = -1;
    if (s->total > 0)
        f = (double)s->bytes / (double)s->total;
    if (s->max_packets > 0) {
        double g = (double)s->packets / (double)s->max_packets;
        if (g > f)
            f = g;
    }
    return f > 1 ? 1 : f;
}

/* Appends to buf (of size bytes, len used), never past its end. */
static size_t append(char *buf, size_t size, size_t len, const char *text)
{
    size_t n = strlen(text);
    if (len + n >= size)
        n = len + 1 < size ? size - len - 1 : 0;
    memcpy(buf + len, text, n);
    buf[len + n] = '\0';
    return len + n;
}

size_t tl_progress_format(char *buf, size_t size, const struct tl_progress_sample *s,
                          unsigned width)
{
    if (size == 0)
        return 0;
    double t = s->elapsed > 1e-3 ? s->elapsed : 1e-3;
    char a[32], b[32], field[96];
    size_t len = append(buf, size, 0, "tcplens: ");
    fmt_scaled(a, sizeof a, (double)s->bytes, "B");
    if (s->total > 0) {
        fmt_scaled(b, sizeof b, (double)s->total, "B");
        snprintf(field, sizeof field, "%s of %s", a, b);
    } else {
        /* No total to compare with: how fast it comes instead. */
        fmt_scaled(b, sizeof b, (double)s->bytes / t, "B");
        snprintf(field, sizeof field, "%s, %s/s", a, b);
    }
    len = append(buf, size, len, field);
    double f = fraction(s);
    if (f >= 0) {
        snprintf(field, sizeof field, ", %d%%", (int)(f * 100));
        len = append(buf, size, len, field);
    }
    if (f > 0) {
        fmt_time(a, sizeof a, t * (1 - f) / f);
        snprintf(field, sizeof field, ", ETA %s", a);
        len = append(buf, size, len, field);
    }
    fmt_scaled(a, sizeof a, (double)s->frames / t, "");
    snprintf(field, sizeof field, ", %s packets/s, %zu connection%s open", a, s->open,
             s->open == 1 ? "" : "s");
    len = append(buf, size, len, field);
    /* The last column stays free: a full line would wrap, and the next
     * redraw would start on the row below. */
    if (width > 0 && len >= width) {
        len = width - 1;
        buf[len] = '\0';
    }
    return len;
}

void tl_progress_start(struct tl_progress *p, FILE *out, const struct tl_source *src,
                       const struct tl_engine *e, uint64_t max_packets)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->src = src;
    p->e = e;
    p->max_packets = max_packets;
    p->every = EVERY_START;
    /* Off, the clock is never read: the count only wraps. */
    p->left = out != NULL ? p->every : UINT32_MAX;
    /* The rates of a snapshot (SIGUSR1) need the start even without a line. */
    p->start_ns = p->last_look_ns = now_ns();
    if (out == NULL)
        return;
    p->next_draw_ns = p->start_ns + TL_PROGRESS_DELAY_NS;
}

/* Columns of the terminal out is, 0 when it is none. */
static unsigned columns(FILE *out)
{
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

static void sample(const struct tl_progress *p, int64_t now, struct tl_progress_sample *s)
{
    struct tl_read_progress rp;
    tl_source_progress(p->src, &rp);
    *s = (struct tl_progress_sample){.bytes = rp.bytes,
                                     .total = rp.total,
                                     .frames = rp.frames,
                                     .packets = tl_engine_capture(p->e)->packets,
                                     .max_packets = p->max_packets,
                                     .open = tl_engine_open_count(p->e),
                                     .elapsed = (double)(now - p->start_ns) / NS_PER_SEC};
}

static void draw(struct tl_progress *p, int64_t now)
{
    struct tl_progress_sample s;
    sample(p, now, &s);
    /* Back to the start of the line, the text, then clear what a longer
     * line before left: one write(2). */
    char line[256];
    line[0] = '\r';
    size_t n = 1 + tl_progress_format(line + 1, sizeof line - 4, &s, columns(p->out));
    memcpy(line + n, "\033[K", 3);
    n += 3;
    fwrite(line, 1, n, p->out);
    fflush(p->out);
    p->shown = true;
}

void tl_progress_look(struct tl_progress *p)
{
    if (p->out == NULL) {
        p->left = UINT32_MAX;
        return;
    }
    int64_t now = now_ns();
    int64_t gap = now - p->last_look_ns;
    p->last_look_ns = now;
    if (gap < LOOK_SOON_NS && p->every < EVERY_MAX)
        p->every *= 2;
    else if (gap > LOOK_LATE_NS && p->every > EVERY_MIN)
        p->every /= 2;
    p->left = p->every;
    if (now < p->next_draw_ns)
        return;
    p->next_draw_ns = now + TL_PROGRESS_PERIOD_NS;
    draw(p, now);
}

/* The open connections' endpoint states, counted by role. */
struct tally {
    size_t open;
    size_t n[2][TL_EP_NSTATES];
};

static void count_one(void *ctx, const struct tl_conn_view *v)
{
    struct tally *t = ctx;
    /* An ended connection lingering for late packets is not open. */
    if (v->tcp == NULL || tl_tcpstate_ended(v->tcp))
        return;
    t->open++;
    for (int role = 0; role < 2; role++) {
        unsigned st = v->tcp->ep[role].state;
        t->n[role][st < TL_EP_NSTATES ? st : TL_EP_UNKNOWN]++;
    }
}

/* "client ESTABLISHED 812, SYN_SENT 3": the states held, in the
 * diagram's order. */
static void print_states(FILE *out, const char *who, const size_t *n)
{
    fprintf(out, "tcplens:   %s", who);
    const char *sep = " ";
    for (int st = 0; st < TL_EP_NSTATES; st++) {
        if (n[st] == 0)
            continue;
        fprintf(out, "%s%s %zu", sep, tl_ep_state_name((enum tl_ep_state)st), n[st]);
        sep = ", ";
    }
    fputc('\n', out);
}

void tl_progress_snapshot(struct tl_progress *p, FILE *out)
{
    struct tl_progress_sample s;
    sample(p, now_ns(), &s);
    char line[256];
    tl_progress_format(line, sizeof line, &s, 0);
    struct tally t;
    memset(&t, 0, sizeof t);
    tl_engine_each(p->e, count_one, &t);
    /* Below the progress line, if one is drawn: it is redrawn after. */
    fprintf(out, "%s%s\ntcplens: %zu connection%s open\n", p->shown ? "\r\033[K" : "", line, t.open,
            t.open == 1 ? "" : "s");
    if (t.open > 0) {
        print_states(out, "client", t.n[TL_ROLE_CLIENT]);
        print_states(out, "server", t.n[TL_ROLE_SERVER]);
    }
    fflush(out);
}

void tl_progress_end(struct tl_progress *p)
{
    if (p->out == NULL || !p->shown)
        return;
    fputs("\r\033[K", p->out);
    fflush(p->out);
    p->shown = false;
}
