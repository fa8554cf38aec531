/* The live capture loop: poll on the capture and on a signalfd. */
#include "live.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "tcplens/report.h"
#include "tcplens/tcpstate.h"

/* While the link is quiet the loop still wakes this often, so that idle
 * connections expire and --duration ends on time. */
#define TICK_MS 250

struct live {
    const struct tl_cli *cli;
    struct tl_source *src;
    struct tl_engine *e;
    int sfd;
    int64_t deadline;  /* --duration, 0 = none */
    int64_t next_snap; /* --snapshot-interval, 0 = none */
    bool stop;
};

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * TL_USEC_PER_SEC + ts.tv_nsec / 1000;
}

struct snap_ctx {
    FILE *out;
    int64_t now;
    size_t n;
    bool counting;
};

static void snap_one(void *ctx, const struct tl_conn_view *v)
{
    struct snap_ctx *s = ctx;
    /* Open connections only: an ended one waiting out its grace period
     * has nothing left to say until it is reported. */
    if (v->tcp != NULL && tl_tcpstate_ended(v->tcp))
        return;
    if (s->counting)
        s->n++;
    else
        tl_report_snapshot_line(s->out, s->now, v);
}

void tl_live_snapshot(const struct tl_engine *e, int64_t now_us, FILE *out)
{
    struct snap_ctx s = {out, now_us, 0, true};
    tl_engine_each(e, snap_one, &s);
    tl_report_snapshot_head(out, now_us, s.n);
    s.counting = false;
    tl_engine_each(e, snap_one, &s);
    fflush(out);
}

static void live_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGUSR1);
}

bool tl_live_block_signals(void)
{
    sigset_t set;
    live_signals(&set);
    return sigprocmask(SIG_BLOCK, &set, NULL) == 0;
}

/* A descriptor that reads the (blocked) signals we handle. */
static int open_signals(void)
{
    sigset_t set;
    live_signals(&set);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void on_signals(struct live *l)
{
    struct signalfd_siginfo si;
    while (read(l->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1)
            tl_live_snapshot(l->e, wall_us(), stderr);
        else
            l->stop = true;
    }
}

/* Takes every packet that has arrived; stops the run at -c. */
static enum tl_status drain(struct live *l)
{
    struct tl_frame f;
    enum tl_status st;
    while ((st = tl_source_next(l->src, &f)) == TL_OK) {
        st = tl_engine_feed(l->e, &f);
        if (st != TL_OK)
            return st;
    }
    tl_source_flush(l->src);
    if (st == TL_EOF)
        l->stop = true;
    return st == TL_EAGAIN || st == TL_EOF ? TL_OK : st;
}

/* What the wall clock says: expiry, --duration, --snapshot-interval. */
static enum tl_status on_time(struct live *l)
{
    int64_t now = wall_us();
    if (l->deadline != 0 && now >= l->deadline)
        l->stop = true;
    if (l->next_snap != 0 && now >= l->next_snap) {
        tl_live_snapshot(l->e, now, stderr);
        l->next_snap = now + l->cli->snapshot_us;
    }
    return tl_engine_tick(l->e, now);
}

enum tl_status tl_live_run(const struct tl_cli *cli, struct tl_source *src, struct tl_engine *e)
{
    struct live l = {cli, src, e, open_signals(), 0, 0, false};
    if (l.sfd < 0) {
        fprintf(stderr, "tcplens: cannot watch signals: %s\n", strerror(errno));
        return TL_EIO;
    }
    int64_t start = wall_us();
    if (cli->duration_us > 0)
        l.deadline = start + cli->duration_us;
    if (cli->snapshot_us > 0)
        l.next_snap = start + cli->snapshot_us;
    struct pollfd pfd[2] = {{tl_source_fd(src), POLLIN, 0}, {l.sfd, POLLIN, 0}};
    enum tl_status st = TL_OK;
    while (st == TL_OK && !l.stop) {
        if (poll(pfd, 2, TICK_MS) < 0 && errno != EINTR) {
            st = TL_EIO;
            break;
        }
        on_signals(&l);
        st = drain(&l);
        if (st == TL_OK)
            st = on_time(&l);
    }
    close(l.sfd);
    /* What is still open when the run stops, as ss would list it. */
    tl_live_snapshot(e, wall_us(), stderr);
    return st;
}

bool tl_live_drop_privileges(const char *user)
{
    const struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        fprintf(stderr, "tcplens: -Z %s: no such user\n", user);
        return false;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "tcplens: -Z %s: cannot drop privileges: %s\n", user, strerror(errno));
        return false;
    }
    /* Make sure root cannot be regained. */
    if (pw->pw_uid != 0 && setuid(0) == 0) {
        fprintf(stderr, "tcplens: -Z %s: privileges could be regained; stopping\n", user);
        return false;
    }
    return true;
}
