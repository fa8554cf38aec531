/*
 * The program's output files (private to the program): the text report,
 * the JSON document, the NDJSON stream and the HTML page each go to one.
 * A write that fails (a full disk, a reader gone from a pipe) fails that
 * output alone: its error and the file's name are kept, later writes to
 * it are dropped, and the reports keep writing the others. stdio never
 * sees the failure, so the engine and the formatters, which stop the run
 * at the first write error, run on for the outputs still alive.
 */
#ifndef TCPLENS_OUTPUT_H
#define TCPLENS_OUTPUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

struct tl_output {
    const char *path; /* as given; "-" is standard output */
    FILE *f;          /* what the reports write to */
    char *buf;        /* its stdio buffer when big, freed after it */
    int fd;
    bool own_fd; /* a file we opened, closed with f */
    /* The first write's errno, 0 while all went well. Written by the
     * thread that formats (--threads 2), read by the one that reads the
     * inputs to stop early when every output is gone. */
    atomic_int err;
};

/* Opens path ("-": standard output) for writing, with a 1 MiB buffer when
 * big. False, with errno set and o->err holding it, when it cannot be
 * opened. */
bool tl_output_open(struct tl_output *o, const char *path, bool big);

/* The errno of the output's first failed write or open, else 0. */
int tl_output_error(const struct tl_output *o);

/* The name messages give the output: its path, or "standard output". */
const char *tl_output_name(const struct tl_output *o);

/* Flushes and closes (standard output's descriptor stays open). Returns
 * the output's error, 0 when everything written reached it. */
int tl_output_close(struct tl_output *o);

#endif
