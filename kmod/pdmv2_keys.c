// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2 key store and per-flow keys (docs/PROTOCOL.md section 5, docs/kmod.md
 * "Keys").
 *
 * The store holds, per pairing, the client-prefix secrets CS(P) of one or
 * more generations (as their HKDF PRKs), the pairing's peer prefixes and
 * its active generation. A control write edits a private copy, which is
 * checked and published whole with RCU; the copy it replaces is wiped and
 * freed after a grace period, and every flow key derived from it is wiped
 * too. A flow derives its Session Temporary Key once per epoch: longest
 * match of the client address (the source, else the destination) among the
 * secrets, then HS(client), then STK(aead, epoch, 5-tuple).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/hash.h>
#include <linux/inet.h>
#include <linux/jhash.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/ipv6.h>

#include "pdmv2.h"

struct pdmv2_keystore *pdmv2_keys_clone(const struct pdmv2_keystore *ks)
{
	struct pdmv2_keystore *n = kvzalloc(sizeof(*n), GFP_KERNEL);

	if (n && ks)
		memcpy(n, ks, sizeof(*n));
	return n;
}

void pdmv2_keys_free(struct pdmv2_keystore *ks)
{
	if (!ks)
		return;
	/*
	 * HS(h) cached from its secrets goes first (no reader is left), with
	 * every expanded key (the flows' keys from it are wiped anyway)
	 */
	pdmv2_key_cache_forget(NULL);
	memzero_explicit(ks, sizeof(*ks));
	kvfree(ks);
}

/* ---- parsing ------------------------------------------------------------- */

static int pdmv2_parse_pairing(const char *s, u64 *id)
{
	u8 b[8];
	int i;

	if (strlen(s) != 16 || hex2bin(b, s, 8))
		return -EINVAL;
	*id = 0;
	for (i = 0; i < 8; i++)
		*id = *id << 8 | b[i];
	return 0;
}

static int pdmv2_parse_gen(const char *s, u32 *gen)
{
	if (!isdigit(s[0]) || kstrtou32(s, 10, gen))
		return -EINVAL;
	return 0;
}

static int pdmv2_parse_aead(const char *s, u16 *aead)
{
	if (!strcmp(s, "1"))
		*aead = PDMV2_AEAD_AES_128_GCM;
	else if (!strcmp(s, "2"))
		*aead = PDMV2_AEAD_AES_256_GCM;
	else
		return -EINVAL;
	return 0;
}

/* "addr/len" with the host bits zero */
static int pdmv2_parse_prefix(const char *s, struct pdmv2_prefix *p)
{
	const char *slash = strchr(s, '/'), *end;
	u8 len;

	if (!slash || !isdigit(slash[1]) || kstrtou8(slash + 1, 10, &len) ||
	    len > 128)
		return -EINVAL;
	if (!in6_pton(s, slash - s, p->addr.s6_addr, '/', &end) ||
	    end != slash)
		return -EINVAL;
	if (!pdmv2_prefix_valid(p->addr.s6_addr, len))
		return -EINVAL;
	p->len = len;
	return 0;
}

/* exactly 64 hex digits */
static int pdmv2_parse_secret(const char *s, u8 secret[PDMV2_SECRET_LEN])
{
	if (strlen(s) != 2 * PDMV2_SECRET_LEN ||
	    hex2bin(secret, s, PDMV2_SECRET_LEN)) {
		memzero_explicit(secret, PDMV2_SECRET_LEN);
		return -EINVAL;
	}
	return 0;
}

/* ---- editing --------------------------------------------------------------- */

static struct pdmv2_pairing *pdmv2_pairing_find(struct pdmv2_keystore *ks,
						u64 id)
{
	unsigned int i;

	for (i = 0; i < ks->n_pairings; i++)
		if (ks->pairings[i].id == id)
			return &ks->pairings[i];
	return NULL;
}

static const struct pdmv2_pairing *
pdmv2_pairing_lookup(const struct pdmv2_keystore *ks, u64 id)
{
	return pdmv2_pairing_find((struct pdmv2_keystore *)ks, id);
}

static struct pdmv2_pairing *pdmv2_pairing_get(struct pdmv2_keystore *ks,
					       u64 id)
{
	struct pdmv2_pairing *p = pdmv2_pairing_find(ks, id);

	if (p)
		return p;
	if (ks->n_pairings == PDMV2_MAX_PAIRINGS)
		return ERR_PTR(-ENOSPC);
	p = &ks->pairings[ks->n_pairings++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	return p;
}

static bool pdmv2_prefix_eq(const struct pdmv2_prefix *a,
			    const struct pdmv2_prefix *b)
{
	return a->len == b->len && ipv6_addr_equal(&a->addr, &b->addr);
}

static void pdmv2_secret_remove(struct pdmv2_keystore *ks, unsigned int i)
{
	ks->secrets[i] = ks->secrets[--ks->n_secrets];
	memzero_explicit(&ks->secrets[ks->n_secrets],
			 sizeof(ks->secrets[0]));
}

/* Install CS(P) as its PRK; replaces the same (pairing, gen, prefix). */
static int pdmv2_secret_install(struct pdmv2_keystore *ks, u64 pairing,
				u32 gen, u16 aead,
				const struct pdmv2_prefix *prefix,
				const u8 cs[PDMV2_SECRET_LEN], u32 overlap)
{
	unsigned long retire_at = jiffies + overlap * HZ;
	struct pdmv2_secret *s = NULL;
	bool retiring = false;
	struct pdmv2_pairing *p;
	unsigned int i;

	for (i = 0; i < ks->n_secrets; i++) {
		struct pdmv2_secret *e = &ks->secrets[i];

		if (e->pairing != pairing)
			continue;
		/* the epoch carries 4 bits: live generations stay distinct */
		if (e->generation != gen &&
		    (e->generation & 0xf) == (gen & 0xf))
			return -EEXIST;
		if (e->generation == gen && pdmv2_prefix_eq(&e->prefix, prefix))
			s = e;
	}
	p = pdmv2_pairing_get(ks, pairing);
	if (IS_ERR(p))
		return PTR_ERR(p);
	if (s) {
		/* a replacement keeps its place in the rotation */
		retiring = s->retiring;
		retire_at = s->retire_at;
	} else if (p->has_active && gen < p->active) {
		/* an older generation: only for checking, during the overlap */
		retiring = true;
	}
	if (!s) {
		if (ks->n_secrets == PDMV2_MAX_SECRETS)
			return -ENOSPC;
		s = &ks->secrets[ks->n_secrets++];
	}
	memset(s, 0, sizeof(*s));
	s->pairing = pairing;
	s->generation = gen;
	s->aead = aead;
	s->prefix = *prefix;
	s->retiring = retiring;
	s->retire_at = retire_at;
	return pdmv2_kdf_extract(cs, PDMV2_SECRET_LEN, s->prk) ? -EIO : 0;
}

/* key PAIRING GEN AEAD PREFIX SECRET */
static int pdmv2_cmd_key(struct pdmv2_keystore *ks, char **argv, u32 overlap)
{
	struct pdmv2_prefix prefix;
	u8 cs[PDMV2_SECRET_LEN];
	u64 pairing;
	u16 aead;
	u32 gen;
	int err;

	if (pdmv2_parse_pairing(argv[1], &pairing) ||
	    pdmv2_parse_gen(argv[2], &gen) ||
	    pdmv2_parse_aead(argv[3], &aead) ||
	    pdmv2_parse_prefix(argv[4], &prefix))
		return -EINVAL;
	err = pdmv2_parse_secret(argv[5], cs);
	if (!err)
		err = pdmv2_secret_install(ks, pairing, gen, aead, &prefix, cs,
					   overlap);
	memzero_explicit(cs, sizeof(cs));
	return err;
}

/* sgs PAIRING GEN AEAD SECRET PREFIX...: CS(P) derived here, SGS not kept */
static int pdmv2_cmd_sgs(struct pdmv2_keystore *ks, char **argv, int argc,
			 u32 overlap)
{
	u8 sgs[PDMV2_SECRET_LEN], cs[PDMV2_SECRET_LEN];
	struct pdmv2_prefix prefix;
	u64 pairing;
	u16 aead;
	u32 gen;
	int i, err;

	if (argc < 6 || pdmv2_parse_pairing(argv[1], &pairing) ||
	    pdmv2_parse_gen(argv[2], &gen) ||
	    pdmv2_parse_aead(argv[3], &aead))
		return -EINVAL;
	err = pdmv2_parse_secret(argv[4], sgs);
	for (i = 5; !err && i < argc; i++) {
		err = pdmv2_parse_prefix(argv[i], &prefix);
		if (!err)
			err = pdmv2_cs(sgs, prefix.addr.s6_addr, prefix.len,
				       cs) ? -EIO : 0;
		if (!err)
			err = pdmv2_secret_install(ks, pairing, gen, aead,
						   &prefix, cs, overlap);
	}
	memzero_explicit(cs, sizeof(cs));
	memzero_explicit(sgs, sizeof(sgs));
	return err;
}

/*
 * active PAIRING GEN: emit with GEN from now on. Generations only move
 * forward; the older ones stay for @overlap seconds (ingress checks,
 * analyzers' late packets) and are then wiped by pdmv2_keys_retire().
 */
static int pdmv2_cmd_active(struct pdmv2_keystore *ks, char **argv,
			    u32 overlap)
{
	struct pdmv2_pairing *p;
	bool have = false;
	unsigned int i;
	u64 pairing;
	u32 gen;

	if (pdmv2_parse_pairing(argv[1], &pairing) ||
	    pdmv2_parse_gen(argv[2], &gen))
		return -EINVAL;
	p = pdmv2_pairing_find(ks, pairing);
	for (i = 0; p && i < ks->n_secrets; i++)
		if (ks->secrets[i].pairing == pairing &&
		    ks->secrets[i].generation == gen)
			have = true;
	if (!have)
		return -ENOKEY;
	if (p->has_active && gen < p->active)
		return -ESTALE;
	p->active = gen;
	p->has_active = true;
	for (i = 0; i < ks->n_secrets;) {
		struct pdmv2_secret *s = &ks->secrets[i];

		if (s->pairing != pairing || s->generation >= gen) {
			s->retiring = false;
			i++;
		} else if (!overlap) {
			pdmv2_secret_remove(ks, i);
		} else {
			if (!s->retiring)
				s->retire_at = jiffies + overlap * HZ;
			s->retiring = true;
			i++;
		}
	}
	return 0;
}

/* unkey PAIRING GEN: remove that generation (idempotent) */
static int pdmv2_cmd_unkey(struct pdmv2_keystore *ks, char **argv)
{
	struct pdmv2_pairing *p;
	unsigned int i;
	u64 pairing;
	u32 gen;

	if (pdmv2_parse_pairing(argv[1], &pairing) ||
	    pdmv2_parse_gen(argv[2], &gen))
		return -EINVAL;
	for (i = 0; i < ks->n_secrets;) {
		if (ks->secrets[i].pairing == pairing &&
		    ks->secrets[i].generation == gen)
			pdmv2_secret_remove(ks, i);
		else
			i++;
	}
	p = pdmv2_pairing_find(ks, pairing);
	if (p && p->has_active && p->active == gen)
		p->has_active = false;
	return 0;
}

/* peer / unpeer PAIRING PREFIX */
static int pdmv2_cmd_peer(struct pdmv2_keystore *ks, char **argv, bool add)
{
	struct pdmv2_prefix prefix;
	struct pdmv2_pairing *p;
	unsigned int i;
	u64 pairing;

	if (pdmv2_parse_pairing(argv[1], &pairing) ||
	    pdmv2_parse_prefix(argv[2], &prefix))
		return -EINVAL;
	p = add ? pdmv2_pairing_get(ks, pairing) :
		  pdmv2_pairing_find(ks, pairing);
	if (IS_ERR(p))
		return PTR_ERR(p);
	if (!p)
		return 0;
	for (i = 0; i < p->n_peers; i++)
		if (pdmv2_prefix_eq(&p->peers[i], &prefix))
			break;
	if (!add) {
		if (i < p->n_peers)
			p->peers[i] = p->peers[--p->n_peers];
		return 0;
	}
	if (i < p->n_peers)
		return 0;
	if (p->n_peers == PDMV2_MAX_PEERS)
		return -ENOSPC;
	p->peers[p->n_peers++] = prefix;
	return 0;
}

/* drop pairings that hold nothing any more */
static void pdmv2_pairings_compact(struct pdmv2_keystore *ks)
{
	unsigned int i, j;
	bool used;

	for (i = 0; i < ks->n_pairings;) {
		struct pdmv2_pairing *p = &ks->pairings[i];

		used = p->n_peers > 0;
		for (j = 0; !used && j < ks->n_secrets; j++)
			used = ks->secrets[j].pairing == p->id;
		if (used) {
			i++;
			continue;
		}
		*p = ks->pairings[--ks->n_pairings];
		memset(&ks->pairings[ks->n_pairings], 0, sizeof(*p));
	}
}

/*
 * Apply one key command (@argv[0] is the command word) to the private
 * copy @ks. Returns -ENOENT when the word is not a key command.
 */
int pdmv2_keys_command(struct pdmv2_keystore *ks, char **argv, int argc,
		       u32 key_overlap)
{
	const char *cmd = argv[0];
	int err;

	if (!strcmp(cmd, "keyflush")) {
		if (argc != 1)
			return -EINVAL;
		memzero_explicit(ks->secrets, sizeof(ks->secrets));
		memset(ks->pairings, 0, sizeof(ks->pairings));
		ks->n_secrets = 0;
		ks->n_pairings = 0;
		return 0;
	}
	if (!strcmp(cmd, "key"))
		err = argc == 6 ? pdmv2_cmd_key(ks, argv, key_overlap) :
				  -EINVAL;
	else if (!strcmp(cmd, "sgs"))
		err = pdmv2_cmd_sgs(ks, argv, argc, key_overlap);
	else if (!strcmp(cmd, "active"))
		err = argc == 3 ? pdmv2_cmd_active(ks, argv, key_overlap) :
				  -EINVAL;
	else if (!strcmp(cmd, "unkey"))
		err = argc == 3 ? pdmv2_cmd_unkey(ks, argv) : -EINVAL;
	else if (!strcmp(cmd, "peer") || !strcmp(cmd, "unpeer"))
		err = argc == 3 ? pdmv2_cmd_peer(ks, argv, cmd[0] == 'p') :
				  -EINVAL;
	else
		return -ENOENT;
	if (!err)
		pdmv2_pairings_compact(ks);
	return err;
}

static bool pdmv2_peers_overlap(const struct pdmv2_pairing *a,
				const struct pdmv2_pairing *b)
{
	unsigned int i, j;

	if (!a->n_peers || !b->n_peers)
		return true;
	for (i = 0; i < a->n_peers; i++)
		for (j = 0; j < b->n_peers; j++)
			if (pdmv2_prefix_overlap(a->peers[i].addr.s6_addr,
						 a->peers[i].len,
						 b->peers[j].addr.s6_addr,
						 b->peers[j].len))
				return true;
	return false;
}

/*
 * Two pairings may not both claim one flow: their client prefixes overlap
 * and so do their peers (a pairing without peers matches every peer).
 */
int pdmv2_keys_validate(const struct pdmv2_keystore *ks)
{
	const struct pdmv2_pairing *pa, *pb;
	const struct pdmv2_secret *a, *b;
	unsigned int i, j;

	for (i = 0; i < ks->n_secrets; i++) {
		a = &ks->secrets[i];
		for (j = i + 1; j < ks->n_secrets; j++) {
			b = &ks->secrets[j];
			if (a->pairing == b->pairing ||
			    !pdmv2_prefix_overlap(a->prefix.addr.s6_addr,
						  a->prefix.len,
						  b->prefix.addr.s6_addr,
						  b->prefix.len))
				continue;
			pa = pdmv2_pairing_lookup(ks, a->pairing);
			pb = pdmv2_pairing_lookup(ks, b->pairing);
			if (pa && pb && pdmv2_peers_overlap(pa, pb))
				return -EEXIST;
		}
	}
	return 0;
}

static bool pdmv2_secret_in(const struct pdmv2_keystore *ks,
			    const struct pdmv2_secret *s)
{
	unsigned int i;

	for (i = 0; ks && i < ks->n_secrets; i++)
		if (ks->secrets[i].pairing == s->pairing &&
		    ks->secrets[i].generation == s->generation &&
		    pdmv2_prefix_eq(&ks->secrets[i].prefix, &s->prefix) &&
		    !memcmp(ks->secrets[i].prk, s->prk, sizeof(s->prk)))
			return true;
	return false;
}

/*
 * Make @ks (or nothing, when NULL) the store; caller holds cfg_lock, in
 * process context. The old store and every flow key derived from it are
 * wiped before this returns.
 */
void pdmv2_keys_publish(struct pdmv2_net *pn, struct pdmv2_keystore *ks)
{
	struct pdmv2_keystore *old;
	unsigned int i, gone = 0, added = 0;

	old = rcu_dereference_protected(pn->keys,
					lockdep_is_held(&pn->cfg_lock));
	if (ks && !ks->n_secrets && !ks->n_pairings) {
		pdmv2_keys_free(ks);
		ks = NULL;
	}
	if (ks) {
		ks->version = ++pn->keys_version;
		for (i = 0; i < ks->n_secrets; i++)
			added += !pdmv2_secret_in(old, &ks->secrets[i]);
	}
	for (i = 0; old && i < old->n_secrets; i++)
		gone += !pdmv2_secret_in(ks, &old->secrets[i]);
	rcu_assign_pointer(pn->keys, ks);
	synchronize_rcu();
	pdmv2_flows_wipe_keys(pn, ks ? ks->version : 0);
	pdmv2_keys_free(old);
	pdmv2_stat_add(pn, PDMV2_STAT_SECRETS_INSTALLED, added);
	pdmv2_stat_add(pn, PDMV2_STAT_SECRETS_WIPED, gone);
}

/* expiry work: wipe generations whose overlap has ended */
void pdmv2_keys_retire(struct pdmv2_net *pn)
{
	struct pdmv2_keystore *ks, *n;
	unsigned int i;
	bool due = false;

	mutex_lock(&pn->cfg_lock);
	ks = rcu_dereference_protected(pn->keys,
				       lockdep_is_held(&pn->cfg_lock));
	for (i = 0; ks && i < ks->n_secrets; i++)
		if (ks->secrets[i].retiring &&
		    time_after_eq(jiffies, ks->secrets[i].retire_at))
			due = true;
	if (due) {
		n = pdmv2_keys_clone(ks);
		if (n) {
			for (i = 0; i < n->n_secrets;) {
				if (n->secrets[i].retiring &&
				    time_after_eq(jiffies,
						  n->secrets[i].retire_at))
					pdmv2_secret_remove(n, i);
				else
					i++;
			}
			pdmv2_pairings_compact(n);
			pdmv2_keys_publish(pn, n);
		}
	}
	mutex_unlock(&pn->cfg_lock);
}

/* ---- per-flow keys ------------------------------------------------------- */

/*
 * The expanded keys and H of recently used flow keys, per CPU: a few ways,
 * chosen by flow and direction. An entry is the key of (flow, direction,
 * key store version, epoch); a flow's key changes only with one of the
 * last two or after a wipe, and a wipe (and freeing the flow) removes the
 * flow's entries on every CPU first, so an entry never outlives its key
 * nor stands for another flow at the same address. The epoch an entry is
 * for is the one the epoch memory gave the flow's current state (a rekey
 * or a new start forgets the old entries before the new STK is derived),
 * and a retired flow's entries go with its key: the cache never seals
 * under an epoch the memory has not handed to this flow state. Used with
 * BHs off on the CPU's own cache; the lock is for the wipes from other
 * CPUs.
 */
#define PDMV2_KEY_CACHE_WAYS	4

struct pdmv2_key_cache_entry {
	const struct pdmv2_flow *flow;	/* NULL: empty */
	u64 ks_version;
	u16 epoch;
	bool rx;
	struct pdmv2_gcm gcm;
};

/*
 * HS(h) of recent client hosts, as its HKDF PRK keyed for HMAC (the SHA-256
 * states of its pads): a host's flows (every DNS query is one) then cost
 * one HMAC of two SHA-256 compressions each for their STK instead of three
 * HMACs and the keying of a transform for each.
 * An entry is (secret, host); the secret lives in a key store, and a key
 * store is freed only after every reader of it is gone and after these
 * entries are wiped (pdmv2_keys_free()), so an entry never outlives its
 * secret nor stands for another at the same address.
 */
#define PDMV2_HS_CACHE_WAYS	8

struct pdmv2_hs_cache_entry {
	const struct pdmv2_secret *secret;	/* NULL: empty */
	struct in6_addr host;
	struct pdmv2_hmac_key prk;
};

struct pdmv2_key_cache {
	spinlock_t lock;		/* the CPU's own use (BHs off), and wipes */
	struct pdmv2_key_cache_entry e[PDMV2_KEY_CACHE_WAYS];
	struct pdmv2_hs_cache_entry hs[PDMV2_HS_CACHE_WAYS];
};

/* alloc_percpu(): too large for the modules' static per-CPU reserve */
static struct pdmv2_key_cache __percpu *pdmv2_key_caches;

static void pdmv2_key_cache_clear(struct pdmv2_key_cache_entry *e)
{
	pdmv2_gcm_wipe(&e->gcm);
	e->flow = NULL;
}

/*
 * The GCM state of @flow's key in direction @rx, from this CPU's cache or
 * expanded into it; NULL if it does not expand (no key). BHs off, flow
 * lock held; pdmv2_flow_gcm_put() ends the use, also after NULL.
 */
const struct pdmv2_gcm *pdmv2_flow_gcm_get(struct pdmv2_flow *flow, bool rx)
	__acquires(&pdmv2_key_caches->lock)
{
	struct pdmv2_key_cache *c = this_cpu_ptr(pdmv2_key_caches);
	const struct pdmv2_flow_key_state *k = rx ? &flow->rx : &flow->tx;
	struct pdmv2_key_cache_entry *e;

	e = &c->e[(hash_ptr(flow, 8) ^ rx) % PDMV2_KEY_CACHE_WAYS];
	spin_lock(&c->lock);
	/*
	 * Callers ask only after pdmv2_flow_tx_key()/rx_key() said yes; this
	 * holds even if one did not: no key, or a retired flow's, is no key.
	 */
	if (!k->aead || (!rx && k->retired))
		return NULL;
	/*
	 * An entry made with the CPU's instructions is of no use where they
	 * may not run now (a softirq inside another kernel FPU section), and
	 * the other way round it would be slow: made again, either way.
	 */
	if (e->flow == flow && e->rx == rx && e->ks_version == k->ks_version &&
	    e->epoch == k->epoch &&
	    pdmv2_gcm_simd(&e->gcm) == pdmv2_simd_usable())
		return &e->gcm;
	if (pdmv2_gcm_init(&e->gcm, rx ? flow->rx_stk : flow->tx_stk,
			   pdmv2_aead_key_len(k->aead))) {
		pdmv2_key_cache_clear(e);
		return NULL;
	}
	e->flow = flow;
	e->rx = rx;
	e->ks_version = k->ks_version;
	e->epoch = k->epoch;
	return &e->gcm;
}

void pdmv2_flow_gcm_put(void)
	__releases(&pdmv2_key_caches->lock)
{
	spin_unlock(&this_cpu_ptr(pdmv2_key_caches)->lock);
}

/*
 * Wipe @flow's expanded keys on every CPU; NULL: every entry, the HS(h)
 * ones too. Any context.
 */
void pdmv2_key_cache_forget(const struct pdmv2_flow *flow)
{
	struct pdmv2_key_cache *c;
	unsigned int i;
	int cpu;

	for_each_possible_cpu(cpu) {
		c = per_cpu_ptr(pdmv2_key_caches, cpu);
		spin_lock_bh(&c->lock);
		for (i = 0; i < PDMV2_KEY_CACHE_WAYS; i++)
			if (c->e[i].flow && (!flow || c->e[i].flow == flow))
				pdmv2_key_cache_clear(&c->e[i]);
		for (i = 0; !flow && i < PDMV2_HS_CACHE_WAYS; i++) {
			memzero_explicit(&c->hs[i].prk, sizeof(c->hs[i].prk));
			c->hs[i].secret = NULL;
		}
		spin_unlock_bh(&c->lock);
	}
}

static struct pdmv2_hs_cache_entry *
pdmv2_hs_slot(struct pdmv2_key_cache *c, const struct pdmv2_secret *secret,
	      const u8 *host)
{
	u32 h = jhash(host, 16, (u32)(unsigned long)secret);

	return &c->hs[h % PDMV2_HS_CACHE_WAYS];
}

int pdmv2_key_cache_init(void)
{
	int cpu;

	pdmv2_key_caches = alloc_percpu(struct pdmv2_key_cache);
	if (!pdmv2_key_caches)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(pdmv2_key_caches, cpu)->lock);
	return 0;
}

void pdmv2_key_cache_exit(void)
{
	if (!pdmv2_key_caches)
		return;
	pdmv2_key_cache_forget(NULL);
	free_percpu(pdmv2_key_caches);
	pdmv2_key_caches = NULL;
}

void pdmv2_flow_tx_wipe(struct pdmv2_flow *flow)
{
	memzero_explicit(flow->tx_stk, sizeof(flow->tx_stk));
	if (flow->tx.aead)
		pdmv2_key_cache_forget(flow);
	flow->tx.ks_version = 0;
	flow->tx.aead = 0;
}

void pdmv2_flow_rx_wipe(struct pdmv2_flow *flow)
{
	memzero_explicit(flow->rx_stk, sizeof(flow->rx_stk));
	if (flow->rx.aead)
		pdmv2_key_cache_forget(flow);
	flow->rx.ks_version = 0;
	flow->rx.aead = 0;
}

static void pdmv2_tuple_from(struct pdmv2_tuple *t,
			     const struct pdmv2_flow_key *key, bool reverse)
{
	memcpy(t->src, (reverse ? &key->daddr : &key->saddr)->s6_addr, 16);
	memcpy(t->dst, (reverse ? &key->saddr : &key->daddr)->s6_addr, 16);
	t->sport = reverse ? key->dport : key->sport;
	t->dport = reverse ? key->sport : key->dport;
	t->proto = key->proto;
}

static bool pdmv2_peer_ok(const struct pdmv2_pairing *p, const u8 *other)
{
	unsigned int i;

	if (!p->n_peers)
		return true;
	for (i = 0; i < p->n_peers; i++)
		if (pdmv2_prefix_contains(p->peers[i].addr.s6_addr,
					  p->peers[i].len, other))
			return true;
	return false;
}

/*
 * The secret for a flow in direction @t: for sending (@tx), the active
 * generation of its pairing; for checking a received option, the newest
 * live generation whose low four bits are @gen4. The client is the source
 * if a secret's prefix contains it, else the destination.
 */
static const struct pdmv2_secret *
pdmv2_secret_for(const struct pdmv2_keystore *ks, const struct pdmv2_tuple *t,
		 bool tx, u8 gen4, const u8 **client)
{
	const struct pdmv2_secret *best = NULL, *s;
	const struct pdmv2_pairing *p;
	unsigned int side, i;
	const u8 *c, *o;

	for (side = 0; side < 2 && !best; side++) {
		c = side ? t->dst : t->src;
		o = side ? t->src : t->dst;
		for (i = 0; i < ks->n_secrets; i++) {
			s = &ks->secrets[i];
			p = pdmv2_pairing_lookup(ks, s->pairing);
			if (!p)
				continue;
			if (tx ? !p->has_active || s->generation != p->active :
				 (s->generation & 0xf) != gen4)
				continue;
			if (!pdmv2_prefix_contains(s->prefix.addr.s6_addr,
						   s->prefix.len, c) ||
			    !pdmv2_peer_ok(p, o))
				continue;
			if (!best || s->prefix.len > best->prefix.len ||
			    (s->prefix.len == best->prefix.len &&
			     s->generation > best->generation))
				best = s;
		}
		if (best)
			*client = c;
	}
	return best;
}

/*
 * STK(@k->epoch) of @t into @stk, from HS(@client) cached on this CPU or
 * derived (and cached); on failure @stk is zero. BHs off. The derivation
 * runs under the cache's lock (the CPU's own; a wipe from another CPU
 * waits for it), so the keyed PRK is used where it lies and never copied.
 */
static int pdmv2_derive(struct pdmv2_net *pn, const struct pdmv2_secret *s,
			const u8 *client, const struct pdmv2_tuple *t,
			struct pdmv2_flow_key_state *k, u8 stk[PDMV2_STK_MAX_LEN])
{
	struct pdmv2_key_cache *c = this_cpu_ptr(pdmv2_key_caches);
	struct pdmv2_hs_cache_entry *e = pdmv2_hs_slot(c, s, client);
	u8 hs[PDMV2_SECRET_LEN], prk[PDMV2_HASH_LEN];
	int err = 0;

	spin_lock(&c->lock);
	if (e->secret != s || memcmp(e->host.s6_addr, client, 16)) {
		e->secret = NULL;
		err = pdmv2_kdf_expand(s->prk, PDMV2_LABEL_HS, client, 16, hs,
				       sizeof(hs));
		if (!err)
			err = pdmv2_kdf_extract(hs, sizeof(hs), prk);
		if (!err)
			err = pdmv2_hmac_sha256_key(prk, sizeof(prk), &e->prk);
		memzero_explicit(hs, sizeof(hs));
		memzero_explicit(prk, sizeof(prk));
		if (!err) {
			e->secret = s;
			memcpy(e->host.s6_addr, client, 16);
		}
	}
	if (!err)
		err = pdmv2_stk_from_hs_key(&e->prk, s->aead, k->epoch, t, stk);
	spin_unlock(&c->lock);
	if (err) {
		memzero_explicit(stk, PDMV2_STK_MAX_LEN);
		return -EIO;
	}
	k->aead = s->aead;
	pdmv2_stat_inc(pn, PDMV2_STAT_KEYS_DERIVED);
	return 0;
}

/* ---- epoch memory -------------------------------------------------------- */

/* the slot of a flow's 5-tuple in its pairing's epoch memory */
static u32 pdmv2_epochs_flow_slot(struct pdmv2_net *pn,
				  const struct pdmv2_flow *flow)
{
	return pdmv2_epochs_slot(jhash2((const u32 *)&flow->key,
					sizeof(flow->key) / sizeof(u32),
					pn->hash_seed ^ 0x9e3779b9));
}

/* epochs_lock held, or cfg_lock for the array alone */
static struct pdmv2_epochs *pdmv2_epochs_find(struct pdmv2_net *pn,
					      u64 pairing)
{
	unsigned int i;

	for (i = 0; i < PDMV2_EPOCH_RECORDS; i++)
		if (pn->epochs[i] && pn->epochs[i]->pairing == pairing)
			return pn->epochs[i];
	return NULL;
}

static int pdmv2_epochs_err(int err)
{
	switch (err) {
	case 0:
		return 0;
	case PDMV2_EPOCHS_OLD:
		return -EKEYEXPIRED;
	default:
		return -ESTALE;
	}
}

/*
 * Start @k in generation @s->generation at the first epoch its 5-tuple has
 * not used there. Flow lock held (BHs off). 0, -EKEYEXPIRED (the memory
 * has a newer generation), -ESTALE (no unused epoch), -ENOKEY (no memory).
 */
static int pdmv2_epochs_take(struct pdmv2_net *pn, struct pdmv2_flow *flow,
			     const struct pdmv2_secret *s)
{
	struct pdmv2_flow_key_state *k = &flow->tx;
	struct pdmv2_epochs *e;
	int err = -ENOKEY;
	u8 rel;

	spin_lock(&pn->epochs_lock);
	e = pdmv2_epochs_find(pn, s->pairing);
	if (e) {
		u8 base = pdmv2_flow_random() & 0xff;
		u32 slot = pdmv2_epochs_flow_slot(pn, flow);

		err = pdmv2_epochs_err(pdmv2_epochs_start(e, s->generation,
							  base, slot, &rel));
		e->stamp = ++pn->epochs_clock;
	}
	if (!err) {
		k->pairing = s->pairing;
		k->generation = s->generation;
		k->base = e->base;
		k->rel = rel;
		k->epoch = pdmv2_epochs_epoch(e, rel);
	}
	spin_unlock(&pn->epochs_lock);
	return err;
}

/* the next epoch of @k's generation: 0, -ESTALE or -EKEYEXPIRED */
static int pdmv2_epochs_advance(struct pdmv2_net *pn,
				struct pdmv2_flow_key_state *k)
{
	struct pdmv2_epochs *e;
	int err = -EKEYEXPIRED;
	u8 rel;

	spin_lock(&pn->epochs_lock);
	e = pdmv2_epochs_find(pn, k->pairing);
	/* another base: the memory was forgotten and begun again */
	if (e && e->base == k->base)
		err = pdmv2_epochs_err(pdmv2_epochs_rekey(e, k->generation,
							  k->rel, &rel));
	if (!err) {
		k->rel = rel;
		k->epoch = pdmv2_epochs_epoch(e, rel);
	}
	spin_unlock(&pn->epochs_lock);
	return err;
}

/*
 * The flow leaves the table (expiry, flush): its epochs go into the memory
 * and it never emits again, even through a pointer a CPU still holds.
 * Flow lock held (BHs off).
 */
void pdmv2_flow_tx_retire(struct pdmv2_net *pn, struct pdmv2_flow *flow)
{
	struct pdmv2_flow_key_state *k = &flow->tx;
	struct pdmv2_epochs *e;

	if (k->started && !k->retired) {
		spin_lock(&pn->epochs_lock);
		e = pdmv2_epochs_find(pn, k->pairing);
		if (e && e->base == k->base)
			pdmv2_epochs_end(e, k->generation,
					 pdmv2_epochs_flow_slot(pn, flow),
					 k->rel);
		spin_unlock(&pn->epochs_lock);
	}
	k->retired = 1;
	pdmv2_flow_tx_wipe(flow);
}

/* epoch PAIRING GEN BASE NEXT: what an earlier module instance handed out */
int pdmv2_epoch_command(struct pdmv2_epoch_import *imp, unsigned int *n,
			char **argv, int argc)
{
	struct pdmv2_epoch_import e;
	unsigned int i;

	if (argc != 5 || pdmv2_parse_pairing(argv[1], &e.pairing) ||
	    pdmv2_parse_gen(argv[2], &e.generation) ||
	    !isdigit(argv[3][0]) || kstrtou8(argv[3], 10, &e.base) ||
	    !isdigit(argv[4][0]) || kstrtou8(argv[4], 10, &e.next) ||
	    e.next > PDMV2_EPOCH_REL_LIMIT)
		return -EINVAL;
	/* one line per pairing: two could not both be applied */
	for (i = 0; i < *n; i++)
		if (imp[i].pairing == e.pairing)
			return -EINVAL;
	if (*n == PDMV2_EPOCH_RECORDS)
		return -ENOSPC;
	imp[(*n)++] = e;
	return 0;
}

static bool pdmv2_epochs_needed(u64 pairing, const u64 *need, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (need[i] == pairing)
			return true;
	return false;
}

/*
 * Make the epoch memory ready for a control write: a record for every
 * pairing of @ks (the store about to be published, or NULL) and of the
 * imports, which are applied. A record of a pairing in neither is dropped,
 * least recently used first, only when room is needed (counted,
 * epochs_forgotten). All or nothing: an error changes nothing. cfg_lock
 * held, process context.
 */
int pdmv2_epochs_apply(struct pdmv2_net *pn, const struct pdmv2_keystore *ks,
		       const struct pdmv2_epoch_import *imp, unsigned int n)
{
	u64 need[PDMV2_MAX_PAIRINGS + PDMV2_EPOCH_RECORDS];
	struct pdmv2_epochs *fresh[PDMV2_EPOCH_RECORDS] = { };
	struct pdmv2_epochs *gone[PDMV2_EPOCH_RECORDS] = { };
	unsigned int i, j, n_need = 0, n_fresh = 0, n_free = 0, n_gone = 0;
	int err = 0;

	for (i = 0; ks && i < ks->n_pairings; i++)
		need[n_need++] = ks->pairings[i].id;
	for (i = 0; i < n; i++)
		if (!pdmv2_epochs_needed(imp[i].pairing, need, n_need))
			need[n_need++] = imp[i].pairing;
	for (i = 0; i < n_need; i++)
		if (!pdmv2_epochs_find(pn, need[i]))
			n_fresh++;
	for (i = 0; i < PDMV2_EPOCH_RECORDS; i++)
		n_free += !pn->epochs[i];
	if (n_fresh > PDMV2_EPOCH_RECORDS)
		return -ENOSPC;
	for (i = 0; i < n_fresh; i++) {
		fresh[i] = kvmalloc(sizeof(*fresh[i]), GFP_KERNEL);
		if (!fresh[i]) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (i = 0, j = 0; i < n_need; i++)
		if (!pdmv2_epochs_find(pn, need[i]))
			pdmv2_epochs_init(fresh[j++], need[i]);

	spin_lock_bh(&pn->epochs_lock);
	/* the least recently used records of pairings no longer needed */
	while (n_free + n_gone < n_fresh) {
		unsigned int victim = PDMV2_EPOCH_RECORDS;

		for (i = 0; i < PDMV2_EPOCH_RECORDS; i++) {
			struct pdmv2_epochs *e = pn->epochs[i];

			if (!e || pdmv2_epochs_needed(e->pairing, need, n_need))
				continue;
			for (j = 0; j < n_gone; j++)
				if (gone[j] == e)
					break;
			if (j < n_gone)
				continue;
			if (victim == PDMV2_EPOCH_RECORDS ||
			    e->stamp < pn->epochs[victim]->stamp)
				victim = i;
		}
		if (victim == PDMV2_EPOCH_RECORDS) {
			err = -ENOSPC;
			break;
		}
		gone[n_gone++] = pn->epochs[victim];
	}
	for (i = 0; !err && i < n; i++) {
		const struct pdmv2_epochs *e = pdmv2_epochs_find(pn,
							imp[i].pairing);

		if (e && !pdmv2_epochs_can_import(e, imp[i].generation,
						  imp[i].base))
			err = -EEXIST;
	}
	if (!err) {
		for (i = 0; i < PDMV2_EPOCH_RECORDS; i++)
			for (j = 0; j < n_gone; j++)
				if (pn->epochs[i] == gone[j])
					pn->epochs[i] = NULL;
		for (i = 0, j = 0; i < PDMV2_EPOCH_RECORDS && j < n_fresh; i++)
			if (!pn->epochs[i]) {
				fresh[j]->stamp = ++pn->epochs_clock;
				pn->epochs[i] = fresh[j];
				fresh[j++] = NULL;
			}
		for (i = 0; i < n; i++)
			pdmv2_epochs_import(pdmv2_epochs_find(pn,
							      imp[i].pairing),
					    imp[i].generation, imp[i].base,
					    imp[i].next);
	}
	spin_unlock_bh(&pn->epochs_lock);
	if (!err && n_gone)
		pdmv2_stat_add(pn, PDMV2_STAT_EPOCHS_FORGOTTEN, n_gone);
	for (i = 0; !err && i < n_gone; i++)
		kvfree(gone[i]);
out:
	for (i = 0; i < n_fresh; i++)
		kvfree(fresh[i]);
	return err;
}

/* /proc/net/pdmv2/epochs: the lines that carry the memory to a new instance */
void pdmv2_epochs_show(struct seq_file *seq, struct pdmv2_net *pn)
{
	struct pdmv2_epochs *e;
	unsigned int i;

	seq_puts(seq, "# pairing generation base next\n");
	/* cfg_lock: the records stay; epochs_lock: their contents hold still */
	mutex_lock(&pn->cfg_lock);
	for (i = 0; i < PDMV2_EPOCH_RECORDS; i++) {
		u32 gen;
		u8 base, next;
		bool started;

		e = pn->epochs[i];
		if (!e)
			continue;
		spin_lock_bh(&pn->epochs_lock);
		started = e->started;
		gen = e->generation;
		base = e->base;
		next = e->next;
		spin_unlock_bh(&pn->epochs_lock);
		if (started)
			seq_printf(seq, "epoch %016llx %u %u %u\n", e->pairing,
				   gen, base, next);
	}
	mutex_unlock(&pn->cfg_lock);
}

static void pdmv2_epochs_destroy(struct pdmv2_net *pn)
{
	unsigned int i;

	for (i = 0; i < PDMV2_EPOCH_RECORDS; i++) {
		kvfree(pn->epochs[i]);
		pn->epochs[i] = NULL;
	}
}

void pdmv2_keys_destroy(struct pdmv2_net *pn)
{
	pdmv2_keys_free(rcu_dereference_protected(pn->keys, true));
	RCU_INIT_POINTER(pn->keys, NULL);
	pdmv2_epochs_destroy(pn);
}

/* ---- sending --------------------------------------------------------------- */

/* why @k sends nothing with the store it last looked at */
static int pdmv2_tx_refusal(const struct pdmv2_flow_key_state *k)
{
	if (k->exhausted)
		return -ESTALE;
	return k->old_gen ? -EKEYEXPIRED : -ENOKEY;
}

/*
 * Make flow->tx the key for sending PSNTP @psntp; flow lock held, in an RCU
 * read-side section. -ENOKEY: no secret for the flow (or only an older
 * generation than the flow already used); -ESTALE: no epoch of this
 * generation is left that the flow's 5-tuple has not used (the epoch
 * memory); -EKEYEXPIRED: the pairing's epoch memory has moved on to a newer
 * generation than the store's active one; the flow has expired (retired).
 */
int pdmv2_flow_tx_key(struct pdmv2_net *pn, struct pdmv2_flow *flow,
		      u32 psntp)
{
	const struct pdmv2_keystore *ks = rcu_dereference(pn->keys);
	struct pdmv2_flow_key_state *k = &flow->tx;
	const struct pdmv2_secret *s;
	struct pdmv2_tuple t;
	const u8 *client;
	bool rekey;
	int err;

	if (k->retired)
		return -ESTALE;
	if (!ks) {
		if (k->ks_version)
			pdmv2_flow_tx_wipe(flow);
		return -ENOKEY;
	}
	rekey = k->started && !k->exhausted &&
		psntp - k->psn_first >= READ_ONCE(pn->cfg.rekey_packets);
	if (k->ks_version == ks->version && !rekey)
		return k->aead ? 0 : pdmv2_tx_refusal(k);

	pdmv2_tuple_from(&t, &flow->key, false);
	s = pdmv2_secret_for(ks, &t, true, 0, &client);
	if (!s || (k->started && (s32)(s->generation - k->generation) < 0)) {
		pdmv2_flow_tx_wipe(flow);
		k->ks_version = ks->version;
		return -ENOKEY;
	}
	if (!k->started || s->generation != k->generation) {
		/* a fresh start: above every epoch the 5-tuple used before */
		err = pdmv2_epochs_take(pn, flow, s);
		if (err) {
			pdmv2_flow_tx_wipe(flow);
			k->ks_version = ks->version;
			k->exhausted = err == -ESTALE;
			k->old_gen = err == -EKEYEXPIRED;
			return err;
		}
		k->exhausted = 0;
		k->old_gen = 0;
		k->psn_first = psntp;
		k->started = 1;
	} else if (k->exhausted) {
		pdmv2_flow_tx_wipe(flow);
		k->ks_version = ks->version;
		return -ESTALE;
	} else if (rekey) {
		err = pdmv2_epochs_advance(pn, k);
		if (err) {
			pdmv2_flow_tx_wipe(flow);
			k->ks_version = ks->version;
			k->exhausted = 1;
			return -ESTALE;
		}
		k->psn_first = psntp;
		pdmv2_stat_inc(pn, PDMV2_STAT_REKEYS);
	}
	/* else: the same generation again (store changed): same epoch */
	if (k->aead)	/* the old key goes from the caches too */
		pdmv2_key_cache_forget(flow);
	if (pdmv2_derive(pn, s, client, &t, k, flow->tx_stk)) {
		pdmv2_flow_tx_wipe(flow);
		return -ENOKEY;
	}
	k->ks_version = ks->version;
	return 0;
}

/*
 * How many PSNs from @psntp on (at most @max) the key pdmv2_flow_tx_key()
 * just gave @psntp serves, before the next rekey: a GSO packet's options
 * are sealed in runs under one key (pdmv2_xmit.c). Flow lock held.
 */
u32 pdmv2_flow_tx_key_run(struct pdmv2_net *pn,
			  const struct pdmv2_flow *flow, u32 psntp, u32 max)
{
	const struct pdmv2_flow_key_state *k = &flow->tx;
	u32 used = psntp - k->psn_first;
	u32 limit = READ_ONCE(pn->cfg.rekey_packets);

	if (!k->started || k->exhausted)
		return max ? 1 : 0;
	if (used >= limit)
		return max ? 1 : 0;
	return min(max, limit - used);
}

/* one more receive-side derivation for @flow this second? Flow lock held. */
static bool pdmv2_rx_derive_allowed(struct pdmv2_flow *flow)
{
	unsigned long now = jiffies;

	if (time_after_eq(now, flow->rx_derive_at + HZ)) {
		flow->rx_derive_at = now;
		flow->rx_derives = 0;
	}
	if (flow->rx_derives >= PDMV2_RX_DERIVES_PER_SEC)
		return false;
	flow->rx_derives++;
	return true;
}

/*
 * Make flow->rx the sender's key for a received option of @epoch (the
 * packet's direction is the reverse of the flow's). Flow lock held, RCU.
 * -EBUSY: the flow used its derivations of this second (the key in place
 * is kept), -ENOKEY: no secret for that epoch.
 */
int pdmv2_flow_rx_key(struct pdmv2_net *pn, struct pdmv2_flow *flow,
		      u16 epoch)
{
	const struct pdmv2_keystore *ks = rcu_dereference(pn->keys);
	struct pdmv2_flow_key_state *k = &flow->rx;
	const struct pdmv2_secret *s;
	struct pdmv2_tuple t;
	const u8 *client;

	if (!ks)
		return -ENOKEY;
	if (k->ks_version == ks->version && k->epoch == epoch)
		return k->aead ? 0 : -ENOKEY;
	/* over budget: the key in place stays, for the epoch it is for */
	if (!pdmv2_rx_derive_allowed(flow))
		return -EBUSY;
	pdmv2_flow_rx_wipe(flow);
	k->epoch = epoch;
	k->ks_version = ks->version;
	pdmv2_tuple_from(&t, &flow->key, true);
	s = pdmv2_secret_for(ks, &t, false, pdmv2_epoch_gen4(epoch), &client);
	if (!s)
		return -ENOKEY;
	k->generation = s->generation;
	if (pdmv2_derive(pn, s, client, &t, k, flow->rx_stk)) {
		k->ks_version = ks->version;
		return -ENOKEY;
	}
	return 0;
}

/*
 * Whether a flow belongs to a pairing: one of its ends is in a client
 * prefix of some generation and the other in the pairing's peers. Such a
 * flow's options must verify; one whose epoch no key matches is a forgery
 * or a peer ahead of our keys, never something to learn from. RCU.
 */
bool pdmv2_flow_in_pairing(struct pdmv2_net *pn,
			   const struct pdmv2_flow *flow)
{
	const struct pdmv2_keystore *ks = rcu_dereference(pn->keys);
	const struct pdmv2_flow_key *key = &flow->key;
	const struct pdmv2_pairing *p;
	const struct pdmv2_secret *s;
	unsigned int i, side;
	const u8 *c, *o;

	for (i = 0; ks && i < ks->n_secrets; i++) {
		s = &ks->secrets[i];
		p = pdmv2_pairing_lookup(ks, s->pairing);
		if (!p)
			continue;
		for (side = 0; side < 2; side++) {
			c = (side ? &key->daddr : &key->saddr)->s6_addr;
			o = (side ? &key->saddr : &key->daddr)->s6_addr;
			if (pdmv2_prefix_contains(s->prefix.addr.s6_addr,
						  s->prefix.len, c) &&
			    pdmv2_peer_ok(p, o))
				return true;
		}
	}
	return false;
}

/* true when @psn is new: not seen and not older than the 64-PSN window */
bool pdmv2_replay_check(struct pdmv2_replay *r, u32 psn)
{
	s32 d;

	if (!r->valid) {
		r->valid = 1;
		r->top = psn;
		r->bitmap = 1;
		return true;
	}
	d = (s32)(psn - r->top);
	if (d > 0) {
		r->bitmap = d >= 64 ? 1 : r->bitmap << d | 1;
		r->top = psn;
		return true;
	}
	if (-(s64)d >= 64 || (r->bitmap & BIT_ULL(-d)))
		return false;
	r->bitmap |= BIT_ULL(-d);
	return true;
}

/* /proc/net/pdmv2/keys: what is installed, never the secrets */
void pdmv2_keys_show(struct seq_file *seq, struct pdmv2_net *pn)
{
	const struct pdmv2_keystore *ks;
	const struct pdmv2_pairing *p;
	const struct pdmv2_secret *s;
	unsigned int i, j;

	seq_puts(seq, "# pairing generation aead prefix state\n");
	rcu_read_lock();
	ks = rcu_dereference(pn->keys);
	for (i = 0; ks && i < ks->n_secrets; i++) {
		s = &ks->secrets[i];
		p = pdmv2_pairing_lookup(ks, s->pairing);
		seq_printf(seq, "key %016llx %u %u %pI6c/%u ", s->pairing,
			   s->generation, s->aead, &s->prefix.addr,
			   s->prefix.len);
		if (s->retiring)
			seq_printf(seq, "retiring %lus\n",
				   time_after(s->retire_at, jiffies) ?
				   (s->retire_at - jiffies) / HZ : 0);
		else if (p && p->has_active && p->active == s->generation)
			seq_puts(seq, "active\n");
		else
			seq_puts(seq, "standby\n");
	}
	for (i = 0; ks && i < ks->n_pairings; i++) {
		p = &ks->pairings[i];
		for (j = 0; j < p->n_peers; j++)
			seq_printf(seq, "peer %016llx %pI6c/%u\n", p->id,
				   &p->peers[j].addr, p->peers[j].len);
	}
	rcu_read_unlock();
}
