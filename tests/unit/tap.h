/* A tiny TAP producer for the unit tests (one header, no library). */
#ifndef TCPLENS_TAP_H
#define TCPLENS_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct tap {
    int n, failed;
};

static inline void tap_ok(struct tap *t, int cond, const char *name, const char *file, int line)
{
    t->n++;
    if (!cond)
        t->failed++;
    printf("%sok %d - %s\n", cond ? "" : "not ", t->n, name);
    if (!cond)
        printf("#   failed at %s:%d\n", file, line);
}

static inline void tap_is_int(struct tap *t, long long got, long long want, const char *name,
                              const char *file, int line)
{
    tap_ok(t, got == want, name, file, line);
    if (got != want)
        printf("#   got: %lld\n#   expected: %lld\n", got, want);
}

static inline void tap_is_str(struct tap *t, const char *got, const char *want, const char *name,
                              const char *file, int line)
{
    int eq = got != NULL && want != NULL && strcmp(got, want) == 0;
    tap_ok(t, eq, name, file, line);
    if (!eq)
        printf("#   got: '%s'\n#   expected: '%s'\n", got ? got : "(null)", want ? want : "(null)");
}

/* Prints the plan; the exit status is the number of failures (capped). */
static inline int tap_done(struct tap *t)
{
    printf("1..%d\n", t->n);
    return t->failed > 0 ? 1 : 0;
}

#define ok(t, cond, name) tap_ok((t), (cond), (name), __FILE__, __LINE__)
#define is_int(t, got, want, name) \
    tap_is_int((t), (long long)(got), (long long)(want), (name), __FILE__, __LINE__)
#define is_str(t, got, want, name) tap_is_str((t), (got), (want), (name), __FILE__, __LINE__)

#endif
