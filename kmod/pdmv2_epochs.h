/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Epoch memory of one pairing (docs/PROTOCOL.md section 5.3, docs/kmod.md
 * "Epoch memory"): which rekey counts the flows of its newest generation
 * have used, so that a flow whose state was lost (idle expiry, flush, a
 * module reload) never takes an epoch it used before under the same STK.
 *
 * A flow's STK depends on (generation, epoch, 5-tuple), so a (key, nonce)
 * pair can only repeat for one 5-tuple in one generation. Remembering every
 * 5-tuple is unbounded; instead each 5-tuple hashes to one of
 * PDMV2_EPOCH_SLOTS slots, and a slot holds the first relative rekey count
 * that no ended flow state of any of its 5-tuples has used. A flow state
 * takes its counts upwards from its slot's value at its start; when it ends
 * the slot rises past its last count. Sharing a slot only makes it rise
 * sooner: it never lets a count be taken twice.
 *
 * Counts are relative to a random base drawn when the memory starts a
 * generation, so that a sender whose memory was lost (a reboot) still
 * starts at a random epoch. Pure: no locks, no allocation, no clock; the
 * caller serialises access.
 */
#ifndef PDMV2_EPOCHS_H
#define PDMV2_EPOCHS_H

#include "pdmv2_compat.h"

#define PDMV2_EPOCH_SLOTS	16384	/* power of two */
/*
 * Relative counts 0..254 can be taken; a slot at 255 has none left. One
 * count of the 256 is given up so that a slot fits in one octet.
 */
#define PDMV2_EPOCH_REL_LIMIT	255

/* errors of start and rekey */
#define PDMV2_EPOCHS_OLD	1	/* generation older than the memory's */
#define PDMV2_EPOCHS_USED	2	/* no unused count left */

struct pdmv2_epochs {
	u64 pairing;
	u64 stamp;		/* the caller's: when it last used this memory */
	u32 generation;		/* valid when started */
	u8 started;
	u8 base;		/* rekey count of relative count 0 */
	u8 next;		/* 1 + highest relative count handed out, 0: none */
	u8 slots[PDMV2_EPOCH_SLOTS];
};

/* Empty memory for @pairing (every other field zero). */
void pdmv2_epochs_init(struct pdmv2_epochs *e, u64 pairing);

/*
 * A flow state of @slot starts in generation @gen: its first relative count
 * in @rel. A newer generation than the memory's forgets the older one and
 * starts at @fresh_base (the caller's random draw). Returns 0,
 * PDMV2_EPOCHS_OLD or PDMV2_EPOCHS_USED, changing nothing on error.
 */
int pdmv2_epochs_start(struct pdmv2_epochs *e, u32 gen, u8 fresh_base,
		       u32 slot, u8 *rel);

/* The flow state at @rel in @gen moves on: its next count in @next_rel. */
int pdmv2_epochs_rekey(struct pdmv2_epochs *e, u32 gen, u8 rel, u8 *next_rel);

/* The flow state of @slot whose last count in @gen was @rel ended. */
void pdmv2_epochs_end(struct pdmv2_epochs *e, u32 gen, u32 slot, u8 rel);

/* The epoch of relative count @rel (the memory's generation and base). */
u16 pdmv2_epochs_epoch(const struct pdmv2_epochs *e, u8 rel);

/*
 * What an earlier instance of the memory handed out (its generation, base
 * and next): every slot rises to @next. An older generation than the
 * memory's changes nothing (it will never be used again); a newer one
 * replaces it. The same generation with another base: -1, nothing changed
 * (the two instances' counts cannot be merged once both were used).
 */
int pdmv2_epochs_import(struct pdmv2_epochs *e, u32 gen, u8 base, u8 next);

/* Whether pdmv2_epochs_import() of @gen at @base would be accepted. */
bool pdmv2_epochs_can_import(const struct pdmv2_epochs *e, u32 gen, u8 base);

/* Slot of a 5-tuple's hash. */
static inline u32 pdmv2_epochs_slot(u32 hash)
{
	return hash & (PDMV2_EPOCH_SLOTS - 1);
}

#endif /* PDMV2_EPOCHS_H */
