/* tcplens merge of units in time (src/merge_cross.c): the connections of
 * one unit that may go on in a later one, and which later records are
 * those same connections. */
#ifndef TCPLENS_MERGE_CROSS_H
#define TCPLENS_MERGE_CROSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcplens/model.h"

/*
 * A unit is one run over its own inputs (rotated files, or one host's
 * capture); units in time order make one run over all their inputs. A
 * connection a unit saw start and followed past its own inputs
 * (--follow) is whole in that unit's record; the later unit picked the
 * same connection up part way, and its record of it is not written. A
 * connection left open at a unit's end that goes on in a later unit run
 * without --follow is in two records; the merge counts it (split).
 *
 * Memory: one entry per connection that was open at a unit's end or
 * followed past it.
 */
struct tl_merge_cross;

/* For nunits units. */
struct tl_merge_cross *tl_merge_cross_new(uint32_t nunits);
void tl_merge_cross_free(struct tl_merge_cross *t);

/* v, a connection of unit whose last segment is after that unit's own
 * last frame, or left open at its end; first_packet its frame in the
 * merge; ends a digest of its two endpoints, the same whichever is the
 * client (tl_merge_cross_may()). False short of memory. */
bool tl_merge_cross_add(struct tl_merge_cross *t, const struct tl_conn_view *v, uint32_t unit,
                        uint64_t first_packet, uint64_t ends);

/* Unit u ran with --follow over unit later's inputs: a record of later
 * may be one of u's entries (followed). */
void tl_merge_cross_follows(struct tl_merge_cross *t, uint32_t u, uint32_t later);

/* Once every entry is in: sorts them for tl_merge_cross_of(). */
void tl_merge_cross_seal(struct tl_merge_cross *t);

/* Whether an entry has endpoints of digest ends: else a record of them
 * is no entry's, without reading it. */
bool tl_merge_cross_may(const struct tl_merge_cross *t, uint64_t ends);

enum tl_merge_cross_is {
    TL_CROSS_OWN,      /* a connection of its own unit */
    TL_CROSS_FOLLOWED, /* an earlier unit followed it: that unit's record has it whole */
    TL_CROSS_SPLIT,    /* open at an earlier unit's end, not followed: the part after */
};

/* What v, a record of unit, is: the same 4-tuple as an earlier unit's
 * entry, its first segment between that entry's first and last
 * (followed: the earlier unit took that segment), or, the entry left
 * open, each side's sequence numbers going on from the entry's (split). *id: the earlier record's id
 * in the merge (tl_merge_cross_written()), 0 when not known. */
enum tl_merge_cross_is tl_merge_cross_of(const struct tl_merge_cross *t,
                                         const struct tl_conn_view *v, uint32_t unit, uint64_t *id);

/* The entry made at first_packet, if any, is written with id. */
void tl_merge_cross_written(struct tl_merge_cross *t, uint64_t first_packet, uint64_t id);

#endif
