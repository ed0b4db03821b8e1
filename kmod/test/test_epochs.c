// SPDX-License-Identifier: GPL-2.0-only
/*
 * The epoch memory (kmod/pdmv2_epochs.c) against its promise: a flow whose
 * state is lost and started again (idle expiry, flush, a module reload
 * carried by an export and an import) never takes an epoch that an earlier
 * state of the same 5-tuple took in the same generation, so no (STK, nonce)
 * pair can repeat whatever the PSNs.
 *
 * usage: test_epochs        Last line: "N passed, M failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "../pdmv2_epochs.h"

#define TUPLES		64
#define GENS		32

static u64 rng = 0x2545f4914f6cdd1dULL;

static u32 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (u32)(rng >> 16);
}

/* what the sender of one 5-tuple did: epochs taken per generation */
struct tuple_model {
	u8 used[GENS][256];	/* epoch low octet taken by an ended or live state */
	bool live;
	u32 gen;
	u8 rel;
	u8 first_rel;		/* of the live state */
};

static struct pdmv2_epochs *mem_new(void)
{
	struct pdmv2_epochs *e = malloc(sizeof(*e));

	if (!e)
		abort();
	pdmv2_epochs_init(e, 0xa1);
	return e;
}

/*
 * Slots deliberately shared: TUPLES 5-tuples over 5 slots, so that the
 * sharing the kernel gets from its hash is exercised hard.
 */
static u32 slot_of(unsigned int t)
{
	return t % 5;
}

struct sim {
	struct pdmv2_epochs *e;
	struct tuple_model t[TUPLES];
	unsigned int repeats, starts, rekeys, exhausted, old;
};

/* take the count @rel in generation @gen for tuple @i; a repeat is a failure */
static void sim_take(struct sim *s, unsigned int i, u32 gen, u8 rel)
{
	u8 low = pdmv2_epochs_epoch(s->e, rel) & 0xff;

	if (s->t[i].used[gen][low])
		s->repeats++;
	s->t[i].used[gen][low] = 1;
}

static void sim_start(struct sim *s, unsigned int i, u32 gen)
{
	u8 rel;
	int err = pdmv2_epochs_start(s->e, gen, (u8)rnd(), slot_of(i), &rel);

	if (err == PDMV2_EPOCHS_USED) {
		s->exhausted++;
		return;
	}
	if (err) {
		s->old++;
		return;
	}
	s->starts++;
	s->t[i].live = true;
	s->t[i].gen = gen;
	s->t[i].rel = rel;
	s->t[i].first_rel = rel;
	sim_take(s, i, gen, rel);
}

static void sim_end(struct sim *s, unsigned int i)
{
	if (!s->t[i].live)
		return;
	pdmv2_epochs_end(s->e, s->t[i].gen, slot_of(i), s->t[i].rel);
	s->t[i].live = false;
}

static void sim_rekey(struct sim *s, unsigned int i)
{
	u8 next;

	if (!s->t[i].live)
		return;
	if (pdmv2_epochs_rekey(s->e, s->t[i].gen, s->t[i].rel, &next)) {
		/* a flow without counts left stops: its state ends */
		sim_end(s, i);
		s->exhausted++;
		return;
	}
	s->rekeys++;
	s->t[i].rel = next;
	sim_take(s, i, s->t[i].gen, next);
}

/*
 * A module reload: the export (generation, base, next) read with every
 * state still live, then a fresh memory that imports it; every live state
 * is lost, as an unload loses the flow table.
 */
static void sim_reload(struct sim *s)
{
	struct pdmv2_epochs *n = mem_new();
	unsigned int i;

	if (s->e->started)
		check(pdmv2_epochs_import(n, s->e->generation, s->e->base,
					  s->e->next) == 0,
		      "reload: import into a fresh memory");
	free(s->e);
	s->e = n;
	for (i = 0; i < TUPLES; i++)
		s->t[i].live = false;
}

static void unit_restarts(void)
{
	struct sim s = { .e = mem_new() };
	unsigned int step, i, reloads = 0;
	u32 gen = 0;

	for (step = 0; step < 40000; step++) {
		u32 r = rnd() % 1000;

		i = rnd() % TUPLES;
		if (r < 400) {
			if (!s.t[i].live)
				sim_start(&s, i, gen);
		} else if (r < 700) {
			sim_end(&s, i);
		} else if (r < 900) {
			sim_rekey(&s, i);
		} else if (r < 901) {
			sim_reload(&s);
			reloads++;
		} else if (r < 902 && rnd() % 2 && gen + 1 < GENS) {
			/* a newer generation: the live states move on to it */
			gen++;
			for (i = 0; i < TUPLES; i++)
				if (s.t[i].live) {
					s.t[i].live = false;
					sim_start(&s, i, gen);
				}
		} else if (r < 904 && gen > 0) {
			/* a start in an older generation is refused */
			u8 rel;

			check(pdmv2_epochs_start(s.e, gen - 1, 0, 0, &rel) ==
			      PDMV2_EPOCHS_OLD,
			      "a start in generation %u after %u is refused",
			      gen - 1, gen);
		}
	}
	printf("# restarts: %u starts, %u rekeys, %u refused as used, %u reloads, generations 0..%u\n",
	       s.starts, s.rekeys, s.exhausted, reloads, gen);
	check(s.starts > 5000 && s.rekeys > 2000 && reloads > 20 && gen > 8,
	      "the simulation restarted, rekeyed and reloaded");
	check(s.repeats == 0,
	      "no 5-tuple took an epoch twice in a generation (%u repeats)",
	      s.repeats);
	free(s.e);
}

/* one 5-tuple restarted until its slot has no count left */
static void unit_exhaustion(void)
{
	struct pdmv2_epochs *e = mem_new();
	u8 seen[256] = { 0 }, rel = 0;
	unsigned int n = 0, dup = 0;
	int err;

	while (!(err = pdmv2_epochs_start(e, 7, 0x80, 3, &rel))) {
		u8 low = pdmv2_epochs_epoch(e, rel) & 0xff;

		dup += seen[low]++;
		pdmv2_epochs_end(e, 7, 3, rel);
		if (++n > 300)
			break;
	}
	check(err == PDMV2_EPOCHS_USED && n == PDMV2_EPOCH_REL_LIMIT &&
	      dup == 0,
	      "a slot gives %u distinct epochs, then none (got %u, %u repeated, err %d)",
	      PDMV2_EPOCH_REL_LIMIT, n, dup, err);
	check(pdmv2_epochs_epoch(e, 0) == (7 << 8 | 0x80) &&
	      pdmv2_epochs_epoch(e, 0x90) == (7 << 8 | 0x10),
	      "epoch = generation mod 16 | base + count, mod 256");
	check(pdmv2_epochs_start(e, 7, 0, 4, &rel) == 0 && rel == 0,
	      "another slot still starts at count 0");
	check(pdmv2_epochs_rekey(e, 7, 253, &rel) == 0 && rel == 254 &&
	      pdmv2_epochs_rekey(e, 7, 254, &rel) == PDMV2_EPOCHS_USED,
	      "a rekey past count 254 is refused");
	check(pdmv2_epochs_start(e, 8, 0x11, 3, &rel) == 0 && rel == 0 &&
	      e->base == 0x11 && e->next == 1,
	      "a newer generation starts over at a fresh base");
	check(pdmv2_epochs_rekey(e, 7, 0, &rel) == PDMV2_EPOCHS_OLD,
	      "no rekey in a generation the memory has left");
	free(e);
}

static void unit_import(void)
{
	struct pdmv2_epochs *e = mem_new();
	u8 rel = 0;

	check(pdmv2_epochs_import(e, 5, 0x40, 9) == 0 && e->started &&
	      e->generation == 5 && e->base == 0x40 && e->next == 9,
	      "import into a fresh memory");
	check(pdmv2_epochs_start(e, 5, 0, 1000, &rel) == 0 && rel == 9 &&
	      pdmv2_epochs_epoch(e, rel) == (5 << 8 | 0x49),
	      "a flow after the import starts above what was handed out");
	check(pdmv2_epochs_import(e, 4, 0x11, 200) == 0 &&
	      e->generation == 5 && e->next == 10,
	      "an older generation's import changes nothing");
	check(pdmv2_epochs_import(e, 5, 0x41, 20) == -1 && e->base == 0x40 &&
	      e->next == 10,
	      "the same generation at another base is refused once used");
	check(pdmv2_epochs_import(e, 5, 0x40, 20) == 0 && e->next == 20 &&
	      pdmv2_epochs_start(e, 5, 0, 2, &rel) == 0 && rel == 20,
	      "the same generation and base: every slot rises");
	check(pdmv2_epochs_import(e, 5, 0x40, 3) == 0 && e->next == 21 &&
	      pdmv2_epochs_start(e, 5, 0, 9, &rel) == 0 && rel == 20,
	      "an import never lowers a slot");
	check(pdmv2_epochs_import(e, 6, 0x22, 0) == 0 && e->generation == 6 &&
	      e->base == 0x22 && e->next == 0,
	      "a newer generation's import replaces the memory");
	pdmv2_epochs_init(e, 1);
	check(pdmv2_epochs_start(e, 6, 0x22, 0, &rel) == 0 &&
	      pdmv2_epochs_import(e, 6, 0x33, 4) == -1,
	      "an import after a start at another base is refused");
	pdmv2_epochs_init(e, 1);
	check(pdmv2_epochs_import(e, 6, 0x33, 0) == 0 &&
	      pdmv2_epochs_import(e, 6, 0x44, 2) == 0 && e->base == 0x44,
	      "an unused memory takes the imported base");
	free(e);
}

static void (*const units[])(void) = {
	unit_restarts, unit_exhaustion, unit_import,
};

int main(void)
{
	return run_units(units, sizeof(units) / sizeof(units[0]));
}
