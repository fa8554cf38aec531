/*
 * The block reader (src/source_read.c) against libpcap's pcap_next_ex():
 * each capture named on the command line is read both ways, with no filter
 * and with a few BPF filters, and every frame must be the same (time,
 * lengths, bytes, packet number, link type), as must what each input's
 * info says at the end (frames read, status, error message). Prints TAP;
 * the last line says how many frames the block reader read, which must not
 * be none.
 */
#include <stdio.h>
#include <string.h>

#include "tcplens/decode.h"
#include "tcplens/source.h"

static const char *const filters[] = {NULL, "tcp", "tcp port 80 or vlan", "ip6 or icmp"};

struct run {
    struct tl_source *src;
    enum tl_status st;
    struct tl_frame f;
};

static bool open_run(struct run *r, const char *path, const char *filter, bool libpcap)
{
    struct tl_source_cfg cfg = {.filter = filter,
                                .accept_linktype = tl_decode_linktype_supported,
                                .libpcap_reads = libpcap};
    struct tl_diag d = {{0}, 0};
    r->src = NULL;
    r->st = tl_source_open_files(&r->src, &path, 1, &cfg, &d);
    return r->st == TL_OK;
}

static bool same_frame(const struct tl_frame *a, const struct tl_frame *b)
{
    return a->ts_us == b->ts_us && a->caplen == b->caplen && a->wirelen == b->wirelen &&
           a->pkt_no == b->pkt_no && a->linktype == b->linktype &&
           memcmp(a->data, b->data, a->caplen) == 0;
}

static bool same_info(const struct tl_input_info *a, const struct tl_input_info *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return a->packets == b->packets && a->status == b->status && a->linktype == b->linktype &&
           strcmp(a->error, b->error) == 0;
}

/* Reads path both ways under filter; false at the first difference, which
 * *why describes. */
static bool compare(const char *path, const char *filter, uint64_t *frames, char *why, size_t size)
{
    struct run lib, blk;
    bool ok_lib = open_run(&lib, path, filter, true), ok_blk = open_run(&blk, path, filter, false);
    bool same = ok_lib == ok_blk && lib.st == blk.st;
    snprintf(why, size, "open: %d/%d", (int)lib.st, (int)blk.st);
    uint64_t n = 0;
    while (same && ok_lib) {
        enum tl_status a = tl_source_next(lib.src, &lib.f), b = tl_source_next(blk.src, &blk.f);
        if (a != b || (a == TL_OK && !same_frame(&lib.f, &blk.f))) {
            snprintf(why, size, "frame %llu differs", (unsigned long long)(n + 1));
            same = false;
        }
        if (a != TL_OK)
            break;
        n++;
    }
    const struct tl_input_info *a = ok_lib ? tl_source_input(lib.src, 0) : NULL,
                               *b = ok_blk ? tl_source_input(blk.src, 0) : NULL;
    if (same && ok_lib && !same_info(a, b)) {
        if (a == NULL || b == NULL)
            snprintf(why, size, "one reader has no input info");
        else
            snprintf(why, size,
                     "input info differs: %llu/%llu frames, status %d/%d, '%.200s' / '%.200s'",
                     (unsigned long long)a->packets, (unsigned long long)b->packets, (int)a->status,
                     (int)b->status, a->error, b->error);
        same = false;
    }
    if (same && ok_blk)
        *frames += tl_source_block_frames(blk.src);
    tl_source_free(lib.src);
    tl_source_free(blk.src);
    return same;
}

int main(int argc, char **argv)
{
    int n = 0, failed = 0;
    uint64_t block = 0;
    for (int i = 1; i < argc; i++) {
        for (size_t k = 0; k < sizeof filters / sizeof filters[0]; k++) {
            char why[1024];
            bool same = compare(argv[i], filters[k], &block, why, sizeof why);
            failed += !same;
            printf("%sok %d - %s, filter %s%s%s\n", same ? "" : "not ", ++n, argv[i],
                   filters[k] ? filters[k] : "none", same ? "" : ": ", same ? "" : why);
        }
    }
    printf("%sok %d - the block reader read %llu of the frames\n", block > 0 ? "" : "not ", ++n,
           (unsigned long long)block);
    failed += block == 0;
    printf("1..%d\n", n);
    return failed != 0;
}
