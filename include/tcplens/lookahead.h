/*
 * Lookahead: frames from a file are held a few places back, so that the
 * memory their connections live in is on its way before the engine needs
 * it. A frame is decoded when it comes in, and its connection's bucket
 * fetched; two frames later the first connection in that bucket; two
 * more, that connection's state; three more, the engine takes it. With
 * 200,000 connections open, nearly every packet's state is far from the
 * cache, and one frame at a time the processor waits for one miss after
 * the other (docs/performance.md, "Fifth round").
 *
 * The engine gets the same frames, in the same order, with the same
 * bytes: the output cannot change. Live capture does not use it (a frame
 * must not wait for the next one to arrive).
 */
#ifndef TCPLENS_LOOKAHEAD_H
#define TCPLENS_LOOKAHEAD_H

#include "tcplens/engine.h"
#include "tcplens/source.h"
#include "tcplens/status.h"

struct tl_lookahead;

/* NULL when out of memory. e is borrowed. */
TL_MUST_CHECK struct tl_lookahead *tl_lookahead_new(struct tl_engine *e);
void tl_lookahead_free(struct tl_lookahead *a);

/* Takes f (copied: f->data may go once this returns) and gives the engine
 * the frame that came a few before it, if any; *fed tells. Returns what
 * the engine returned, or TL_ENOMEM when the copy found no memory (the
 * frames held before f have then been given to the engine). After a
 * failure, nothing is held that the engine should still get. */
TL_MUST_CHECK enum tl_status tl_lookahead_feed(struct tl_lookahead *a, const struct tl_frame *f,
                                               bool *fed);

/* Gives the engine every frame still held, in order; stops at the first
 * failure. */
TL_MUST_CHECK enum tl_status tl_lookahead_drain(struct tl_lookahead *a);

#endif
