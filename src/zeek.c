/* Zeek conn_state and history (placeholder: filled in by the Zeek module). */
#include "tcplens/zeek.h"

#include <string.h>

void tl_zeek_init(struct tl_zeek *z) { memset(z, 0, sizeof *z); }

void tl_zeek_update(struct tl_zeek *z, const struct tl_pkt *p, bool from_a, int64_t ts_us)
{
    (void)p;
    (void)ts_us;
    if (!z->started) {
        z->started = true;
        z->orig_is_a = from_a;
    }
}

const char *tl_zeek_conn_state(const struct tl_zeek *z)
{
    (void)z;
    return "OTH";
}

const char *tl_zeek_history(const struct tl_zeek *z) { return z->history; }
