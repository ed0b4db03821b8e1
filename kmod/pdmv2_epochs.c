// SPDX-License-Identifier: GPL-2.0-only
/*
 * Epoch memory of one pairing: pdmv2_epochs.h says what it guarantees.
 * Builds in the kernel and in user space (kmod/test/).
 */
#include "pdmv2_epochs.h"

#ifdef __KERNEL__
#include <linux/string.h>
#else
#include <string.h>
#endif

void pdmv2_epochs_init(struct pdmv2_epochs *e, u64 pairing)
{
	memset(e, 0, sizeof(*e));
	e->pairing = pairing;
}

static void pdmv2_epochs_begin(struct pdmv2_epochs *e, u32 gen, u8 base,
			       u8 next)
{
	e->started = 1;
	e->generation = gen;
	e->base = base;
	e->next = next;
	memset(e->slots, next, sizeof(e->slots));
}

/* 1, 0, -1 as @a is newer than, equal to, older than @b (never wraps) */
static int pdmv2_gen_cmp(u32 a, u32 b)
{
	return a > b ? 1 : a < b ? -1 : 0;
}

int pdmv2_epochs_start(struct pdmv2_epochs *e, u32 gen, u8 fresh_base,
		       u32 slot, u8 *rel)
{
	u8 r;

	if (e->started && pdmv2_gen_cmp(gen, e->generation) < 0)
		return PDMV2_EPOCHS_OLD;
	if (!e->started || pdmv2_gen_cmp(gen, e->generation) > 0)
		pdmv2_epochs_begin(e, gen, fresh_base, 0);
	r = e->slots[pdmv2_epochs_slot(slot)];
	if (r >= PDMV2_EPOCH_REL_LIMIT)
		return PDMV2_EPOCHS_USED;
	if (e->next < r + 1)
		e->next = r + 1;
	*rel = r;
	return 0;
}

int pdmv2_epochs_rekey(struct pdmv2_epochs *e, u32 gen, u8 rel, u8 *next_rel)
{
	if (!e->started || gen != e->generation)
		return PDMV2_EPOCHS_OLD;
	if (rel + 1 >= PDMV2_EPOCH_REL_LIMIT)
		return PDMV2_EPOCHS_USED;
	if (e->next < rel + 2)
		e->next = rel + 2;
	*next_rel = rel + 1;
	return 0;
}

void pdmv2_epochs_end(struct pdmv2_epochs *e, u32 gen, u32 slot, u8 rel)
{
	u8 *s = &e->slots[pdmv2_epochs_slot(slot)];

	if (!e->started || gen != e->generation ||
	    rel >= PDMV2_EPOCH_REL_LIMIT)
		return;
	if (*s < rel + 1)
		*s = rel + 1;
}

u16 pdmv2_epochs_epoch(const struct pdmv2_epochs *e, u8 rel)
{
	return (u16)((e->generation & 0xf) << 8 | (u8)(e->base + rel));
}

bool pdmv2_epochs_can_import(const struct pdmv2_epochs *e, u32 gen, u8 base)
{
	return !e->started || gen != e->generation || base == e->base ||
	       !e->next;
}

int pdmv2_epochs_import(struct pdmv2_epochs *e, u32 gen, u8 base, u8 next)
{
	unsigned int i;

	if (!pdmv2_epochs_can_import(e, gen, base))
		return -1;
	if (!e->started || pdmv2_gen_cmp(gen, e->generation) > 0) {
		pdmv2_epochs_begin(e, gen, base, next);
		return 0;
	}
	if (gen != e->generation)
		return 0;
	e->base = base;
	for (i = 0; i < PDMV2_EPOCH_SLOTS; i++)
		if (e->slots[i] < next)
			e->slots[i] = next;
	if (e->next < next)
		e->next = next;
	return 0;
}
