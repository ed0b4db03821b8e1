/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pdmv2 kernel module: shared declarations.
 *
 * Files: pdmv2_main.c (module, per-netns setup, netfilter hooks),
 * pdmv2_flow.c (flow and source tables, expiry), pdmv2_xmit.c (insertion,
 * GSO, MTU, ingress learning), pdmv2_proc.c (/proc/net/pdmv2/),
 * pdmv2_core.c (codec, shared with the user-space tests).
 */
#ifndef PDMV2_H
#define PDMV2_H

#include <linux/bits.h>
#include <linux/in6.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>

#include "pdmv2_core.h"
#include "pdmv2_crypto.h"
#include "pdmv2_epochs.h"

enum pdmv2_mode {
	PDMV2_MODE_OFF,
	PDMV2_MODE_V1,
	PDMV2_MODE_CLEAR,
	PDMV2_MODE_ENCRYPTED,
	PDMV2_MODE_MAX,
};

/* what an encrypted-mode flow without a usable key emits */
enum pdmv2_nokey_policy {
	PDMV2_NOKEY_NONE,	/* nothing: the packet goes out unmodified */
	PDMV2_NOKEY_CLEAR,	/* the clear PDMv2 option */
};

enum pdmv2_mtu_policy {
	PDMV2_MTU_ICMP,		/* Packet Too Big (MTU - overhead), drop */
	PDMV2_MTU_SKIP,		/* pass unmodified, counted */
};

/* statistics, one per-cpu u64 each; names in pdmv2_proc.c */
enum pdmv2_stat {
	PDMV2_STAT_EGRESS_SEEN,
	PDMV2_STAT_INSERTED,
	PDMV2_STAT_GSO_SEGMENTED,
	PDMV2_STAT_GSO_DEFERRED,
	PDMV2_STAT_SKIP_HAS_PDM,
	PDMV2_STAT_SKIP_FRAGMENT,
	PDMV2_STAT_SKIP_ESP,
	PDMV2_STAT_SKIP_AH,
	PDMV2_STAT_SKIP_NO_KEY,
	PDMV2_STAT_SKIP_ICMP,
	PDMV2_STAT_SKIP_TOO_LONG,
	PDMV2_STAT_SKIP_MTU,
	PDMV2_STAT_SKIP_NOMEM,
	PDMV2_STAT_SKIP_GSO_ERROR,
	PDMV2_STAT_SKIP_EMIT_ERROR,
	PDMV2_STAT_TABLE_FULL,
	PDMV2_STAT_SOURCES_FULL,
	PDMV2_STAT_MTU_EVENTS,
	PDMV2_STAT_PARSE_ERRORS,
	PDMV2_STAT_NEGATIVE_DELTA,
	PDMV2_STAT_INGRESS_PDM,
	PDMV2_STAT_INGRESS_V1,
	PDMV2_STAT_INGRESS_CLEAR,
	PDMV2_STAT_INGRESS_ENCRYPTED,
	PDMV2_STAT_INGRESS_DRAFT,
	PDMV2_STAT_INGRESS_INVALID,
	PDMV2_STAT_INGRESS_RESERVED,
	PDMV2_STAT_INGRESS_LEARNED,
	PDMV2_STAT_INGRESS_NO_FLOW,
	PDMV2_STAT_INGRESS_PARSE_ERRORS,
	PDMV2_STAT_PTB_ADJUSTED,
	PDMV2_STAT_MSS_CLAMPED,
	PDMV2_STAT_FLOWS_CREATED,
	PDMV2_STAT_FLOWS_EXPIRED,
	PDMV2_STAT_SOURCES_CREATED,
	PDMV2_STAT_SOURCES_EXPIRED,
	PDMV2_STAT_SKIP_NO_SECRET,
	PDMV2_STAT_SKIP_REKEY_EXHAUSTED,
	PDMV2_STAT_NOKEY_CLEAR,
	PDMV2_STAT_KEYS_DERIVED,
	PDMV2_STAT_REKEYS,
	PDMV2_STAT_INGRESS_VERIFIED,
	PDMV2_STAT_INGRESS_TAG_FAILED,
	PDMV2_STAT_INGRESS_UNVERIFIED,
	PDMV2_STAT_INGRESS_REPLAYED,
	PDMV2_STAT_SECRETS_INSTALLED,
	PDMV2_STAT_SECRETS_WIPED,
	PDMV2_STAT_INGRESS_KEY_UNKNOWN,
	PDMV2_STAT_TABLE_FULL_MODULE,
	PDMV2_STAT_SOURCES_FULL_MODULE,
	PDMV2_STAT_INGRESS_DERIVE_LIMITED,
	PDMV2_STAT_FLOWS_OFFLOADED,
	PDMV2_STAT_REFRAGMENTED,
	PDMV2_STAT_INGRESS_NOT_EXAMINED,
	PDMV2_STAT_SKIP_OLD_GENERATION,
	PDMV2_STAT_EPOCHS_FORGOTTEN,
	PDMV2_STAT_MAX,
};

/*
 * One CPU's counters. u64_stats: on 64-bit a local64_t each (no lock); on
 * 32-bit a reader retries while a writer on that CPU is between the two
 * halves of an update, so a sum never sees a torn value.
 */
struct pdmv2_stats {
	u64_stats_t c[PDMV2_STAT_MAX];
	struct u64_stats_sync syncp;
};

/* 5-tuple in the sender's direction; ports in host order, 0 if none */
struct pdmv2_flow_key {
	struct in6_addr saddr;
	struct in6_addr daddr;
	u16 sport;
	u16 dport;
	u8 proto;
	u8 pad[3];		/* zero: the key is hashed as u32 words */
};

/*
 * Which key one direction of a flow has, and where its PSN range starts.
 * It outlives a wipe of the key itself (struct pdmv2_flow: tx_stk,
 * rx_stk, and their expanded form in the per-CPU cache), so that a
 * re-derived key continues its range instead of restarting it.
 */
struct pdmv2_flow_key_state {
	u64 ks_version;		/* key store the STK came from; 0: none */
	u64 pairing;		/* tx: whose epoch memory counts this state */
	u32 generation;
	u32 psn_first;		/* first PSNTP under the current epoch */
	u16 epoch;
	u16 aead;
	u8 rel;			/* tx: count of the epoch in the epoch memory */
	u8 base;		/* tx: the memory's base when the state started */
	u8 started;		/* generation/psn_first valid (tx) */
	u8 exhausted;		/* no unused epoch left in the generation (tx) */
	u8 old_gen;		/* tx: generation older than the memory's */
	u8 retired;		/* tx: the flow expired; never emits again */
};

/* received PSNTPs of verified options: 64-packet sliding window */
struct pdmv2_replay {
	u32 top;
	u32 valid;
	u64 bitmap;
};

struct pdmv2_flow {
	struct hlist_node node;
	struct rcu_head rcu;
	struct pdmv2_flow_key key;
	spinlock_t lock;		/* protects the fields below it */
	struct pdmv2_metrics m;
	u64 tx_packets;
	u64 rx_packets;
	u16 last_grow;			/* octets added to the last packet */
	u16 rx_derives;			/* rx key derivations since rx_derive_at */
	u8 forwarded;			/* not a local sender's (READ/WRITE_ONCE) */
	u8 offloaded;			/* a flowtable took it (READ/WRITE_ONCE) */
	u32 pmtu;			/* learned from an adjusted PTB, 0: none */
	unsigned long pmtu_expires;	/* jiffies: pmtu is forgotten then */
	unsigned long rx_derive_at;	/* jiffies: start of the derivation second */
	struct pdmv2_flow_key_state tx;	/* encrypted mode: our key */
	struct pdmv2_flow_key_state rx;	/* ingress verification */
	/*
	 * Secret: the STKs as derived. Expanded with H they are 264 octets
	 * each, which would double a flow: that lives in a per-CPU cache
	 * (pdmv2_flow_gcm_get()), wiped with the flow or its key.
	 */
	u8 tx_stk[PDMV2_STK_MAX_LEN];
	u8 rx_stk[PDMV2_STK_MAX_LEN];
	struct pdmv2_replay replay;
	unsigned long created;		/* jiffies */
	unsigned long last_seen;	/* jiffies, READ_ONCE/WRITE_ONCE */
};

/* Global Pointer state of one sending source address */
struct pdmv2_source {
	struct hlist_node node;
	struct rcu_head rcu;
	struct in6_addr addr;
	/* Global Pointers of the next packets (struct pdmv2_gp's counters) */
	atomic_t gp_link_local;
	atomic_t gp_global;
	unsigned long last_seen;
};

struct pdmv2_bucket {
	struct hlist_head head;
	spinlock_t lock;		/* writers of this chain */
};

struct pdmv2_table {
	struct pdmv2_bucket *buckets;
	unsigned int mask;		/* buckets - 1 */
	atomic_t count;
};

/* configuration; written under pdmv2_net.cfg_lock, read with READ_ONCE */
struct pdmv2_cfg {
	int mode;
	u32 mark_mask;
	u32 max_flows;
	u32 max_sources;
	u32 flow_timeout;		/* seconds */
	int mtu_policy;
	int nokey_policy;
	bool verify;			/* check tags of received options */
	u32 rekey_packets;		/* PSNs per key before a rekey */
	u32 key_overlap;		/* seconds an old generation stays */
	bool gso_defer;			/* number segments as the kernel cuts */
};

/* Key store (pdmv2_keys.c): replaced as a whole, read under RCU. */
#define PDMV2_MAX_PAIRINGS	16
/* epoch memories kept: those of the store's pairings and as many gone */
#define PDMV2_EPOCH_RECORDS	(2 * PDMV2_MAX_PAIRINGS)
#define PDMV2_MAX_SECRETS	128
#define PDMV2_MAX_PEERS		16

struct pdmv2_prefix {
	struct in6_addr addr;
	u8 len;
};

/* CS(P) of one client prefix, kept as its HKDF PRK */
struct pdmv2_secret {
	u64 pairing;
	u32 generation;
	u16 aead;
	struct pdmv2_prefix prefix;
	unsigned long retire_at;	/* jiffies, when retiring */
	bool retiring;
	u8 prk[PDMV2_HASH_LEN];
};

struct pdmv2_pairing {
	u64 id;
	u32 active;
	bool has_active;
	unsigned int n_peers;
	struct pdmv2_prefix peers[PDMV2_MAX_PEERS];
};

struct pdmv2_keystore {
	u64 version;
	unsigned int n_pairings;
	unsigned int n_secrets;
	struct pdmv2_pairing pairings[PDMV2_MAX_PAIRINGS];
	struct pdmv2_secret secrets[PDMV2_MAX_SECRETS];
};

struct pdmv2_net {
	struct net *net;
	struct pdmv2_cfg cfg;
	struct mutex cfg_lock;		/* serialises control writes */
	struct pdmv2_table flows;
	struct pdmv2_table sources;
	u32 hash_seed;
	struct pdmv2_stats __percpu *stats;
	struct pdmv2_keystore __rcu *keys;
	u64 keys_version;		/* last version handed out */
	struct delayed_work gc_work;
	struct proc_dir_entry *proc_dir;
	bool hooks_registered;
	bool gso_wanted;		/* counted in pdmv2_gso.c's users */
	/*
	 * Epoch memory, one per pairing (pdmv2_keys.c, docs/kmod.md "Epoch
	 * memory"): records are added and removed by control writes only
	 * (cfg_lock); their contents change under epochs_lock, taken inside
	 * a flow's lock.
	 */
	spinlock_t epochs_lock;
	u64 epochs_clock;		/* stamps of use, for eviction */
	struct pdmv2_epochs *epochs[PDMV2_EPOCH_RECORDS];
};

struct seq_file;

/* a mode's option emitter: the seam where the encrypted mode plugs in */
struct pdmv2_emit_ops {
	const char *name;
	enum pdmv2_fmt fmt;
	unsigned int opt_len;		/* whole option, octets */
	/*
	 * Fill @opt (opt_len octets) from @fields for @flow. Runs in softirq or
	 * process context with BHs off and the flow lock held; must not sleep.
	 * Returns 0 or a negative errno (the packet then goes out unmodified).
	 */
	int (*emit)(struct pdmv2_net *pn, struct pdmv2_flow *flow,
		    struct pdmv2_opt *fields, u8 *opt);
};

#define PDMV2_DEFAULT_MARK_MASK		0x00000100
#define PDMV2_DEFAULT_MAX_FLOWS		4096
#define PDMV2_DEFAULT_MAX_SOURCES	1024
#define PDMV2_DEFAULT_FLOW_TIMEOUT	30
#define PDMV2_MAX_FLOWS_LIMIT		BIT(20)
#define PDMV2_FLOW_TIMEOUT_LIMIT	86400
/* a source's Global Pointer outlives its flows by this long */
#define PDMV2_SOURCE_IDLE_SECS		600
/* an epoch key covers at most 2^32 - 1 PSNs, so none repeats under it */
#define PDMV2_DEFAULT_REKEY_PACKETS	U32_MAX
#define PDMV2_DEFAULT_KEY_OVERLAP	600
#define PDMV2_KEY_OVERLAP_LIMIT		(7 * 86400)
/*
 * Receive-side STK derivations (three HMAC-SHA256 and a key expansion
 * each) per flow and second: the epoch of a received option is the
 * sender's choice, and a forger alternating epochs would otherwise buy
 * one derivation per packet under the flow lock. A peer rekeys far less
 * often (once per rekey_packets PSNs, a generation change).
 */
#define PDMV2_RX_DERIVES_PER_SEC	4

/* netfilter priorities: after mangle-priority marking chains, before DNAT
 * on ingress; after SNAT, before conntrack helpers and confirm on egress
 */
#define PDMV2_PRI_INGRESS	(NF_IP6_PRI_MANGLE + 10)
#define PDMV2_PRI_EGRESS	(NF_IP6_PRI_NAT_SRC + 100)

extern unsigned int pdmv2_net_id;

struct pdmv2_net *pdmv2_pernet(const struct net *net);
/* a per-flow random value (fixed by the test_random parameter) */
u32 pdmv2_flow_random(void);

/*
 * Any context: process (local output), softirq (forwarding), and the
 * irqsave form keeps an interrupt on this CPU from nesting an update on
 * 32-bit (a no-op on 64-bit).
 */
static inline void pdmv2_stat_add(struct pdmv2_net *pn, enum pdmv2_stat s,
				  u64 v)
{
	struct pdmv2_stats *st = get_cpu_ptr(pn->stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&st->syncp);
	u64_stats_add(&st->c[s], v);
	u64_stats_update_end_irqrestore(&st->syncp, flags);
	put_cpu_ptr(pn->stats);
}

static inline void pdmv2_stat_inc(struct pdmv2_net *pn, enum pdmv2_stat s)
{
	pdmv2_stat_add(pn, s, 1);
}

u64 pdmv2_stat_read(struct pdmv2_net *pn, enum pdmv2_stat s);

/* pdmv2_flow.c */
int pdmv2_tables_init(struct pdmv2_net *pn, unsigned int flow_buckets);
void pdmv2_tables_destroy(struct pdmv2_net *pn);
void pdmv2_flows_flush(struct pdmv2_net *pn);
void pdmv2_flows_wipe_keys(struct pdmv2_net *pn, u64 keep_version);
int pdmv2_flow_cache_init(void);
void pdmv2_flow_cache_exit(void);
void pdmv2_gc_work(struct work_struct *work);
struct pdmv2_flow *pdmv2_flow_lookup(struct pdmv2_net *pn,
				     const struct pdmv2_flow_key *key);
struct pdmv2_flow *pdmv2_flow_get(struct pdmv2_net *pn,
				  const struct pdmv2_flow_key *key);
struct pdmv2_source *pdmv2_source_get(struct pdmv2_net *pn,
				      const struct in6_addr *addr);
unsigned int pdmv2_flows_module(void);
unsigned int pdmv2_sources_module(void);

/* pdmv2_xmit.c */
unsigned int pdmv2_egress(struct pdmv2_net *pn, struct sk_buff *skb,
			  const struct nf_hook_state *state);
unsigned int pdmv2_ingress(struct pdmv2_net *pn, struct sk_buff *skb,
			   const struct nf_hook_state *state);
const struct pdmv2_emit_ops *pdmv2_emit_ops_for(int mode);

/* pdmv2_gso.c */
int pdmv2_gso_init(void);
void pdmv2_gso_exit(void);
void pdmv2_gso_want(struct pdmv2_net *pn, bool want);
void pdmv2_gso_show(struct seq_file *seq);
bool pdmv2_gso_defer_ready(void);
bool pdmv2_gso_claim(const struct sk_buff *skb);
void pdmv2_gso_arm(const struct sk_buff *skb, u32 psntp, u32 back,
		   u8 *sealed, u32 expected);
void pdmv2_gso_release(const struct sk_buff *skb);

/* pdmv2_main.c */
unsigned int pdmv2_egress_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state);

/* pdmv2_crypto_kernel.c */
int pdmv2_crypto_init(void);
void pdmv2_crypto_exit(void);

/* pdmv2_keys.c */
struct pdmv2_keystore *pdmv2_keys_clone(const struct pdmv2_keystore *ks);
void pdmv2_keys_free(struct pdmv2_keystore *ks);
int pdmv2_keys_command(struct pdmv2_keystore *ks, char **argv, int argc,
		       u32 key_overlap);
int pdmv2_keys_validate(const struct pdmv2_keystore *ks);
void pdmv2_keys_publish(struct pdmv2_net *pn, struct pdmv2_keystore *ks);
void pdmv2_keys_retire(struct pdmv2_net *pn);
void pdmv2_keys_destroy(struct pdmv2_net *pn);
int pdmv2_flow_tx_key(struct pdmv2_net *pn, struct pdmv2_flow *flow,
		      u32 psntp);
u32 pdmv2_flow_tx_key_run(struct pdmv2_net *pn,
			  const struct pdmv2_flow *flow, u32 psntp, u32 max);
int pdmv2_flow_rx_key(struct pdmv2_net *pn, struct pdmv2_flow *flow,
		      u16 epoch);
void pdmv2_flow_tx_wipe(struct pdmv2_flow *flow);
void pdmv2_flow_rx_wipe(struct pdmv2_flow *flow);
const struct pdmv2_gcm *pdmv2_flow_gcm_get(struct pdmv2_flow *flow, bool rx);
void pdmv2_flow_gcm_put(void);
void pdmv2_key_cache_forget(const struct pdmv2_flow *flow);
int pdmv2_key_cache_init(void);
void pdmv2_key_cache_exit(void);
void pdmv2_flow_tx_retire(struct pdmv2_net *pn, struct pdmv2_flow *flow);

/* an `epoch PAIRING GEN BASE NEXT` line of a control write */
struct pdmv2_epoch_import {
	u64 pairing;
	u32 generation;
	u8 base;
	u8 next;
};

int pdmv2_epoch_command(struct pdmv2_epoch_import *imp, unsigned int *n,
			char **argv, int argc);
int pdmv2_epochs_apply(struct pdmv2_net *pn, const struct pdmv2_keystore *ks,
		       const struct pdmv2_epoch_import *imp, unsigned int n);
void pdmv2_epochs_show(struct seq_file *seq, struct pdmv2_net *pn);
bool pdmv2_flow_in_pairing(struct pdmv2_net *pn,
			   const struct pdmv2_flow *flow);
bool pdmv2_replay_check(struct pdmv2_replay *r, u32 psn);
void pdmv2_keys_show(struct seq_file *seq, struct pdmv2_net *pn);

/* pdmv2_proc.c */
int pdmv2_proc_init(struct pdmv2_net *pn);
void pdmv2_proc_exit(struct pdmv2_net *pn);
extern const char * const pdmv2_mode_names[PDMV2_MODE_MAX];

#endif /* PDMV2_H */
