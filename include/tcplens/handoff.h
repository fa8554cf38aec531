/*
 * The handoff: the ordering stage and the formatters on a thread of their
 * own (--threads 2). The engine copies each finished connection's view
 * into a queue and goes on with the next packet; the thread takes them in
 * the order they came and hands each to the ordering stage, as the engine
 * would have. Output is the same byte for byte: one thread formats, in
 * one order. The queue holds at most TL_HANDOFF_DEPTH connections, so
 * memory stays bounded when formatting is the slower side.
 */
#ifndef TCPLENS_HANDOFF_H
#define TCPLENS_HANDOFF_H

#include "tcplens/model.h"
#include "tcplens/order.h"
#include "tcplens/status.h"

#define TL_HANDOFF_DEPTH 1024

/* The thread sleeps until this many wait (or the end): waking it for
 * each connection cost a system call each, more than the formatting. */
#define TL_HANDOFF_BATCH 256

struct tl_handoff;

/* Starts the thread in front of o (borrowed until tl_handoff_finish()).
 * NULL when out of memory or the thread could not start. */
TL_MUST_CHECK struct tl_handoff *tl_handoff_new(struct tl_order *o);

/*
 * Queues a copy of v; oldest is what tl_order_oldest_held() is told before
 * it. Waits while the queue is full. Returns the first failure the thread
 * met so far (its ordering stage's), or TL_ENOMEM when the copy could not
 * be made.
 */
TL_MUST_CHECK enum tl_status tl_handoff_conn(struct tl_handoff *h, const struct tl_conn_view *v,
                                             uint64_t oldest);

/* Waits until the thread has handed on everything queued, and stops it.
 * The ordering stage is the caller's again. Returns the first failure. */
TL_MUST_CHECK enum tl_status tl_handoff_finish(struct tl_handoff *h);

/* Stops the thread if it still runs, and frees h and what is queued. */
void tl_handoff_free(struct tl_handoff *h);

#endif
