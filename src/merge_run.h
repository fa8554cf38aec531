/* tcplens merge: the run the shards make together, from their summary
 * records (src/merge_run.c). */
#ifndef TCPLENS_MERGE_RUN_H
#define TCPLENS_MERGE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcplens/model.h"
#include "tcplens/source.h"

/*
 * The capture as one run read it, from the shards' "capture" members
 * (jansson objects, caps[0..n)): what every shard read alike (times,
 * frames, skipped frames, statistics) from the first, what each counted
 * of its own connections (duplicates, evictions, ICMP errors, late
 * segments) summed. peak_flows and evicted_hosts are the caller's.
 */
void tl_merge_capture(void *const *caps, size_t n, struct tl_capture_info *out);

/* The inputs of a summary's "inputs" array (borrowed: its strings stay
 * the array's), malloc'd into *out; false short of memory. */
bool tl_merge_inputs(const void *inputs, struct tl_input_info **out, size_t *n);

/*
 * Connections held at once, as one run counts them (peak_connections):
 * each one taken in first-seen order with the frame it came in and the
 * frame that let it go (0: the end), a frame's releases coming before the
 * connection it makes. Memory: one entry per connection held.
 */
struct tl_merge_peak {
    uint64_t *held; /* min-heap of release frames */
    size_t n, cap;
    uint64_t peak;
    bool failed;
};

void tl_merge_peak_add(struct tl_merge_peak *p, uint64_t first_pkt, uint64_t released_pkt);
void tl_merge_peak_free(struct tl_merge_peak *p);

#endif
