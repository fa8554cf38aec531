/*
 * The ordering stage between the engine and the reporters. Connections end
 * in any order (a long one can outlive thousands of short ones) and are
 * written in first-seen (id) order. Each reporter formats a connection once,
 * when it ends; the texts of one that ended before an older one wait here,
 * all reporters' together, in memory up to a budget, then in one overflow
 * file, until every older connection has come. Memory is bounded: past
 * TL_ORDER_WAIT_MAX waiting connections, they are written at once and the
 * older ones still open come later, counted as out of order.
 */
#ifndef TCPLENS_ORDER_H
#define TCPLENS_ORDER_H

#include "tcplens/report.h"

/* Reporters one stage can feed. */
#define TL_ORDER_MAX_REPORTS 8

/* Connections kept waiting for older ones at most. Each costs an entry
 * even when its text is in the overflow file, so without a cap one
 * connection open through a flood of short ones would make memory (and the
 * overflow file) grow with every one of them. Past it, every waiting
 * connection is written at once, in order: those still open that they
 * waited for come later, out of first-seen order, and are counted
 * (summary.connections_out_of_order in JSON). */
#define TL_ORDER_WAIT_MAX ((size_t)1 << 16)

struct tl_order;

/* A stage in front of n reporters (borrowed; they must outlive it). The
 * memory budget for waiting text is the smallest of their wait_budget.
 * NULL when out of memory or n is too large. */
TL_MUST_CHECK struct tl_order *tl_order_new(struct tl_report *const *reports, size_t n);

/* Takes one finished connection: every reporter tallies it and formats it
 * if it lists it; the texts go out now if it is the connection's turn. */
TL_MUST_CHECK enum tl_status tl_order_conn(struct tl_order *o, const struct tl_conn_view *v);

/* Every connection with an id below oldest has been handed over, or is being
 * handed over now: no place is kept for those that nobody lists. */
void tl_order_oldest_held(struct tl_order *o, uint64_t oldest);

/* Writes everything still waiting, in id order (the end of the run). */
TL_MUST_CHECK enum tl_status tl_order_flush(struct tl_order *o);

/* The tallies of every connection it took (tl_run.summary). */
const struct report_summary *tl_order_summary(const struct tl_order *o);

/* Adds the host-level anomalies to those tallies, once. */
void tl_order_tally_hosts(struct tl_order *o, const struct tl_host_anomaly_list *h);

/* Connections waiting for an older one. */
size_t tl_order_waiting(const struct tl_order *o);

void tl_order_free(struct tl_order *o);

#endif
