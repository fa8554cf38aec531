/* The progress line's text (src/progress.c): fields, units, rounding, the
 * estimate of the time left, and the cut to the terminal's width. */
#include "progress.h"

#include <string.h>

#include "tap.h"

static const char *line(const struct tl_progress_sample *s, unsigned width)
{
    static char buf[256];
    size_t n = tl_progress_format(buf, sizeof buf, s, width);
    return n == strlen(buf) ? buf : "(length returned differs)";
}

int main(void)
{
    struct tap t = {0, 0};
    struct tl_progress_sample s = {.bytes = 412000000,
                                   .total = 1500000000,
                                   .frames = 3040000,
                                   .packets = 3000000,
                                   .open = 10234,
                                   .elapsed = 2.0};
    is_str(&t, line(&s, 0),
           "tcplens: 412 MB of 1.50 GB, 27%, ETA 0:05, 1.52M packets/s, 10234 connections open",
           "a file: bytes of total, percent, time left, frames a second, open connections");

    is_str(&t, line(&s, 40), "tcplens: 412 MB of 1.50 GB, 27%, ETA 0:",
           "cut to one column less than the terminal's width");
    is_int(&t, tl_progress_format((char[8]){0}, 8, &s, 0), 7, "cut to the buffer");

    s.total = 0;
    s.bytes = 70400000;
    is_str(&t, line(&s, 0), "tcplens: 70.4 MB, 35.2 MB/s, 1.52M packets/s, 10234 connections open",
           "a pipe: no total, so the byte rate and no percent or estimate");

    s.max_packets = 12000000;
    is_str(&t, line(&s, 0),
           "tcplens: 70.4 MB, 35.2 MB/s, 25%, ETA 0:06, 1.52M packets/s, "
           "10234 connections open",
           "a pipe with -c: percent and estimate from the packet count");

    s.total = 100000000;
    is_str(&t, line(&s, 0),
           "tcplens: 70.4 MB of 100 MB, 70%, ETA 0:01, 1.52M packets/s, 10234 connections open",
           "a file with -c: whichever ends the run first");

    struct tl_progress_sample small = {
        .bytes = 812, .total = 999600, .frames = 5, .open = 0, .elapsed = 1.0};
    is_str(&t, line(&small, 0),
           "tcplens: 812 B of 1.00 MB, 0%, ETA 20:30, 5 packets/s, 0 connections open",
           "small numbers without prefix; 999.6 kB rounds up to 1.00 MB");

    struct tl_progress_sample slow = {
        .bytes = 1000, .total = 1000000, .frames = 9999, .open = 1, .elapsed = 10.0};
    is_str(&t, line(&slow, 0),
           "tcplens: 1.00 kB of 1.00 MB, 0%, ETA 2:46:30, 1.00k packets/s, 1 connection open",
           "hours in the estimate");

    struct tl_progress_sample none = {.bytes = 0, .total = 5000, .frames = 0, .elapsed = 0};
    is_str(&t, line(&none, 0), "tcplens: 0 B of 5.00 kB, 0%, 0 packets/s, 0 connections open",
           "nothing read yet: no estimate, no division by zero");

    struct tl_progress_sample done = {.bytes = 6000, .total = 5000, .frames = 12, .elapsed = 3};
    is_str(&t, line(&done, 0),
           "tcplens: 6.00 kB of 5.00 kB, 100%, ETA 0:00, 4 packets/s, 0 connections open",
           "never past 100%");
    return tap_done(&t);
}
