/*
 * Services and client hosts: per server address:port and per client
 * address, what their connections did (how many, refused, unanswered,
 * reset by each side, timed out, the states they ended in), the
 * handshake's round trips as quantile sketches (sketch.h) and the data
 * retransmission rate. Fed one finished connection at a time by the
 * reports' summary; memory is bounded: at most TL_SVC_MAX services and
 * TL_SVC_MAX hosts (those first met; the connections of the others are
 * counted as untracked), each with two sketches of fixed size.
 */
#ifndef TCPLENS_SERVICES_H
#define TCPLENS_SERVICES_H

#include "tcplens/model.h"
#include "tcplens/sketch.h"

#define TL_SVC_MAX 1024u

struct tl_svc {
    struct tl_addr addr;
    uint16_t port;     /* the server's; 0 in the host table */
    uint32_t hash;     /* of addr and port */
    uint64_t first_id; /* its first connection (the lowest id) */
    uint64_t connections, refused, unanswered, timeouts;
    uint64_t resets[2]; /* connections where the client (0), the server (1) sent an RST */
    uint64_t states[2][TL_EP_NSTATES];
    uint64_t data_segs, retx_segs;
    struct tl_sketch syn_synack, synack_ack;
};

struct tl_svc_table {
    struct tl_svc *e;            /* used entries, as they came */
    const struct tl_svc **order; /* room for cap pointers: tl_svc_sorted()'s */
    uint32_t *index;             /* open addressing over e: entry + 1, 0 free */
    uint32_t isize;              /* index slots: a power of two, at least 2 cap */
    uint32_t n, cap;             /* entries used, and allocated */
    uint32_t max;                /* TL_SVC_MAX, or less for the tests */
    uint64_t untracked;          /* connections of what found the table full */
    bool failed;                 /* an allocation failed: untracked counts them */
};

struct tl_services {
    struct tl_svc_table svc, hosts;
};

/* An empty pair of tables, each holding at most max entries (0: TL_SVC_MAX). */
void tl_services_init(struct tl_services *s, uint32_t max);

/* Takes in one finished connection. */
void tl_services_add(struct tl_services *s, const struct tl_conn_view *v);

/* The entries of t by first connection id: t->n pointers, in room the
 * table holds (nothing is allocated at the end, when memory may be short);
 * NULL when empty. */
const struct tl_svc **tl_svc_sorted(const struct tl_svc_table *t);

/* Whether something could not be counted for want of memory (a table that
 * could not grow, a sketch without counters): the tables would be wrong. */
bool tl_services_failed(const struct tl_services *s);

/* The share of data segments that were retransmissions (0 without data). */
double tl_svc_retx_rate(const struct tl_svc *e);

void tl_services_free(struct tl_services *s);

#endif
