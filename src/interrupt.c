/* Signals during a file read: see interrupt.h. */
#include "interrupt.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void read_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGUSR1);
}

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

bool tl_interrupt_block(void)
{
    sigset_t set;
    read_signals(&set);
    return sigprocmask(SIG_BLOCK, &set, NULL) == 0;
}

void tl_interrupt_open(struct tl_interrupt *in)
{
    sigset_t set;
    read_signals(&set);
    in->signo = 0;
    in->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (in->fd < 0)
        sigprocmask(SIG_UNBLOCK, &set, NULL);
}

enum tl_intr tl_interrupt_poll(struct tl_interrupt *in)
{
    enum tl_intr what = TL_INTR_NONE;
    struct signalfd_siginfo si;
    while (in->fd >= 0 && read(in->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1) {
            if (what == TL_INTR_NONE)
                what = TL_INTR_SNAPSHOT;
        } else {
            what = TL_INTR_STOP;
            if (in->signo == 0)
                in->signo = (int)si.ssi_signo;
        }
    }
    return what;
}

void tl_interrupt_close(struct tl_interrupt *in)
{
    /* One that came since the last look is taken here, not acted on by
     * its default once unblocked: the whole input was read, the reports
     * are complete, and tcplens ends by that signal after writing them. */
    (void)tl_interrupt_poll(in);
    if (in->fd >= 0)
        close(in->fd);
    in->fd = -1;
    sigset_t set;
    stop_signals(&set);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void tl_interrupt_reraise(const struct tl_interrupt *in)
{
    if (in->signo == 0)
        return;
    signal(in->signo, SIG_DFL);
    raise(in->signo);
}
