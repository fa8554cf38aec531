/* The live capture loop (private to the program). */
#ifndef TCPLENS_LIVE_H
#define TCPLENS_LIVE_H

#include "cli.h"
#include "tcplens/engine.h"
#include "tcplens/source.h"

/*
 * Runs until SIGINT or SIGTERM, --duration, or -c packets: packets go to
 * the engine as they arrive, the engine's clock follows the wall clock
 * while the link is quiet, SIGUSR1 (and --snapshot-interval) print a
 * snapshot of the open connections on stderr. Signals are read from a
 * signalfd, so no handler and no global flag is needed. Returns TL_OK or
 * the first failure.
 */
enum tl_status tl_live_run(const struct tl_cli *cli, struct tl_source *src, struct tl_engine *e);

/* Prints a snapshot of the connections e holds on out (also done when the
 * run stops). */
void tl_live_snapshot(const struct tl_engine *e, int64_t now_us, FILE *out);

/* Blocks SIGINT, SIGTERM and SIGUSR1 from the start of a live run, so that
 * none can kill tcplens before the loop reads them (they stay pending). */
bool tl_live_block_signals(void);

/* Drops root privileges to user (-Z); false with a message on failure. */
bool tl_live_drop_privileges(const char *user);

#endif
