/*
 * Allocation failure injection for tests/tcplens-failalloc: the tcplens
 * program linked with
 *
 *     -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=getline
 *
 * so that every allocation tcplens's own code asks for comes here first,
 * and jansson's are routed here too (json_set_alloc_funcs below). Each one
 * is numbered from 1 in the order it is asked for; the environment says
 * which fail:
 *
 *     TL_FAIL_ALLOC=N         the N-th allocation returns NULL (0: none)
 *     TL_FAIL_ALLOC=N-        the N-th and every later one does
 *     TL_FAIL_ALLOC_COUNT=F   at exit, write how many were asked for to F
 *
 * With TL_FAIL_ALLOC=0 and no TL_FAIL_ALLOC_COUNT, the count goes to
 * standard error. tests/alloc-fail.sh uses it to try every N of a run.
 *
 * Not covered: what libpcap and the C library allocate inside their own
 * calls (pcap_open, fopen, tmpfile, stdio buffers): --wrap only redirects
 * references from the objects linked here, and those libraries are shared.
 * Under AddressSanitizer __real_malloc is the sanitizer's malloc, so leak
 * and use-after-free detection still see every block.
 *
 * A test program, so it may keep its state in file-scope variables.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
ssize_t __real_getline(char **line, size_t *cap, FILE *f);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
ssize_t __wrap_getline(char **line, size_t *cap, FILE *f);

static uint64_t calls;   /* allocations asked for so far */
static uint64_t fail_at; /* 0: none fails */
static int fail_onwards; /* fail_at and every later one */
static const char *count_path;

/* Counts one allocation; true if it is to fail. */
static int should_fail(void)
{
    calls++;
    if (fail_at == 0 || calls < fail_at || (calls > fail_at && !fail_onwards))
        return 0;
    errno = ENOMEM;
    return 1;
}

void *__wrap_malloc(size_t size) { return should_fail() ? NULL : __real_malloc(size); }

void *__wrap_calloc(size_t n, size_t size) { return should_fail() ? NULL : __real_calloc(n, size); }

/* A failed realloc leaves the block as it was, as the real one does. */
void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __real_realloc(p, size);
}

/* getline(3) allocates the line (and grows it); each call counts as one,
 * failing as the C library does, with -1 and ENOMEM. */
ssize_t __wrap_getline(char **line, size_t *cap, FILE *f)
{
    return should_fail() ? -1 : __real_getline(line, cap, f);
}

static void *json_malloc(size_t size) { return __wrap_malloc(size); }

static void json_free(void *p) { free(p); }

/* Writes the count without allocating: exit handlers run when memory may
 * be the very thing that ran out. */
static void write_count(void)
{
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)calls);
    if (count_path == NULL) {
        if (fail_at == 0 && write(STDERR_FILENO, "failalloc: ", 11) == 11)
            (void)!write(STDERR_FILENO, buf, (size_t)len);
        return;
    }
    int fd = open(count_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    (void)!write(fd, buf, (size_t)len);
    close(fd);
}

__attribute__((constructor)) static void failalloc_init(void)
{
    const char *s = getenv("TL_FAIL_ALLOC");
    if (s != NULL) {
        char *end;
        fail_at = strtoull(s, &end, 10);
        fail_onwards = *end == '-';
    }
    count_path = getenv("TL_FAIL_ALLOC_COUNT");
    json_set_alloc_funcs(json_malloc, json_free);
    if (s != NULL || count_path != NULL)
        atexit(write_count);
}
