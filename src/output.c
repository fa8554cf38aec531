/* The program's output files: see output.h. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "tcplens/report.h"

static void fail(struct tl_output *o, int err)
{
    int none = 0;
    atomic_compare_exchange_strong(&o->err, &none, err != 0 ? err : EIO);
}

/* stdio's write: all of it, else the output is marked failed. Either way
 * stdio is told it was written, so that the error stays this output's. */
static ssize_t out_write(void *cookie, const char *buf, size_t size)
{
    struct tl_output *o = cookie;
    for (size_t done = 0; done < size && tl_output_error(o) == 0;) {
        ssize_t n = write(o->fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fail(o, n < 0 ? errno : EIO);
            break;
        }
        done += (size_t)n;
    }
    return (ssize_t)size;
}

/* A close that fails (NFS, a quota met at writeback) is a write that failed. */
static int out_close(void *cookie)
{
    struct tl_output *o = cookie;
    if (o->own_fd && close(o->fd) != 0)
        fail(o, errno);
    return 0;
}

bool tl_output_open(struct tl_output *o, const char *path, bool big)
{
    memset(o, 0, sizeof *o);
    atomic_init(&o->err, 0);
    o->path = path;
    o->own_fd = strcmp(path, "-") != 0;
    o->fd = o->own_fd ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666) : STDOUT_FILENO;
    if (o->fd < 0) {
        fail(o, errno);
        return false;
    }
    cookie_io_functions_t io = {.write = out_write, .close = out_close};
    o->f = fopencookie(o, "w", io);
    if (o->f == NULL) {
        int err = errno;
        if (o->own_fd)
            close(o->fd);
        fail(o, err);
        errno = err;
        return false;
    }
    o->buf = big ? tl_report_big_buffer(o->f) : NULL;
    return true;
}

int tl_output_error(const struct tl_output *o)
{
    return atomic_load_explicit(&o->err, memory_order_relaxed);
}

const char *tl_output_name(const struct tl_output *o)
{
    return o->own_fd || o->fd < 0 ? o->path : "standard output";
}

int tl_output_close(struct tl_output *o)
{
    if (o->f != NULL) {
        fclose(o->f);
        o->f = NULL;
    }
    free(o->buf);
    o->buf = NULL;
    return tl_output_error(o);
}
