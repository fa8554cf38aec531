/*
 * Zeek's view of a connection: its conn_state (SF, S0, REJ, RSTO, …) and
 * history string (ShADadFf), computed the way Zeek's TCP analyzer does, so
 * that tcplens output joins with Zeek's conn.log. Zeek's originator is the
 * sender of the connection's first packet (flipped as Zeek flips it); it
 * need not be tcplens's client.
 */
#ifndef TCPLENS_ZEEK_H
#define TCPLENS_ZEEK_H

#include "tcplens/decode.h"
#include "tcplens/types.h"

#define TL_ZEEK_HISTORY_MAX 32

struct tl_zeek {
    bool started;
    bool orig_is_a; /* Zeek's originator is key.a */
    char history[TL_ZEEK_HISTORY_MAX];
    uint8_t hlen;
};

void tl_zeek_init(struct tl_zeek *z);

/* Takes in one segment; from_a tells the sender (see tl_flow_key_make). */
void tl_zeek_update(struct tl_zeek *z, const struct tl_pkt *p, bool from_a, int64_t ts_us);

/* Zeek's conn_state for the connection as seen so far, e.g. "SF". */
const char *tl_zeek_conn_state(const struct tl_zeek *z);

/* Zeek's history string, NUL-terminated. */
const char *tl_zeek_history(const struct tl_zeek *z);

#endif
