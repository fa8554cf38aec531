/*
 * Streaming JSON writer (see json_writer.h). Every value is appended in
 * place after one capacity check: a string is checked and copied in the
 * same pass, eight bytes at a time, and only a string that needs escapes
 * takes the slow path; a number is formatted by hand into a few bytes on
 * the stack. The buffer doubles when full.
 */
#include "json_writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

void tl_jw_init(struct tl_jw *w, char *storage, size_t size)
{
    w->buf = storage;
    w->len = 0;
    w->cap = storage != NULL ? size : 0;
    w->owned = false;
    w->failed = false;
    w->indent = 0;
    w->depth = 0;
}

void tl_jw_reset(struct tl_jw *w)
{
    w->len = 0;
    w->failed = false;
    w->depth = 0;
}

void tl_jw_pretty(struct tl_jw *w, unsigned indent)
{
    w->indent = (uint8_t)(indent < 32 ? indent : 32);
    w->depth = 0;
}

void tl_jw_free(struct tl_jw *w)
{
    if (w->owned)
        free(w->buf);
    tl_jw_init(w, NULL, 0);
}

/* Makes room for n more bytes on the heap; false once the writer failed. */
static bool grow(struct tl_jw *w, size_t n)
{
    if (w->failed)
        return false;
    /* Doubling must not overflow: a text near SIZE_MAX / 2 is a bug anyway. */
    if (w->len > SIZE_MAX / 4 || n > SIZE_MAX / 4 - w->len) {
        w->failed = true;
        return false;
    }
    size_t cap = w->cap > 0 ? w->cap : 256;
    while (cap - w->len < n)
        cap *= 2;
    char *b = w->owned ? realloc(w->buf, cap) : malloc(cap);
    if (b == NULL) {
        w->failed = true;
        return false;
    }
    if (!w->owned && w->len > 0)
        memcpy(b, w->buf, w->len);
    w->buf = b;
    w->cap = cap;
    w->owned = true;
    return true;
}

static inline bool room(struct tl_jw *w, size_t n)
{
    return (!w->failed && w->cap - w->len >= n) || grow(w, n);
}

static inline void put(struct tl_jw *w, const void *p, size_t n)
{
    if (room(w, n)) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
    }
}

static inline void put1(struct tl_jw *w, char c)
{
    if (room(w, 1))
        w->buf[w->len++] = c;
}

/* A new line indented to depth d. */
static void newline(struct tl_jw *w, uint32_t d)
{
    size_t n = (size_t)d * w->indent;
    if (room(w, n + 1)) {
        w->buf[w->len++] = '\n';
        memset(w->buf + w->len, ' ', n);
        w->len += n;
    }
}

/* Pretty mode, before a key or a value: nothing after a key (its ": "
 * ends in a space, which nothing else does) or at the start, else a comma
 * unless a structure has just opened, and the element's own line. */
static void pretty_sep(struct tl_jw *w)
{
    if (w->len == 0 || w->failed)
        return;
    char last = w->buf[w->len - 1];
    if (last == ' ')
        return;
    if (last != '{' && last != '[')
        put1(w, ',');
    newline(w, w->depth);
}

static inline void sep(struct tl_jw *w)
{
    if (w->indent != 0)
        pretty_sep(w);
    else if (!w->failed && tl_jw_needs_comma(w))
        put1(w, ',');
}

/* A scalar's text after the comma it needs: one capacity check. */
static inline void put_value(struct tl_jw *w, const char *p, size_t n)
{
    if (w->indent != 0)
        pretty_sep(w);
    if (!room(w, n + 1))
        return;
    char *d = w->buf + w->len;
    if (tl_jw_needs_comma(w))
        *d++ = ',';
    memcpy(d, p, n);
    w->len = (size_t)(d + n - w->buf);
}

char *tl_jw_dup(const struct tl_jw *w, size_t *len)
{
    if (w->failed)
        return NULL;
    char *s = malloc(w->len + 1);
    if (s == NULL)
        return NULL;
    if (w->len > 0)
        memcpy(s, w->buf, w->len);
    s[w->len] = '\0';
    *len = w->len;
    return s;
}

/* Closes an object or an array: in pretty mode on a line of its own,
 * unless it is empty. */
static void close_with(struct tl_jw *w, char open, char close)
{
    if (w->indent != 0 && w->depth > 0) {
        w->depth--;
        if (w->len > 0 && w->buf[w->len - 1] != open)
            newline(w, w->depth);
    }
    put1(w, close);
}

static void open_with(struct tl_jw *w, char open)
{
    sep(w);
    put1(w, open);
    if (w->indent != 0)
        w->depth++;
}

void tl_jw_obj_begin(struct tl_jw *w) { open_with(w, '{'); }

void tl_jw_obj_end(struct tl_jw *w) { close_with(w, '{', '}'); }

void tl_jw_arr_begin(struct tl_jw *w) { open_with(w, '['); }

void tl_jw_arr_end(struct tl_jw *w) { close_with(w, '[', ']'); }

/*
 * Length of the valid UTF-8 sequence at p (n bytes left), 0 when there is
 * none: the rules jansson's utf8_check_* apply (RFC 3629), which refuse
 * overlong forms, surrogates and code points past U+10FFFF.
 */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t k;
    uint32_t cp;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        k = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        k = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        k = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or past 0xf4 */
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return k;
}

/* One byte that must be escaped: a quote, a backslash or a control character. */
static void escape(struct tl_jw *w, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    char seq[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    const char *two = NULL;
    switch (c) {
    case '"': two = "\\\""; break;
    case '\\': two = "\\\\"; break;
    case '\b': two = "\\b"; break;
    case '\f': two = "\\f"; break;
    case '\n': two = "\\n"; break;
    case '\r': two = "\\r"; break;
    case '\t': two = "\\t"; break;
    default: break;
    }
    if (two != NULL)
        put(w, two, 2);
    else
        put(w, seq, sizeof seq);
}

/* 1 for a byte copied as it is: printable ASCII but '"' and '\\'. A table:
 * the bytes of short strings (keys, state names) are tested one by one. */
static const uint8_t plain_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static inline bool plain(unsigned char c) { return plain_byte[c] != 0; }

/*
 * True when one of the eight bytes in x is not plain, tested all at once
 * (the "has a byte less than n" and "has a zero byte" tricks of Bit
 * Twiddling Hacks: a byte's high bit survives only where it borrowed):
 * long explanations are copied eight bytes per step.
 */
static inline bool word_has_special(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = ones << 7;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t special = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x;
    return (special & high) != 0;
}

#ifdef __SSE2__
/* Sixteen bytes at a time where the machine has SSE2 (every x86-64): a
 * byte is not plain when it is below 0x20, '"' or '\\', or has its high bit
 * set (UTF-8, checked apart). Returns how many of the first bytes of s
 * are plain, copied to d. */
static inline size_t copy_plain16(char *d, const unsigned char *s, size_t n)
{
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    size_t i = 0;
    while (n - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* Signed: bytes 0x80 and up are negative, so below 0x20 as well. */
        __m128i bad = _mm_or_si128(_mm_cmpgt_epi8(space, x),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                                _mm_cmpeq_epi8(x, bslash)));
        if (_mm_movemask_epi8(bad) != 0)
            break;
        _mm_storeu_si128((__m128i *)(void *)(d + i), x);
        i += 16;
    }
    return i;
}
#endif

/* Copies the plain bytes at the start of s (n bytes) to d, many at a time
 * where it can; returns how many. */
static inline size_t copy_plain(char *d, const unsigned char *s, size_t n)
{
#ifdef __SSE2__
    size_t i = copy_plain16(d, s, n);
#else
    size_t i = 0;
#endif
    uint64_t x;
    while (n - i >= 8 && (memcpy(&x, s + i, 8), !word_has_special(x))) {
        memcpy(d + i, &x, 8);
        i += 8;
    }
    while (i < n && plain(s[i])) {
        d[i] = (char)s[i];
        i++;
    }
    return i;
}

/* The body of a string from its first byte that is not plain: escapes,
 * UTF-8 checks, and the plain runs between them. */
static void str_rest(struct tl_jw *w, const unsigned char *p, const unsigned char *end)
{
    while (p < end) {
        if (*p < 0x80) {
            escape(w, *p++);
        } else {
            size_t k = utf8_len(p, (size_t)(end - p));
            if (k > 0)
                put(w, p, k);
            else
                put(w, "\xef\xbf\xbd", 3); /* U+FFFD REPLACEMENT CHARACTER */
            p += k > 0 ? k : 1;
        }
        size_t n = (size_t)(end - p);
        if (n > 0 && room(w, n)) {
            size_t k = copy_plain(w->buf + w->len, p, n);
            w->len += k;
            p += k;
        }
    }
}

/* A quoted string, nothing around it (pretty mode's path). */
static void string_body(struct tl_jw *w, const char *s, size_t n)
{
    put1(w, '"');
    const unsigned char *u = (const unsigned char *)s;
    size_t k = room(w, n) ? copy_plain(w->buf + w->len, u, n) : 0;
    w->len += k;
    str_rest(w, u + k, u + n);
    put1(w, '"');
}

/*
 * A quoted string, then ':' for a key. Almost every string needs no
 * escape: it is copied in the same pass that checks it, after a single
 * capacity check for the comma, the quotes, the colon and its bytes.
 */
static void string(struct tl_jw *w, const char *s, size_t n, bool key)
{
    if (w->indent != 0) {
        pretty_sep(w);
        string_body(w, s, n);
        if (key)
            put(w, ": ", 2);
        return;
    }
    if (!room(w, n + 4))
        return;
    char *d = w->buf + w->len;
    if (tl_jw_needs_comma(w))
        *d++ = ',';
    *d++ = '"';
    const unsigned char *u = (const unsigned char *)s;
    size_t k = copy_plain(d, u, n);
    d += k;
    if (k == n) {
        *d++ = '"';
        if (key)
            *d++ = ':';
        w->len = (size_t)(d - w->buf);
        return;
    }
    w->len = (size_t)(d - w->buf);
    str_rest(w, u + k, u + n);
    put1(w, '"');
    if (key)
        put1(w, ':');
}

void tl_jw_strn(struct tl_jw *w, const char *s, size_t n) { string(w, s, n, false); }

void tl_jw_str(struct tl_jw *w, const char *s)
{
    if (s == NULL)
        tl_jw_null(w);
    else
        string(w, s, strlen(s), false);
}

/* Keys are short literals that need no escape: copied and checked in one
 * pass, and written only if none does (else as any string). */
void tl_jw_keyn(struct tl_jw *w, const char *key, size_t n)
{
    if (w->indent != 0 || n > 64 || !room(w, n + 4)) {
        string(w, key, n, true);
        return;
    }
    char *d = w->buf + w->len;
    if (tl_jw_needs_comma(w))
        *d++ = ',';
    *d++ = '"';
    unsigned all_plain = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        d[i] = (char)c;
        all_plain &= plain_byte[c];
    }
    if (!all_plain) {
        string(w, key, n, true);
        return;
    }
    d += n;
    *d++ = '"';
    *d++ = ':';
    w->len = (size_t)(d - w->buf);
}

/* Writes v's decimal digits so that they end just before end; returns
 * where they start. */
static char *digits(char *end, uint64_t v)
{
    /* Two digits a division: sequence numbers and packet numbers are long. */
    static const char pairs[201] = "000102030405060708091011121314151617181920212223242526272829303"
                                   "1323334353637383940414243444546474849"
                                   "505152535455565758596061626364656667686970717273747576777879808"
                                   "1828384858687888990919293949596979899";
    while (v >= 100) {
        unsigned p = (unsigned)(v % 100) * 2;
        v /= 100;
        *--end = pairs[p + 1];
        *--end = pairs[p];
    }
    if (v >= 10) {
        *--end = pairs[v * 2 + 1];
        *--end = pairs[v * 2];
    } else {
        *--end = (char)('0' + v);
    }
    return end;
}

void tl_jw_uint(struct tl_jw *w, uint64_t v)
{
    char t[24], *e = t + sizeof t, *p = digits(e, v);
    put_value(w, p, (size_t)(e - p));
}

void tl_jw_int(struct tl_jw *w, int64_t v)
{
    /* Negate in unsigned arithmetic: -INT64_MIN does not fit an int64_t. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char t[24], *e = t + sizeof t, *p = digits(e, u);
    if (v < 0)
        *--p = '-';
    put_value(w, p, (size_t)(e - p));
}

void tl_jw_bool(struct tl_jw *w, bool v)
{
    if (v)
        put_value(w, "true", 4);
    else
        put_value(w, "false", 5);
}

void tl_jw_null(struct tl_jw *w) { put_value(w, "null", 4); }

/* jansson's jsonp_dtostr() after printf: a '.' for the locale's decimal
 * point, ".0" when the number would read back as an integer, and an
 * exponent without '+' or leading zeros. */
static size_t jansson_real_form(char *t, size_t n, size_t size)
{
    char *c = strchr(t, ',');
    if (c != NULL)
        *c = '.';
    if (strchr(t, '.') == NULL && strchr(t, 'e') == NULL && n + 2 < size) {
        memcpy(t + n, ".0", 3);
        n += 2;
    }
    char *start = strchr(t, 'e');
    if (start != NULL) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, n + 1 - (size_t)(end - t));
            n -= (size_t)(end - start);
        }
    }
    return n;
}

void tl_jw_real(struct tl_jw *w, double v)
{
    if (!isfinite(v)) {
        tl_jw_null(w);
        return;
    }
    char t[40];
    int n = snprintf(t, sizeof t, "%.16g", v);
    /* 16 digits (what jansson writes) do not always read back as v; 17 do. */
    if (n > 0 && strtod(t, NULL) != v)
        n = snprintf(t, sizeof t, "%.17g", v);
    if (n <= 0 || (size_t)n >= sizeof t) {
        w->failed = true; /* cannot happen with %g of a finite double */
        return;
    }
    put_value(w, t, jansson_real_form(t, (size_t)n, sizeof t));
}

void tl_jw_usec(struct tl_jw *w, int64_t us)
{
    const int64_t exact = INT64_C(1) << 53; /* beyond it (double)us rounds */
    if (us > exact || us < -exact) {
        tl_jw_real(w, (double)us / 1e6);
        return;
    }
    uint64_t u = us < 0 ? 0 - (uint64_t)us : (uint64_t)us;
    uint32_t frac = (uint32_t)(u % 1000000);
    int nfrac = 6;
    while (nfrac > 1 && frac % 10 == 0) {
        frac /= 10;
        nfrac--;
    }
    char t[32], *e = t + sizeof t, *p = e;
    for (int i = 0; i < nfrac; i++) {
        *--p = (char)('0' + frac % 10);
        frac /= 10;
    }
    *--p = '.';
    p = digits(p, u / 1000000);
    if (us < 0)
        *--p = '-';
    put_value(w, p, (size_t)(e - p));
}
