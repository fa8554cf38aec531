/*
 * A streaming JSON writer for the reporters' hot path: compact JSON appended
 * to one growable buffer, with no allocation per value (jansson builds a
 * tree of malloc'd nodes and a hash table per object, then dumps it).
 *
 * Output is what jansson's json_dumps(JSON_COMPACT) writes for the same
 * values, byte for byte, except for reals: see tl_jw_real() and
 * tl_jw_usec(). The writer does not check the structure (a key inside an
 * array, an unclosed object): the callers are a few fixed functions, and
 * the unit test parses everything they write.
 *
 * Errors are sticky, as with a stdio stream: when the buffer cannot grow,
 * every later call does nothing and tl_jw_failed() says so; check it once,
 * at the end.
 */
#ifndef TCPLENS_JSON_WRITER_H
#define TCPLENS_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tcplens/types.h"

struct tl_jw {
    char *buf; /* the text so far, never NUL-terminated */
    size_t len, cap;
    bool owned;     /* buf was allocated by the writer (else the caller's storage) */
    bool failed;    /* the buffer could not grow: the text is incomplete */
    uint8_t indent; /* 0: compact; else spaces per level (tl_jw_pretty) */
    uint32_t depth; /* objects and arrays open, in pretty mode */
};

/* Starts an empty writer on the caller's storage (size bytes, e.g. on the
 * stack; NULL and 0 for none). Text that outgrows it moves to the heap. */
void tl_jw_init(struct tl_jw *w, char *storage, size_t size);

/* Empties the text, keeping the buffer (and clearing a failure). */
void tl_jw_reset(struct tl_jw *w);

/* Frees what the writer allocated; the writer can then be initialised again. */
void tl_jw_free(struct tl_jw *w);

static inline bool tl_jw_failed(const struct tl_jw *w) { return w->failed; }

/*
 * Indented text from here on, as jansson's json_dumps(JSON_INDENT(indent))
 * writes it: every key or element on a line of its own, indented by its
 * depth, ": " after a key, an empty object or array as {} or []. For the
 * report document's head, written once; connections stay compact. Call
 * it on an empty writer.
 */
void tl_jw_pretty(struct tl_jw *w, unsigned indent);

/* The depth of structure still open (pretty mode): the report document
 * writes its head, leaves it open, and appends the connections itself. */
static inline uint32_t tl_jw_depth(const struct tl_jw *w) { return w->depth; }

/*
 * Returns a copy of the text as a new malloc'd, NUL-terminated string (the
 * caller frees it) and its length in *len; the writer keeps its buffer.
 * NULL when out of memory or when the writer had failed.
 */
TL_MUST_CHECK char *tl_jw_dup(const struct tl_jw *w, size_t *len);

/* Structure. A comma goes before a key or an array element when needed,
 * so that callers only say what comes next. One top-level value per text. */
void tl_jw_obj_begin(struct tl_jw *w);
void tl_jw_obj_end(struct tl_jw *w);
void tl_jw_arr_begin(struct tl_jw *w);
void tl_jw_arr_end(struct tl_jw *w);

/* "key": — escaped like any string. The value comes next. Inline, so that
 * the length of a literal key is known when the program is compiled. */
void tl_jw_keyn(struct tl_jw *w, const char *key, size_t n);
static inline void tl_jw_key(struct tl_jw *w, const char *key) { tl_jw_keyn(w, key, strlen(key)); }

/* Before a key or a value: a comma unless the text is empty or has just
 * opened an object or an array, or a key is waiting for its value. In
 * pretty mode the writer's own separator has written it already. */
static inline bool tl_jw_needs_comma(const struct tl_jw *w)
{
    if (w->len == 0 || w->indent != 0)
        return false;
    char last = w->buf[w->len - 1];
    return last != '{' && last != '[' && last != ':';
}

/*
 * "lit": for a key written in the source as a string literal of letters,
 * digits and '_' (tests/json-keys.sh checks every one), which needs no
 * escape: its bytes are copied without a look, and its length is known
 * when the program is compiled. A connection's JSON has a hundred keys or
 * more. The empty strings around lit let only a literal through.
 */
#define TL_JW_KEY(w, lit) tl_jw_key_plain((w), "" lit "", sizeof(lit) - 1)

static inline void tl_jw_key_plain(struct tl_jw *w, const char *key, size_t n)
{
    if (w->indent != 0 || w->failed || w->len == 0 || w->cap - w->len < n + 4) {
        tl_jw_keyn(w, key, n); /* pretty mode, the first byte, or a buffer to grow */
        return;
    }
    char *d = w->buf + w->len;
    if (tl_jw_needs_comma(w))
        *d++ = ',';
    *d++ = '"';
    memcpy(d, key, n);
    d += n;
    *d++ = '"';
    *d++ = ':';
    w->len = (size_t)(d - w->buf);
}

/*
 * A string, NUL-terminated (tl_jw_str) or of n bytes. Escaped as jansson
 * does by default: \" \\ \b \f \n \r \t, other control characters as
 * \u00XX (upper-case hex), '/' and DEL as they are, UTF-8 passed through.
 * Where jansson refuses a string that is not valid UTF-8, each byte that
 * is not part of a valid sequence is written as U+FFFD, so the
 * output is always valid JSON. tl_jw_str(w, NULL) writes null.
 */
void tl_jw_str(struct tl_jw *w, const char *s);
void tl_jw_strn(struct tl_jw *w, const char *s, size_t n);

void tl_jw_int(struct tl_jw *w, int64_t v);
void tl_jw_uint(struct tl_jw *w, uint64_t v);
void tl_jw_bool(struct tl_jw *w, bool v);
void tl_jw_null(struct tl_jw *w);

/*
 * A real, as jansson writes it with JSON_REAL_PRECISION(16) ("%.16g", with
 * ".0" added to a whole number and the exponent stripped of '+' and leading
 * zeros: 1.5, 100.0, 1.1e-5) when those 16 digits read back as the same
 * double; otherwise with 17 digits, which always do. NaN and infinities,
 * which JSON cannot hold (jansson refuses them), are written as null.
 */
void tl_jw_real(struct tl_jw *w, double v);

/*
 * A time or duration in µs (pcap clock) as seconds in fixed point: the
 * exact decimal with up to six fraction digits, trailing zeros trimmed but
 * one kept ("1700000000.123456", "1.5", "0.0", "-0.000011"). It reads back
 * as the double (double)us / 1e6, because both that division and strtod
 * round correctly. Beyond ±2^53 µs (285 years), where (double)us itself
 * rounds, it is written as tl_jw_real((double)us / 1e6) to keep that
 * promise.
 */
void tl_jw_usec(struct tl_jw *w, int64_t us);

#endif
