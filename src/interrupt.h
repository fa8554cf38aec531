/*
 * Signals during a file read (private to the program). SIGINT and SIGTERM
 * stop the read: the reports are written for what was read, marked
 * partial. SIGUSR1 asks for the progress and a snapshot of the open
 * connections, and the read goes on. As in live capture (live.c), the
 * three are blocked from the start and read from a signalfd between
 * frames: no handler runs, so no global flag is needed, and the engine's
 * thread, started after the block, inherits it and never takes them.
 */
#ifndef TCPLENS_INTERRUPT_H
#define TCPLENS_INTERRUPT_H

#include <stdbool.h>

enum tl_intr {
    TL_INTR_NONE = 0,
    TL_INTR_SNAPSHOT, /* SIGUSR1 */
    TL_INTR_STOP,     /* SIGINT or SIGTERM */
};

struct tl_interrupt {
    int fd;    /* the signalfd, -1 when none */
    int signo; /* the signal that stopped the read, 0 for none */
};

/* Blocks the three signals; before any thread starts. False when it
 * cannot (the signals then keep their default actions). */
bool tl_interrupt_block(void);

/* Opens the signalfd; without one (fd -1) the signals are unblocked and
 * keep their default actions. */
void tl_interrupt_open(struct tl_interrupt *in);

/* What came since the last look (a stop wins over a snapshot). Cheap
 * enough every few thousand frames: one read(2). */
enum tl_intr tl_interrupt_poll(struct tl_interrupt *in);

/* The read is over: SIGINT and SIGTERM get their default action back, so
 * that a second one (or one while the reports are written) ends tcplens
 * at once. SIGUSR1 stays blocked: from now on it is ignored. */
void tl_interrupt_close(struct tl_interrupt *in);

/* After the reports: ends the process by the SIGINT or SIGTERM that came
 * during the read (it stopped it, or came as the input ended), as a shell
 * expects of an interrupted command (its loop stops too). Returns when
 * none came, or when raising it fails. */
void tl_interrupt_reraise(const struct tl_interrupt *in);

#endif
