// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target for the pdmv2 core: option decoder, Destination Options
 * header planner, the packet walker and both inserters (the reference and
 * the module's pdmv2_pkt_apply_plan). Built with
 * clang -fsanitize=fuzzer,address,undefined (libFuzzer) or, without
 * libFuzzer, with -DPDMV2_FUZZ_STANDALONE as a bounded random-mutation loop.
 *
 * Input: octet 0 selects the option format and strictness, the rest is the
 * data (an option, a header and a packet all at once).
 */
#include <string.h>

#include "fuzz_driver.h"

static void fuzz_option(const u8 *d, size_t n, bool strict)
{
	struct pdmv2_opt o;
	u8 out[PDMV2_OPT_MAX_LEN];
	unsigned int len;
	int err;

	err = pdmv2_opt_decode(d, n, strict, &o);
	FUZZ_ASSERT(err >= 0 && err < PDMV2_ERR_COUNT);
	if (err)
		return;
	FUZZ_ASSERT(n == 2 + (size_t)d[1]);
	if (o.fmt == PDMV2_FMT_V1 ||
	    (o.fmt == PDMV2_FMT_CLEAR && !o.reserved_nonzero)) {
		len = pdmv2_opt_encode(&o, out, sizeof(out));
		FUZZ_ASSERT(len == n && !memcmp(out, d, n));
	}
}

static void fuzz_header(const u8 *d, size_t n, unsigned int opt_len)
{
	u8 opt[PDMV2_OPT_MAX_LEN] = { PDMV2_OPT_TYPE, (u8)(opt_len - 2) };
	static u8 out[PDMV2_DOH_MAX_LEN];
	u32 pdm_off, pdm_len, end;
	size_t out_len;
	int err;

	err = pdmv2_doh_build(d, n, 17, opt, opt_len, out, sizeof(out),
			      &out_len);
	if (err)
		return;
	FUZZ_ASSERT(out_len % 8 == 0 && out_len >= 8 &&
		    out_len <= PDMV2_DOH_MAX_LEN);
	FUZZ_ASSERT(out_len == ((size_t)out[1] + 1) * 8);
	err = pdmv2_doh_scan(out, out_len, &pdm_off, &pdm_len, &end);
	FUZZ_ASSERT(!err && pdm_len == opt_len);
	FUZZ_ASSERT(pdm_off % 8 == pdmv2_opt_align(opt_len));
	FUZZ_ASSERT(end == pdm_off + pdm_len);
	if (n)
		FUZZ_ASSERT(out[0] == d[0]);
}

/*
 * The module's insertion: plan on the result @info of parsing the packet
 * @d (@parse_err), move the start plan.grow octets into the headroom and
 * apply the plan. The result must be the reference insertion's (@ref, of
 * @ref_len octets) when that succeeded (it also checks lengths the module
 * leaves to the stack), and nothing outside the old and the new packet may
 * change.
 */
static void fuzz_apply(const u8 *d, size_t n, const u8 *opt,
		       unsigned int opt_len, int parse_err,
		       const struct pdmv2_pkt *info, const u8 *ref,
		       size_t ref_len)
{
	const size_t head = PDMV2_DOH_MAX_LEN, size = head + n + 8;
	struct pdmv2_ins_plan plan;
	struct pdmv2_pkt after;
	u8 *buf, *orig, *pkt;
	size_t new_len, i;
	int err;

	if (parse_err || pdmv2_pkt_insert_plan(d, info, opt_len, &plan)) {
		FUZZ_ASSERT(!ref);
		return;
	}
	buf = malloc(size);
	FUZZ_ASSERT(buf);
	memset(buf, 0xee, size);
	orig = buf + head;
	memcpy(orig, d, n);
	pkt = orig - plan.grow;
	new_len = n + plan.grow;
	pdmv2_pkt_apply_plan(pkt, new_len, &plan, opt);
	if (ref)
		FUZZ_ASSERT(new_len == ref_len && !memcmp(pkt, ref, ref_len));
	/* the upper layer stays where it was */
	FUZZ_ASSERT(!memcmp(orig + info->l4_off, d + info->l4_off,
			    n - info->l4_off));
	for (i = 0; i < size; i++)
		if ((buf + i < orig || buf + i >= orig + n) &&
		    (buf + i < pkt || buf + i >= pkt + new_len))
			FUZZ_ASSERT(buf[i] == 0xee);
	err = pdmv2_pkt_parse(pkt, new_len, new_len, &after);
	FUZZ_ASSERT(!err && after.pdm_len == opt_len &&
		    !memcmp(pkt + after.pdm_off, opt, opt_len));
	free(buf);
}

/*
 * The option just inserted, made pending, is what the GSO wrapper finds
 * (or an earlier pending one of the same header), and segment 1's option
 * differs from it only in the type and sequence fields.
 */
static void fuzz_pending(u8 *pkt, size_t len, const struct pdmv2_pkt *after)
{
	u8 *opt = pkt + after->pdm_off, before[PDMV2_OPT_MAX_LEN];
	u32 off, l4;

	if (after->pdm_len == PDMV2_OPT_LEN_ENC)
		return;
	memcpy(before, opt, after->pdm_len);
	opt[0] = PDMV2_OPT_TYPE_PENDING;
	FUZZ_ASSERT(pdmv2_pending_find(pkt, len, &off, &l4));
	FUZZ_ASSERT(l4 == after->l4_off && off <= after->pdm_off &&
		    off >= after->doh_off);
	FUZZ_ASSERT(pdmv2_pending_finish(opt, 1));
	FUZZ_ASSERT(opt[0] == PDMV2_OPT_TYPE && opt[1] == before[1]);
	if (after->pdm_len == PDMV2_OPT_LEN_CLEAR)
		FUZZ_ASSERT(!memcmp(opt + 8, before + 8, 4) &&
			    !memcmp(opt + 16, before + 16, 8));
	else
		FUZZ_ASSERT(!memcmp(opt + 6, before + 6, 6));
}

static void fuzz_packet(const u8 *d, size_t n, unsigned int opt_len)
{
	u8 opt[PDMV2_OPT_MAX_LEN];
	struct pdmv2_pkt full, inc;
	size_t avail = 0, out_len = 0;
	u32 poff, pl4;
	int err, err2, parse_err, rounds = 0;
	u8 *buf;

	memset(opt, 0xa5, sizeof(opt));
	opt[0] = PDMV2_OPT_TYPE;
	opt[1] = (u8)(opt_len - 2);

	/* incremental linearisation must reach the same answer */
	err = pdmv2_pkt_parse(d, n, n, &full);
	parse_err = err;
	do {
		err2 = pdmv2_pkt_parse(d, avail, n, &inc);
		if (err2 == PDMV2_ERR_NEED_MORE) {
			FUZZ_ASSERT(inc.need > avail && inc.need <= n);
			avail = inc.need;
		}
		FUZZ_ASSERT(++rounds < 1000);
	} while (err2 == PDMV2_ERR_NEED_MORE);
	FUZZ_ASSERT(err == err2);
	FUZZ_ASSERT(err != PDMV2_ERR_NEED_MORE);
	if (!err) {
		FUZZ_ASSERT(!memcmp(&full, &inc, offsetof(struct pdmv2_pkt,
							  need)));
		FUZZ_ASSERT(full.sport == inc.sport &&
			    full.dport == inc.dport &&
			    full.proto == inc.proto &&
			    full.icmp_type == inc.icmp_type &&
			    full.flags == inc.flags);
		FUZZ_ASSERT(full.l4_off <= n);
		if (full.pdm_off)
			FUZZ_ASSERT(full.pdm_off + full.pdm_len <= n);
		if (full.doh_off)
			FUZZ_ASSERT(full.doh_off + full.doh_len <= n);
	}

	buf = malloc(n + PDMV2_DOH_MAX_LEN);
	FUZZ_ASSERT(buf);
	memcpy(buf, d, n);
	err = pdmv2_pkt_insert(buf, n, n + PDMV2_DOH_MAX_LEN, opt, opt_len,
			       &out_len);
	fuzz_apply(d, n, opt, opt_len, parse_err, &full, err ? NULL : buf,
		   out_len);
	if (!err) {
		struct pdmv2_pkt after;

		FUZZ_ASSERT(pdmv2_pkt_check(buf, out_len) == PDMV2_OK);
		err = pdmv2_pkt_parse(buf, out_len, out_len, &after);
		FUZZ_ASSERT(!err);
		FUZZ_ASSERT(after.pdm_off && after.pdm_len == opt_len &&
			    !memcmp(buf + after.pdm_off, opt, opt_len));
		FUZZ_ASSERT(after.pdm_off % 8 ==
			    (after.doh_off + pdmv2_opt_align(opt_len)) % 8);
		FUZZ_ASSERT(after.proto == full.proto);
		/* the upper layer is carried over untouched */
		FUZZ_ASSERT(out_len - after.l4_off == n - full.l4_off);
		FUZZ_ASSERT(!memcmp(buf + after.l4_off, d + full.l4_off,
				    n - full.l4_off));
		fuzz_pending(buf, out_len, &after);
	}
	free(buf);
	if (pdmv2_pending_find(d, n, &poff, &pl4))
		FUZZ_ASSERT(poff + PDMV2_OPT_LEN_V1 <= pl4 && pl4 <= n);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static const unsigned int lens[4] = {
		PDMV2_OPT_LEN_V1, PDMV2_OPT_LEN_CLEAR, PDMV2_OPT_LEN_ENC,
		PDMV2_OPT_LEN_CLEAR,
	};
	unsigned int opt_len;
	bool strict;

	if (!size)
		return 0;
	opt_len = lens[data[0] & 3];
	strict = data[0] & 4;
	data++;
	size--;
	fuzz_option(data, size, strict);
	fuzz_header(data, size, opt_len);
	fuzz_packet(data, size, opt_len);
	return 0;
}

#ifdef PDMV2_FUZZ_STANDALONE
/*
 * Without libFuzzer: mutate random buffers and a valid UDP packet for the
 * given number of seconds (argv[1], default 20).
 */
static size_t mutate(u8 *buf, size_t size)
{
	static const u8 seed[] = {
		1, 0x60, 0, 0, 0, 0, 16, 0x3c, 64,
		[9 ... 40] = 0x20,
		0x11, 0, 1, 4, 0, 0, 0, 0,
		0x9c, 0x40, 0x14, 0x51, 0, 8, 0x12, 0x34,
	};
	unsigned int i;
	size_t n;

	if (fuzz_rnd() & 1) {
		n = sizeof(seed);
		memcpy(buf, seed, n);
		for (i = fuzz_rnd() % 8; i; i--)
			buf[fuzz_rnd() % n] = (u8)fuzz_rnd();
		if (fuzz_rnd() % 4 == 0)
			n = fuzz_rnd() % n;
	} else {
		n = fuzz_rnd() % size;
		for (i = 0; i < n; i++)
			buf[i] = (u8)fuzz_rnd();
	}
	return n;
}

int main(int argc, char **argv)
{
	return fuzz_standalone(argc, argv, "", 1000, 512, mutate);
}
#endif
