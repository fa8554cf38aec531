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
 * (jansson objects, caps[0..n), in unit order; unit_first[i]: caps[i] is
 * its unit's first shard, merge_units.c): what a unit's shards read alike
 * (times, frames, skipped frames, statistics), from its first, added up
 * over the units (the times span them all, the end is the last unit's);
 * what each shard counted of its own connections (duplicates, evictions,
 * ICMP errors, late segments) summed. peak_flows and evicted_hosts are
 * the caller's.
 */
void tl_merge_capture(void *const *caps, const bool *unit_first, size_t n,
                      struct tl_capture_info *out);

/* A shard as tl_merge_units() sees it: its summary's inputs (a jansson
 * array), the capture's first frame time and frames, its name. */
struct tl_merge_unit_in {
    const void *inputs;
    int64_t first_ts;
    uint64_t packets;
    const char *name;
};

/*
 * Shards over the same inputs make a unit; units over other inputs come
 * one after another in time (rotated files, hosts' captures), ranked by
 * their first frame's time (then name). unit[i]: shard i's unit's rank
 * from 0; offset[i]: the frames of the units before it, by which its
 * packet numbers move. Returns the number of units (0 for none).
 */
uint32_t tl_merge_units(const struct tl_merge_unit_in *in, size_t n, uint32_t *unit,
                        uint64_t *offset);

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
