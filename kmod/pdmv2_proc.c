// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2 control and status, per network namespace, in /proc/net/pdmv2/:
 *
 *   control  0600  read: current settings; write: one command per line
 *                  (settings, flush, and the key commands of pdmv2_keys.c).
 *                  All lines apply or none does; docs/kmod.md has the list.
 *   keys     0400  installed keys and peers, never the secrets
 *   stats    0444  "name value" per line
 *   flows    0440  one line per flow; never key material
 *   epochs   0400  the epoch memory, as control lines that restore it
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/net.h>
#include <linux/proc_fs.h>
#include <linux/rculist.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <linux/string.h>
#include <net/net_namespace.h>

#include "pdmv2.h"

#define PDMV2_CONTROL_MAX	1024

const char * const pdmv2_mode_names[PDMV2_MODE_MAX] = {
	[PDMV2_MODE_OFF]	= "off",
	[PDMV2_MODE_V1]		= "v1",
	[PDMV2_MODE_CLEAR]	= "clear",
	[PDMV2_MODE_ENCRYPTED]	= "encrypted",
};

static const char * const pdmv2_mtu_names[] = {
	[PDMV2_MTU_ICMP]	= "icmp",
	[PDMV2_MTU_SKIP]	= "skip",
};

static const char * const pdmv2_nokey_names[] = {
	[PDMV2_NOKEY_NONE]	= "none",
	[PDMV2_NOKEY_CLEAR]	= "clear",
};

static const char * const pdmv2_bool_names[] = { "off", "on" };

static const char * const pdmv2_stat_names[PDMV2_STAT_MAX] = {
	[PDMV2_STAT_EGRESS_SEEN]		= "seen",
	[PDMV2_STAT_INSERTED]			= "inserted",
	[PDMV2_STAT_GSO_SEGMENTED]		= "gso_segmented",
	[PDMV2_STAT_GSO_DEFERRED]		= "gso_deferred",
	[PDMV2_STAT_SKIP_HAS_PDM]		= "skip_has_pdm",
	[PDMV2_STAT_SKIP_FRAGMENT]		= "skip_fragment",
	[PDMV2_STAT_SKIP_ESP]			= "skip_esp",
	[PDMV2_STAT_SKIP_AH]			= "skip_ah",
	[PDMV2_STAT_SKIP_NO_KEY]		= "skip_no_key",
	[PDMV2_STAT_SKIP_ICMP]			= "skip_icmp",
	[PDMV2_STAT_SKIP_TOO_LONG]		= "skip_too_long",
	[PDMV2_STAT_SKIP_MTU]			= "skip_mtu",
	[PDMV2_STAT_SKIP_NOMEM]			= "skip_nomem",
	[PDMV2_STAT_SKIP_GSO_ERROR]		= "skip_gso_error",
	[PDMV2_STAT_SKIP_EMIT_ERROR]		= "skip_emit_error",
	[PDMV2_STAT_TABLE_FULL]			= "table_full",
	[PDMV2_STAT_SOURCES_FULL]		= "sources_full",
	[PDMV2_STAT_MTU_EVENTS]			= "mtu_events",
	[PDMV2_STAT_PARSE_ERRORS]		= "parse_errors",
	[PDMV2_STAT_NEGATIVE_DELTA]		= "negative_delta",
	[PDMV2_STAT_INGRESS_PDM]		= "ingress_pdm",
	[PDMV2_STAT_INGRESS_V1]			= "ingress_v1",
	[PDMV2_STAT_INGRESS_CLEAR]		= "ingress_clear",
	[PDMV2_STAT_INGRESS_ENCRYPTED]		= "ingress_encrypted",
	[PDMV2_STAT_INGRESS_DRAFT]		= "ingress_draft",
	[PDMV2_STAT_INGRESS_INVALID]		= "ingress_invalid",
	[PDMV2_STAT_INGRESS_RESERVED]		= "ingress_reserved_nonzero",
	[PDMV2_STAT_INGRESS_LEARNED]		= "ingress_learned",
	[PDMV2_STAT_INGRESS_NO_FLOW]		= "ingress_no_flow",
	[PDMV2_STAT_INGRESS_PARSE_ERRORS]	= "ingress_parse_errors",
	[PDMV2_STAT_PTB_ADJUSTED]		= "ptb_adjusted",
	[PDMV2_STAT_MSS_CLAMPED]		= "mss_clamped",
	[PDMV2_STAT_FLOWS_CREATED]		= "flows_created",
	[PDMV2_STAT_FLOWS_EXPIRED]		= "flows_expired",
	[PDMV2_STAT_SOURCES_CREATED]		= "sources_created",
	[PDMV2_STAT_SOURCES_EXPIRED]		= "sources_expired",
	[PDMV2_STAT_SKIP_NO_SECRET]		= "skip_no_secret",
	[PDMV2_STAT_SKIP_REKEY_EXHAUSTED]	= "skip_rekey_exhausted",
	[PDMV2_STAT_NOKEY_CLEAR]		= "nokey_clear",
	[PDMV2_STAT_KEYS_DERIVED]		= "keys_derived",
	[PDMV2_STAT_REKEYS]			= "rekeys",
	[PDMV2_STAT_INGRESS_VERIFIED]		= "ingress_verified",
	[PDMV2_STAT_INGRESS_TAG_FAILED]		= "ingress_tag_failed",
	[PDMV2_STAT_INGRESS_UNVERIFIED]		= "ingress_unverified",
	[PDMV2_STAT_INGRESS_REPLAYED]		= "ingress_replayed",
	[PDMV2_STAT_SECRETS_INSTALLED]		= "secrets_installed",
	[PDMV2_STAT_SECRETS_WIPED]		= "secrets_wiped",
	[PDMV2_STAT_INGRESS_KEY_UNKNOWN]	= "ingress_key_unknown",
	[PDMV2_STAT_TABLE_FULL_MODULE]		= "table_full_module",
	[PDMV2_STAT_SOURCES_FULL_MODULE]	= "sources_full_module",
	[PDMV2_STAT_INGRESS_DERIVE_LIMITED]	= "ingress_derive_limited",
	[PDMV2_STAT_FLOWS_OFFLOADED]		= "flows_offloaded",
	[PDMV2_STAT_REFRAGMENTED]		= "refragmented",
	[PDMV2_STAT_INGRESS_NOT_EXAMINED]	= "ingress_not_examined",
	[PDMV2_STAT_SKIP_OLD_GENERATION]	= "skip_old_generation",
	[PDMV2_STAT_EPOCHS_FORGOTTEN]		= "epochs_forgotten",
};

/* ---- control ----------------------------------------------------------- */

static int pdmv2_control_show(struct seq_file *seq, void *v)
{
	struct pdmv2_net *pn = pdmv2_pernet(seq_file_single_net(seq));
	struct pdmv2_cfg cfg;

	mutex_lock(&pn->cfg_lock);
	cfg = pn->cfg;
	mutex_unlock(&pn->cfg_lock);

	seq_printf(seq, "mode %s\n", pdmv2_mode_names[cfg.mode]);
	seq_printf(seq, "mark_mask 0x%08x\n", cfg.mark_mask);
	seq_printf(seq, "max_flows %u\n", cfg.max_flows);
	seq_printf(seq, "max_sources %u\n", cfg.max_sources);
	seq_printf(seq, "flow_timeout %u\n", cfg.flow_timeout);
	seq_printf(seq, "mtu_policy %s\n", pdmv2_mtu_names[cfg.mtu_policy]);
	seq_printf(seq, "nokey_policy %s\n",
		   pdmv2_nokey_names[cfg.nokey_policy]);
	seq_printf(seq, "verify %s\n", pdmv2_bool_names[cfg.verify]);
	seq_printf(seq, "rekey_packets %u\n", cfg.rekey_packets);
	seq_printf(seq, "key_overlap %u\n", cfg.key_overlap);
	seq_printf(seq, "gso_defer %s\n", pdmv2_bool_names[cfg.gso_defer]);
	return 0;
}

static int pdmv2_match(const char *word, const char * const *names,
		       unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(word, names[i]))
			return i;
	return -1;
}

static int pdmv2_parse_u32(const char *arg, u32 min, u32 max, u32 *out)
{
	u32 v;

	if (!pdmv2_number_parse(arg, &v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

#define PDMV2_MAX_ARGS	40

/* what one control write changes, applied only if every line parses */
struct pdmv2_pending {
	struct pdmv2_cfg cfg;
	struct pdmv2_keystore *keys;	/* private copy, once a key line came */
	bool keys_changed;
	bool flush;
	struct pdmv2_epoch_import imports[PDMV2_EPOCH_RECORDS];
	unsigned int n_imports;
};

/* @arg is one of @names: its index into @out */
static int pdmv2_parse_name(const char *arg, const char * const *names,
			    unsigned int n, int *out)
{
	int i = pdmv2_match(arg, names, n);

	if (i < 0)
		return -EINVAL;
	*out = i;
	return 0;
}

static int pdmv2_parse_bool(const char *arg, bool *out)
{
	int i, err = pdmv2_parse_name(arg, pdmv2_bool_names,
				      ARRAY_SIZE(pdmv2_bool_names), &i);

	if (!err)
		*out = i;
	return err;
}

static int pdmv2_setting(struct pdmv2_cfg *cfg, const char *cmd,
			 const char *arg)
{
	int i, err;

	if (!strcmp(cmd, "mode")) {
		err = pdmv2_parse_name(arg, pdmv2_mode_names, PDMV2_MODE_MAX,
				       &i);
		if (!err && !pdmv2_emit_ops_for(i) && i != PDMV2_MODE_OFF)
			err = -EOPNOTSUPP;
		if (!err)
			cfg->mode = i;
		return err;
	}
	if (!strcmp(cmd, "mtu_policy"))
		return pdmv2_parse_name(arg, pdmv2_mtu_names,
					ARRAY_SIZE(pdmv2_mtu_names),
					&cfg->mtu_policy);
	if (!strcmp(cmd, "nokey_policy"))
		return pdmv2_parse_name(arg, pdmv2_nokey_names,
					ARRAY_SIZE(pdmv2_nokey_names),
					&cfg->nokey_policy);
	if (!strcmp(cmd, "verify"))
		return pdmv2_parse_bool(arg, &cfg->verify);
	if (!strcmp(cmd, "gso_defer"))
		return pdmv2_parse_bool(arg, &cfg->gso_defer);
	if (!strcmp(cmd, "mark_mask"))
		return pdmv2_parse_u32(arg, 1, U32_MAX, &cfg->mark_mask);
	if (!strcmp(cmd, "max_flows"))
		return pdmv2_parse_u32(arg, 1, PDMV2_MAX_FLOWS_LIMIT,
				       &cfg->max_flows);
	if (!strcmp(cmd, "max_sources"))
		return pdmv2_parse_u32(arg, 1, PDMV2_MAX_FLOWS_LIMIT,
				       &cfg->max_sources);
	if (!strcmp(cmd, "flow_timeout"))
		return pdmv2_parse_u32(arg, 1, PDMV2_FLOW_TIMEOUT_LIMIT,
				       &cfg->flow_timeout);
	if (!strcmp(cmd, "rekey_packets"))
		return pdmv2_parse_u32(arg, 2, PDMV2_DEFAULT_REKEY_PACKETS,
				       &cfg->rekey_packets);
	if (!strcmp(cmd, "key_overlap"))
		return pdmv2_parse_u32(arg, 0, PDMV2_KEY_OVERLAP_LIMIT,
				       &cfg->key_overlap);
	return -EINVAL;
}

/* One line, applied to the private copies in @pd. */
static int pdmv2_parse_line(struct pdmv2_net *pn, char *line,
			    struct pdmv2_pending *pd)
{
	char *argv[PDMV2_MAX_ARGS], *word;
	int argc = 0, err;

	line = strim(line);
	while ((word = strsep(&line, " \t"))) {
		if (!*word)
			continue;
		if (argc == PDMV2_MAX_ARGS)
			return -EINVAL;
		argv[argc++] = word;
	}
	if (!argc || argv[0][0] == '#')
		return 0;

	if (!strcmp(argv[0], "flush")) {
		if (argc != 1)
			return -EINVAL;
		pd->flush = true;
		return 0;
	}
	if (!strcmp(argv[0], "epoch"))
		return pdmv2_epoch_command(pd->imports, &pd->n_imports, argv,
					   argc);
	if (!pd->keys) {
		rcu_read_lock();
		pd->keys = pdmv2_keys_clone(rcu_dereference(pn->keys));
		rcu_read_unlock();
		if (!pd->keys)
			return -ENOMEM;
	}
	err = pdmv2_keys_command(pd->keys, argv, argc, pd->cfg.key_overlap);
	if (err != -ENOENT) {
		pd->keys_changed |= !err;
		return err;
	}
	if (argc != 2)
		return -EINVAL;
	return pdmv2_setting(&pd->cfg, argv[0], argv[1]);
}

/* the command word of rejected input for the log, never its arguments */
static void pdmv2_log_reject(const char *line, int err)
{
	char tok[17];
	size_t i;

	while (*line == ' ' || *line == '\t')
		line++;
	for (i = 0; i < sizeof(tok) - 1 && (isalnum(line[i]) || line[i] == '_');
	     i++)
		tok[i] = line[i];
	tok[i] = 0;
	net_info_ratelimited("control: rejected \"%s\" (%d)\n", tok, err);
}

static int pdmv2_control_write(struct file *file, char *buf, size_t size)
{
	struct net *net = seq_file_single_net(file->private_data);
	struct pdmv2_net *pn = pdmv2_pernet(net);
	struct pdmv2_pending pd = { };
	char *p = buf, *line = buf;
	size_t i;
	int err = 0;

	/*
	 * Both the opener and the writer: a descriptor opened by an
	 * unprivileged process and written by a privileged one (its stdout
	 * handed to a setuid program) changes nothing, nor the reverse.
	 */
	if (!file_ns_capable(file, net->user_ns, CAP_NET_ADMIN) ||
	    !ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	if (size > PDMV2_CONTROL_MAX)
		err = -EINVAL;
	for (i = 0; !err && i < size; i++)
		if (buf[i] != '\n' && buf[i] != '\t' &&
		    (buf[i] < 0x20 || buf[i] > 0x7e))
			err = -EINVAL;
	if (err) {
		pdmv2_log_reject(buf, err);
		memzero_explicit(buf, size);
		return err;
	}

	mutex_lock(&pn->cfg_lock);
	pd.cfg = pn->cfg;
	while (!err && (line = strsep(&p, "\n")))
		err = pdmv2_parse_line(pn, line, &pd);
	if (!err && pd.keys_changed)
		err = pdmv2_keys_validate(pd.keys);
	/* the last step that can fail: the epoch memory of every pairing */
	if (!err && (pd.keys_changed || pd.n_imports)) {
		const struct pdmv2_keystore *ks = pd.keys_changed ? pd.keys :
			rcu_dereference_protected(pn->keys,
						  lockdep_is_held(&pn->cfg_lock));

		err = pdmv2_epochs_apply(pn, ks, pd.imports, pd.n_imports);
	}
	if (!err) {
		/* keys first: a mode switched on in this write finds them */
		if (pd.keys_changed) {
			pdmv2_keys_publish(pn, pd.keys);
			pd.keys = NULL;
		}
		WRITE_ONCE(pn->cfg.mark_mask, pd.cfg.mark_mask);
		WRITE_ONCE(pn->cfg.max_flows, pd.cfg.max_flows);
		WRITE_ONCE(pn->cfg.max_sources, pd.cfg.max_sources);
		WRITE_ONCE(pn->cfg.flow_timeout, pd.cfg.flow_timeout);
		WRITE_ONCE(pn->cfg.mtu_policy, pd.cfg.mtu_policy);
		WRITE_ONCE(pn->cfg.nokey_policy, pd.cfg.nokey_policy);
		WRITE_ONCE(pn->cfg.verify, pd.cfg.verify);
		WRITE_ONCE(pn->cfg.rekey_packets, pd.cfg.rekey_packets);
		WRITE_ONCE(pn->cfg.key_overlap, pd.cfg.key_overlap);
		WRITE_ONCE(pn->cfg.gso_defer, pd.cfg.gso_defer);
		WRITE_ONCE(pn->cfg.mode, pd.cfg.mode);
		if (pd.flush)
			pdmv2_flows_flush(pn);
		pdmv2_gso_want(pn, pd.cfg.gso_defer &&
			       pd.cfg.mode != PDMV2_MODE_OFF);
	}
	mutex_unlock(&pn->cfg_lock);
	pdmv2_keys_free(pd.keys);
	if (err)
		pdmv2_log_reject(line ? line : "", err);
	/* the buffer held secrets: it is freed by our caller */
	memzero_explicit(buf, size);
	return err;
}

/* ---- stats ------------------------------------------------------------- */

static int pdmv2_stats_show(struct seq_file *seq, void *v)
{
	struct pdmv2_net *pn = pdmv2_pernet(seq_file_single_net(seq));
	unsigned int i;

	for (i = 0; i < PDMV2_STAT_MAX; i++)
		seq_printf(seq, "%s %llu\n", pdmv2_stat_names[i],
			   pdmv2_stat_read(pn, i));
	seq_printf(seq, "flows %d\n", atomic_read(&pn->flows.count));
	seq_printf(seq, "sources %d\n", atomic_read(&pn->sources.count));
	seq_printf(seq, "flows_module %u\n", pdmv2_flows_module());
	seq_printf(seq, "sources_module %u\n", pdmv2_sources_module());
	pdmv2_gso_show(seq);
	return 0;
}

/* ---- keys -------------------------------------------------------------- */

static int pdmv2_keys_file_show(struct seq_file *seq, void *v)
{
	pdmv2_keys_show(seq, pdmv2_pernet(seq_file_single_net(seq)));
	return 0;
}

static int pdmv2_epochs_file_show(struct seq_file *seq, void *v)
{
	pdmv2_epochs_show(seq, pdmv2_pernet(seq_file_single_net(seq)));
	return 0;
}

/* ---- flows ------------------------------------------------------------- */

struct pdmv2_flows_iter {
	struct seq_net_private p;
	unsigned int bucket;
};

static struct pdmv2_flow *pdmv2_flows_from(struct seq_file *seq,
					   struct hlist_node *n)
{
	struct pdmv2_flows_iter *it = seq->private;
	struct pdmv2_net *pn = pdmv2_pernet(seq_file_net(seq));

	while (!n) {
		struct hlist_head *head;

		if (++it->bucket > pn->flows.mask)
			return NULL;
		head = &pn->flows.buckets[it->bucket].head;
		n = rcu_dereference(hlist_first_rcu(head));
	}
	return hlist_entry(n, struct pdmv2_flow, node);
}

static struct pdmv2_flow *pdmv2_flows_first(struct seq_file *seq)
{
	struct pdmv2_flows_iter *it = seq->private;
	struct pdmv2_net *pn = pdmv2_pernet(seq_file_net(seq));
	struct hlist_head *head = &pn->flows.buckets[0].head;

	it->bucket = 0;
	return pdmv2_flows_from(seq, rcu_dereference(hlist_first_rcu(head)));
}

static struct pdmv2_flow *pdmv2_flows_next_flow(struct seq_file *seq,
						struct pdmv2_flow *f)
{
	struct hlist_node *n = rcu_dereference(hlist_next_rcu(&f->node));

	return pdmv2_flows_from(seq, n);
}

static void *pdmv2_flows_start(struct seq_file *seq, loff_t *pos)
	__acquires(RCU)
{
	struct pdmv2_flow *f;
	loff_t n = *pos;

	rcu_read_lock();
	if (!n)
		return SEQ_START_TOKEN;
	for (f = pdmv2_flows_first(seq); f && --n;)
		f = pdmv2_flows_next_flow(seq, f);
	return f;
}

static void *pdmv2_flows_next(struct seq_file *seq, void *v, loff_t *pos)
{
	++*pos;
	if (v == SEQ_START_TOKEN)
		return pdmv2_flows_first(seq);
	return pdmv2_flows_next_flow(seq, v);
}

static void pdmv2_flows_stop(struct seq_file *seq, void *v)
	__releases(RCU)
{
	rcu_read_unlock();
}

/* microseconds of @ns, or "-" when @valid is false */
static void pdmv2_seq_us(struct seq_file *seq, u64 ns, bool valid)
{
	if (valid)
		seq_printf(seq, " %llu", div_u64(ns, NSEC_PER_USEC));
	else
		seq_puts(seq, " -");
}

static int pdmv2_flows_show(struct seq_file *seq, void *v)
{
	struct pdmv2_flow *f = v;
	unsigned long now = jiffies;
	struct pdmv2_metrics m;
	u32 pmtu, gen;
	bool rxd, keyed;
	u64 tx, rx;
	u16 epoch;

	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "# saddr sport daddr dport proto psn_next psn_last_rx tx_packets rx_packets age_s idle_s pmtu gen epoch rtt_us rtt_last_us sd_us sd_last_us\n");
		return 0;
	}
	spin_lock_bh(&f->lock);
	m = f->m;
	tx = f->tx_packets;
	rx = f->rx_packets;
	pmtu = time_before(now, READ_ONCE(f->pmtu_expires)) ?
	       READ_ONCE(f->pmtu) : 0;
	keyed = f->tx.started;
	gen = f->tx.generation;
	epoch = f->tx.epoch;
	spin_unlock_bh(&f->lock);

	rxd = m.flags & PDMV2_M_RX;
	seq_printf(seq, "%pI6c %u %pI6c %u %u %u %s%u %llu %llu %lu %lu %u",
		   &f->key.saddr, f->key.sport, &f->key.daddr, f->key.dport,
		   f->key.proto, m.psn_next, rxd ? "" : "-",
		   rxd ? m.psn_last_rx : 0, tx, rx,
		   (now - f->created) / HZ,
		   (now - READ_ONCE(f->last_seen)) / HZ, pmtu);
	if (keyed)
		seq_printf(seq, " %u %u", gen, epoch);
	else
		seq_puts(seq, " - -");
	pdmv2_seq_us(seq, m.srtt, m.flags & PDMV2_M_RTT);
	pdmv2_seq_us(seq, m.rtt_last, m.flags & PDMV2_M_RTT);
	pdmv2_seq_us(seq, m.ssd, m.flags & PDMV2_M_SD);
	pdmv2_seq_us(seq, m.sd_last, m.flags & PDMV2_M_SD);
	seq_putc(seq, '\n');
	return 0;
}

static const struct seq_operations pdmv2_flows_seq_ops = {
	.start	= pdmv2_flows_start,
	.next	= pdmv2_flows_next,
	.stop	= pdmv2_flows_stop,
	.show	= pdmv2_flows_show,
};

int pdmv2_proc_init(struct pdmv2_net *pn)
{
	struct net *net = pn->net;

	pn->proc_dir = proc_net_mkdir(net, "pdmv2", net->proc_net);
	if (!pn->proc_dir)
		return -ENOMEM;
	if (!proc_create_net_single_write("control", 0600, pn->proc_dir,
					  pdmv2_control_show,
					  pdmv2_control_write, NULL) ||
	    !proc_create_net_single("stats", 0444, pn->proc_dir,
				    pdmv2_stats_show, NULL) ||
	    !proc_create_net_single("keys", 0400, pn->proc_dir,
				    pdmv2_keys_file_show, NULL) ||
	    !proc_create_net_single("epochs", 0400, pn->proc_dir,
				    pdmv2_epochs_file_show, NULL) ||
	    !proc_create_net("flows", 0440, pn->proc_dir,
			     &pdmv2_flows_seq_ops,
			     sizeof(struct pdmv2_flows_iter))) {
		remove_proc_subtree("pdmv2", net->proc_net);
		pn->proc_dir = NULL;
		return -ENOMEM;
	}
	return 0;
}

void pdmv2_proc_exit(struct pdmv2_net *pn)
{
	if (!pn->proc_dir)
		return;
	remove_proc_subtree("pdmv2", pn->net->proc_net);
	pn->proc_dir = NULL;
}
