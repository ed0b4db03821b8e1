// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2 core test harness: checks kmod/pdmv2_core.c against the vectors the
 * TypeScript core generates (test/vectors/pdmv2-options.json), plus unit
 * tests for what the vectors do not cover (metrics, Global Pointer, walker,
 * the module's insertion into the headroom).
 *
 * usage: test_core [path/to/pdmv2-options.json]
 * Last line: "N passed, M failed"; exit status non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- helpers ---------------------------------------------------------- */

#define LIMBS 40
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* decimal string -> little-endian 32-bit limbs; -1 if it does not fit */
static int dec_to_limbs(const char *s, u32 *a)
{
	memset(a, 0, LIMBS * sizeof(*a));
	if (!*s)
		return -1;
	for (; *s; s++) {
		u64 carry;
		int i;

		if (*s < '0' || *s > '9')
			return -1;
		carry = (u64)(*s - '0');
		for (i = 0; i < LIMBS; i++) {
			u64 v = (u64)a[i] * 10 + carry;

			a[i] = (u32)v;
			carry = v >> 32;
		}
		if (carry)
			return -1;
	}
	return 0;
}

/* DELTA << SCALE as limbs */
static void decoded_limbs(u16 delta, u8 scale, u32 *a)
{
	u64 v = (u64)delta << (scale % 32);

	memset(a, 0, LIMBS * sizeof(*a));
	a[scale / 32] = (u32)v;
	a[scale / 32 + 1] = (u32)(v >> 32);
}

static const char *fmt_name(enum pdmv2_fmt f)
{
	switch (f) {
	case PDMV2_FMT_V1: return "pdm-v1";
	case PDMV2_FMT_CLEAR: return "pdmv2-clear";
	case PDMV2_FMT_DRAFT_CLEAR: return "pdmv2-draft-clear";
	case PDMV2_FMT_ENCRYPTED: return "pdmv2-encrypted";
	}
	return "?";
}

/* the TypeScript core's packet error names for our codes */
static const char *ts_pkt_err(int err)
{
	switch (err) {
	case PDMV2_ERR_BAD_PACKET: return "TRUNCATED";
	case PDMV2_ERR_BAD_HEADER: return "BAD_OPTION_TLV";
	case PDMV2_ERR_HAS_PDM: return "ALREADY_PRESENT";
	case PDMV2_ERR_TOO_LONG: return "HEADER_TOO_LONG";
	default: return pdmv2_err_name(err);
	}
}

/*
 * The module's insertion (kmod/pdmv2_xmit.c) on a linear packet of @len
 * octets at @orig, with room in front of and behind it: parse, plan, move
 * the start plan.grow octets towards the head, pdmv2_pkt_apply_plan().
 * Returns the parser's or the planner's error; *@out gets the new start.
 */
static int module_insert(u8 *orig, size_t len, const u8 *opt,
			 unsigned int opt_len, u8 **out, size_t *out_len,
			 int *grow)
{
	struct pdmv2_ins_plan plan;
	struct pdmv2_pkt info;
	int err;

	err = pdmv2_pkt_parse(orig, len, len, &info);
	if (!err)
		err = pdmv2_pkt_insert_plan(orig, &info, opt_len, &plan);
	if (err)
		return err;
	*out = orig - plan.grow;
	*out_len = len + plan.grow;
	*grow = plan.grow;
	pdmv2_pkt_apply_plan(*out, *out_len, &plan, opt);
	return PDMV2_OK;
}

/* ---- vector sections -------------------------------------------------- */

static void test_options(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name"), *format = str(e, "format");
		const char *hex = str(e, "option");
		const struct json *fields = json_get(e, "fields"), *f;
		struct pdmv2_opt o, enc;
		u8 *bytes = NULL, out[64];
		long n;
		int err;

		if (!name || !format || !hex || !fields) {
			check(0, "options: malformed entry");
			continue;
		}
		n = unhex(hex, &bytes);
		if (n < 0) {
			check(0, "options/%s: bad hex", name);
			continue;
		}
		err = pdmv2_opt_decode(bytes, (size_t)n, true, &o);
		check(err == PDMV2_OK, "options/%s: decode: %s", name,
		      pdmv2_err_name(err));
		if (err) {
			free(bytes);
			continue;
		}
		check(!strcmp(fmt_name(o.fmt), format),
		      "options/%s: format %s, want %s", name,
		      fmt_name(o.fmt), format);
		memset(&enc, 0, sizeof(enc));
		enc.fmt = o.fmt;
		for (f = fields->child; f; f = f->next) {
			unsigned long long want, got;

			if (!num(fields, f->key, &want) ||
			    !opt_get_field(&o, f->key, &got)) {
				check(0, "options/%s: field %s unknown", name,
				      f->key);
				continue;
			}
			check(got == want, "options/%s: %s = %llu, want %llu",
			      name, f->key, got, want);
			opt_set_field(&enc, f->key, want);
		}
		if (o.fmt == PDMV2_FMT_CLEAR || o.fmt == PDMV2_FMT_V1) {
			unsigned int len = pdmv2_opt_encode(&enc, out,
							    sizeof(out));

			check(len == (unsigned int)n && !memcmp(out, bytes, len),
			      "options/%s: encode gives %s", name,
			      tohex(out, len));
		}
		if (o.fmt == PDMV2_FMT_ENCRYPTED) {
			pdmv2_opt_encode_aad(o.epoch, o.psntp, out);
			check(!memcmp(out, bytes, PDMV2_AAD_LEN),
			      "options/%s: clear part differs", name);
		}
		free(bytes);
	}
}

static void test_malformed(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name"), *hex = str(e, "option");
		const char *want = str(e, "error");
		const struct json *strict = json_get(e, "strict");
		struct pdmv2_opt o;
		u8 *bytes = NULL;
		long n;
		int err;

		if (!name || !hex || !want || !strict ||
		    strict->type != JSON_BOOL) {
			check(0, "malformed: malformed entry");
			continue;
		}
		n = unhex(hex, &bytes);
		if (n < 0) {
			check(0, "malformed/%s: bad hex", name);
			continue;
		}
		err = pdmv2_opt_decode(bytes, (size_t)n, strict->boolean, &o);
		check(!strcmp(pdmv2_err_name(err), want),
		      "malformed/%s: got %s, want %s", name,
		      pdmv2_err_name(err), want);
		if (!strcmp(want, "RESERVED_NONZERO")) {
			/* the module's ingress decoder is lenient */
			err = pdmv2_opt_decode(bytes, (size_t)n, false, &o);
			check(err == PDMV2_OK && o.reserved_nonzero,
			      "malformed/%s: lenient decode: %s", name,
			      pdmv2_err_name(err));
		}
		free(bytes);
	}
}

static void test_time(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name"), *as = str(e, "attoseconds");
		const char *dec = str(e, "decoded_attoseconds");
		const char *ns = str(e, "nanoseconds");
		unsigned long long want_d, want_s;
		u32 a[LIMBS], b[LIMBS];
		u16 delta;
		u8 scale;

		if (!name || !as || !dec || !num(e, "delta", &want_d) ||
		    !num(e, "scale", &want_s)) {
			check(0, "time: malformed entry");
			continue;
		}
		if (dec_to_limbs(as, a)) {
			check(0, "time/%s: attoseconds too large", name);
			continue;
		}
		pdmv2_time_encode_limbs(a, LIMBS, &delta, &scale);
		check(delta == want_d && scale == want_s,
		      "time/%s: got (%u, %u), want (%llu, %llu)", name, delta,
		      scale, want_d, want_s);
		if (!dec_to_limbs(dec, a)) {
			decoded_limbs(delta, scale, b);
			check(!memcmp(a, b, sizeof(a)),
			      "time/%s: decoded value differs", name);
		} else {
			check(0, "time/%s: bad decoded_attoseconds", name);
		}
		if (ns) {
			char *end;
			unsigned long long v = strtoull(ns, &end, 10);

			pdmv2_time_encode_ns(v, &delta, &scale);
			check(!*end && delta == want_d && scale == want_s,
			      "time/%s: from ns got (%u, %u)", name, delta,
			      scale);
		}
	}
}

static void test_headers(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name"), *opt = str(e, "option");
		const char *res = str(e, "result"), *ex = str(e, "existing");
		u8 *ob = NULL, *eb = NULL, *rb = NULL, out[PDMV2_DOH_MAX_LEN];
		unsigned long long nh;
		long on, en = 0, rn;
		size_t outlen = 0;
		int err;

		if (!name || !opt || !res || !num(e, "next_header", &nh)) {
			check(0, "headers: malformed entry");
			continue;
		}
		on = unhex(opt, &ob);
		rn = unhex(res, &rb);
		if (ex)
			en = unhex(ex, &eb);
		if (on < 0 || rn < 0 || en < 0) {
			check(0, "headers/%s: bad hex", name);
		} else {
			err = pdmv2_doh_build(eb, (size_t)en, (u8)nh, ob,
					      (unsigned int)on, out,
					      sizeof(out), &outlen);
			check(!err && outlen == (size_t)rn &&
			      !memcmp(out, rb, outlen),
			      "headers/%s: %s, %zu octets", name,
			      pdmv2_err_name(err), outlen);
		}
		free(ob);
		free(eb);
		free(rb);
	}
}

static void test_packets(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name"), *pkt = str(e, "packet");
		const char *opt = str(e, "option"), *res = str(e, "result");
		const char *want_err = str(e, "error");
		u8 *pb = NULL, *ob = NULL, *rb = NULL, *buf, *mb, *mod;
		size_t outlen = 0, mod_len = 0;
		long pn, on, rn = 0;
		int err, merr, grow;

		if (!name || !pkt || !opt || (!res && !want_err)) {
			check(0, "packets: malformed entry");
			continue;
		}
		pn = unhex(pkt, &pb);
		on = unhex(opt, &ob);
		if (res)
			rn = unhex(res, &rb);
		buf = malloc((size_t)(pn > 0 ? pn : 0) + 4096);
		mb = malloc((size_t)(pn > 0 ? pn : 0) + 4096);
		if (pn < 0 || on < 0 || rn < 0 || !buf || !mb) {
			check(0, "packets/%s: bad hex", name);
			goto next;
		}
		memcpy(buf, pb, (size_t)pn);
		err = pdmv2_pkt_insert(buf, (size_t)pn, (size_t)pn + 4096, ob,
				       (unsigned int)on, &outlen);
		/* the module's way, with 2048 octets of headroom */
		memcpy(mb + 2048, pb, (size_t)pn);
		merr = module_insert(mb + 2048, (size_t)pn, ob,
				     (unsigned int)on, &mod, &mod_len, &grow);
		if (want_err) {
			check(err && !strcmp(ts_pkt_err(err), want_err),
			      "packets/%s: got %s, want %s", name,
			      err ? ts_pkt_err(err) : "OK", want_err);
			/* the module leaves the length checks to the stack */
			check(merr || pdmv2_pkt_check(pb, (size_t)pn),
			      "packets/%s: module path does not refuse it",
			      name);
		} else {
			struct pdmv2_pkt info;

			check(!err && outlen == (size_t)rn &&
			      !memcmp(buf, rb, outlen),
			      "packets/%s: %s, %zu octets", name,
			      ts_pkt_err(err), outlen);
			check(!merr && mod_len == (size_t)rn &&
			      !memcmp(mod, rb, mod_len),
			      "packets/%s: apply_plan: %s, %zu octets", name,
			      ts_pkt_err(merr), mod_len);
			/* and the walker finds exactly that option again */
			err = pdmv2_pkt_parse(rb, (size_t)rn, (size_t)rn,
					      &info);
			check(!err && info.pdm_len == (u32)on &&
			      !memcmp(rb + info.pdm_off, ob, (size_t)on),
			      "packets/%s: option not found in result", name);
		}
next:
		free(buf);
		free(mb);
		free(pb);
		free(ob);
		free(rb);
	}
}

/* plaintext and AAD of the encrypted vectors (sealing itself: AEAD seam) */
static void test_encrypted(const struct json *arr)
{
	const struct json *e, *f;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name"), *aad = str(e, "aad");
		const char *pt = str(e, "plaintext");
		const struct json *fields = json_get(e, "fields");
		u8 *ab = NULL, *pb = NULL, out[PDMV2_METRICS_LEN];
		struct pdmv2_opt o;

		if (!name || !aad || !pt || !fields)
			continue;
		memset(&o, 0, sizeof(o));
		for (f = fields->child; f; f = f->next) {
			unsigned long long v;

			if (num(fields, f->key, &v))
				opt_set_field(&o, f->key, v);
		}
		if (unhex(aad, &ab) == PDMV2_AAD_LEN &&
		    unhex(pt, &pb) == PDMV2_METRICS_LEN) {
			pdmv2_opt_encode_aad(o.epoch, o.psntp, out);
			check(!memcmp(out, ab, PDMV2_AAD_LEN),
			      "encrypted/%s: AAD differs", name);
			pdmv2_opt_encode_metrics(&o, out);
			check(!memcmp(out, pb, PDMV2_METRICS_LEN),
			      "encrypted/%s: metrics block differs", name);
		} else {
			check(0, "encrypted/%s: bad hex", name);
		}
		free(ab);
		free(pb);
	}
}

/* ---- unit tests -------------------------------------------------------- */

/*
 * Reference encoder over 128-bit integers made of four 32-bit limbs (most
 * significant first): the harness also runs on 32-bit CPUs (qemu/user-tests.sh),
 * which have no __int128.
 */
struct ref128 {
	u32 w[4];
};

static struct ref128 ref_mul(u64 a, u32 b)
{
	u64 lo = (a & 0xffffffffU) * b, hi = (a >> 32) * b;
	u64 mid = (lo >> 32) + (hi & 0xffffffffU);
	struct ref128 r = { { 0, (u32)((hi >> 32) + (mid >> 32)), (u32)mid, (u32)lo } };

	return r;
}

static struct ref128 ref_pow2(unsigned int k)
{
	struct ref128 r = { { 0, 0, 0, 0 } };

	r.w[3 - k / 32] = 1U << (k % 32);
	return r;
}

static unsigned int ref_bit(const struct ref128 *x, unsigned int k)
{
	return k < 128 ? (x->w[3 - k / 32] >> (k % 32)) & 1 : 0;
}

static void ref_add(struct ref128 *x, const struct ref128 *y)
{
	u64 carry = 0;
	int i;

	for (i = 3; i >= 0; i--) {
		carry += (u64)x->w[i] + y->w[i];
		x->w[i] = (u32)carry;
		carry >>= 32;
	}
}

/* x / d, for quotients that fit 64 bits */
static u64 ref_div(const struct ref128 *x, u32 d)
{
	u64 rem = 0, q = 0;
	int i;

	for (i = 0; i < 4; i++) {
		u64 cur = rem << 32 | x->w[i];

		q = q << 32 | (cur / d);
		rem = cur % d;
	}
	return q;
}

static void ref_encode(struct ref128 a, u16 *delta, u8 *scale)
{
	unsigned int bits = 128, s, k;
	struct ref128 half;
	u32 d = 0;

	while (bits && !ref_bit(&a, bits - 1))
		bits--;
	if (bits <= 16) {
		*delta = (u16)a.w[3];
		*scale = 0;
		return;
	}
	s = bits - 16;
	half = ref_pow2(s - 1);
	ref_add(&a, &half);
	for (k = 0; k < 17; k++)
		d |= ref_bit(&a, s + k) << k;
	if (d == 0x10000) {
		d = 0x8000;
		s++;
	}
	*delta = (u16)d;
	*scale = (u8)s;
}

static u64 rng_state = 0x9e3779b97f4a7c15ULL;

static u64 rnd64(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void unit_time(void)
{
	unsigned int i, bad = 0;

	for (i = 0; i < 200000; i++) {
		u64 ns = rnd64() >> (rnd64() % 64);
		u16 d1, d2;
		u8 s1, s2;

		pdmv2_time_encode_ns(ns, &d1, &s1);
		ref_encode(ref_mul(ns, 1000000000U), &d2, &s2);
		if (d1 != d2 || s1 != s2)
			bad++;
	}
	check(!bad, "time: %u random ns values differ from reference", bad);
	/*
	 * All values up to 2^20 ns, and those around each (2^k) / 10^9: from
	 * A = 2^47 on, some round up to 2^16 and carry into the scale.
	 */
	for (i = 0; i < (1U << 20) + 64 * 4096; i++) {
		unsigned int k = (i >> 12) - 256 + 30;
		struct ref128 p2k;
		u64 ns = i;
		u16 d1, d2;
		u8 s1, s2;

		if (i >= 1U << 20) {
			p2k = ref_pow2(k);
			ns = ref_div(&p2k, 1000000000U) + (i & 4095) - 2048;
		}

		pdmv2_time_encode_ns(ns, &d1, &s1);
		ref_encode(ref_mul(ns, 1000000000U), &d2, &s2);
		if (d1 != d2 || s1 != s2)
			bad++;
	}
	check(!bad, "time: %u values at rounding carries differ", bad);
}

/* the router's own round-trip time and the server delay the peer reports */
static void unit_metrics_answer(void)
{
	struct pdmv2_metrics c;
	struct pdmv2_tx tx;
	u64 rtt, want;
	u16 d;
	u8 sc;
	int i;

	pdmv2_time_encode_ns(250000, &d, &sc);
	rtt = pdmv2_time_decode_ns(d, sc);
	check((rtt > 250000 ? rtt - 250000 : 250000 - rtt) <= (250000 >> 15),
	      "time decode: 250 us within the 16-bit mantissa's precision");
	check(pdmv2_time_decode_ns(0, 0) == 0 &&
	      pdmv2_time_decode_ns(0xffff, 255) == U64_MAX,
	      "time decode: zero and beyond 2^64 ns");
	want = 1ULL << 40;
	pdmv2_time_encode_ns(want, &d, &sc);
	rtt = pdmv2_time_decode_ns(d, sc);
	check((rtt > want ? rtt - want : want - rtt) <= (want >> 15),
	      "time decode: 2^40 ns within the 16-bit mantissa's precision");

	pdmv2_time_encode_ns(250000, &d, &sc);
	rtt = pdmv2_time_decode_ns(d, sc);
	pdmv2_metrics_init(&c, 100);
	pdmv2_metrics_on_send(&c, 1000, &tx);	/* probe: PSN 100 at 1000 */
	pdmv2_metrics_on_send(&c, 1200, &tx);	/* PSN 101, not timed */
	pdmv2_metrics_on_answer(&c, 9000, 100, d, sc);
	check((c.flags & PDMV2_M_RTT) && c.rtt_last == 8000 &&
	      c.srtt == 8000, "rtt: first sample is the smoothed value");
	check((c.flags & PDMV2_M_SD) && c.sd_last == rtt && c.ssd == rtt,
	      "server delay: DeltaTLR decoded");
	/* the answer to PSN 101 comes, but 101 was not the probe: no sample */
	pdmv2_metrics_on_answer(&c, 9500, 101, 0, 0);
	check(c.rtt_last == 8000 && c.sd_last == rtt,
	      "rtt: only the timed packet gives a sample; DeltaTLR 0 is no report");
	/* next probe PSN 102 at 10000, answered at 26000: 7/8 8000 + 1/8 16000 */
	pdmv2_metrics_on_send(&c, 10000, &tx);
	pdmv2_metrics_on_answer(&c, 26000, 102, 0, 0);
	check(c.rtt_last == 16000 && c.srtt == 9000,
	      "rtt: smoothed by 1/8 like SRTT");
	/* an answer acknowledging a later PSN than the probe drops the probe */
	pdmv2_metrics_on_send(&c, 30000, &tx);	/* probe 103 */
	pdmv2_metrics_on_send(&c, 30100, &tx);	/* 104 */
	pdmv2_metrics_on_answer(&c, 40000, 104, 0, 0);
	check(!(c.flags & PDMV2_M_PROBE) && c.rtt_last == 16000,
	      "rtt: a probe overtaken is not sampled");
	/* an old answer (before the probe) keeps it */
	pdmv2_metrics_on_send(&c, 50000, &tx);	/* probe 105 */
	pdmv2_metrics_on_answer(&c, 50500, 104, 0, 0);
	check((c.flags & PDMV2_M_PROBE) && c.probe_psn == 105,
	      "rtt: an answer to an earlier packet keeps the probe");
	/* PSN wrap */
	pdmv2_metrics_init(&c, 0xffffffffU);
	for (i = 0; i < 2; i++)
		pdmv2_metrics_on_send(&c, 1000 + i, &tx);
	pdmv2_metrics_on_answer(&c, 2000, 0, 0, 0);
	check(!(c.flags & PDMV2_M_PROBE) && !(c.flags & PDMV2_M_RTT),
	      "rtt: PSN comparison across the 2^32 wrap");
}

static void unit_metrics(void)
{
	struct pdmv2_metrics c, s;
	struct pdmv2_tx tx;
	u16 d;
	u8 sc;

	/* client sends at 1000, server receives at 1500, answers at 1600 */
	pdmv2_metrics_init(&c, 100);
	pdmv2_metrics_init(&s, 7000);
	pdmv2_metrics_on_send(&c, 1000, &tx);
	check(tx.psntp == 100 && tx.psnlr == 0 && !tx.delta_tlr &&
	      !tx.scale_dtlr && !tx.delta_tls && !tx.scale_dtls,
	      "metrics: first packet carries zeros");
	pdmv2_metrics_on_receive(&s, 1500, tx.psntp);
	pdmv2_metrics_on_send(&s, 1600, &tx);
	pdmv2_time_encode_ns(100, &d, &sc);
	check(tx.psntp == 7000 && tx.psnlr == 100 && tx.delta_tlr == d &&
	      tx.scale_dtlr == sc && !tx.delta_tls && !tx.scale_dtls,
	      "metrics: server reply carries server delay, no DeltaTLS");
	/* client receives at 2100, sends again at 2150 */
	pdmv2_metrics_on_receive(&c, 2100, tx.psntp);
	pdmv2_metrics_on_send(&c, 2150, &tx);
	pdmv2_time_encode_ns(50, &d, &sc);
	check(tx.psntp == 101 && tx.psnlr == 7000 && tx.delta_tlr == d &&
	      tx.scale_dtlr == sc, "metrics: client DeltaTLR");
	pdmv2_time_encode_ns(1100, &d, &sc);
	check(tx.delta_tls == d && tx.scale_dtls == sc,
	      "metrics: client DeltaTLS is the round trip (1100 ns)");
	/* clock went backwards: zeros, counted */
	pdmv2_metrics_on_receive(&c, 5000, 7001);
	pdmv2_metrics_on_send(&c, 4000, &tx);
	check(tx.negative == 1 && !tx.delta_tlr && !tx.scale_dtlr,
	      "metrics: negative duration encodes as zero");
	/* durations of 2^34 ns (17 s) and more, alone or with a short one */
	{
		static const u64 durs[][2] = {
			{ 1ULL << 34, 700 }, { 900, 1ULL << 34 },
			{ (1ULL << 34) - 1, 5ULL << 40 },
			{ 123456789012345ULL, 0 },
		};
		unsigned int i, bad = 0;

		for (i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
			u64 t0 = 1000000, t1 = t0 + durs[i][1];
			u16 d2;
			u8 sc2;

			/* sent at t0, received at t1, sent again later */
			pdmv2_metrics_init(&c, 1);
			pdmv2_metrics_on_send(&c, t0, &tx);
			pdmv2_metrics_on_receive(&c, t1, 9);
			pdmv2_metrics_on_send(&c, t1 + durs[i][0], &tx);
			pdmv2_time_encode_ns(durs[i][0], &d, &sc);
			pdmv2_time_encode_ns(durs[i][1], &d2, &sc2);
			if (tx.delta_tlr != d || tx.scale_dtlr != sc ||
			    tx.delta_tls != d2 || tx.scale_dtls != sc2 ||
			    tx.negative)
				bad++;
		}
		check(!bad, "metrics: %u long durations encoded wrongly", bad);
	}
	/* PSN wraps modulo 2^32 */
	pdmv2_metrics_init(&c, 0xffffffffU);
	pdmv2_metrics_on_send(&c, 1, &tx);
	check(tx.psntp == 0xffffffffU && c.psn_next == 0,
	      "metrics: PSN wraps");
}

static void unit_gp(void)
{
	static const u8 ll[16] = { 0xfe, 0x80 }, gl[16] = { 0x20, 0x01 };
	static const u8 febf[16] = { 0xfe, 0xbf }, fec0[16] = { 0xfe, 0xc0 };
	struct pdmv2_gp gp;
	u32 a, b, c, d;

	pdmv2_gp_init(&gp);
	a = pdmv2_gp_next(&gp, ll);
	b = pdmv2_gp_next(&gp, ll);
	c = pdmv2_gp_next(&gp, gl);
	d = pdmv2_gp_next(&gp, febf);
	check(a == 1 && b == 2 && c == 1 && d == 3,
	      "gp: separate counters starting at 1");
	check(!pdmv2_addr_is_link_local(fec0) &&
	      pdmv2_addr_is_link_local(febf), "gp: fe80::/10 boundaries");
}

static void unit_walker(void)
{
	/* HbH(8) + DOH(8, with PDM v1? no: PadN) + UDP */
	u8 pkt[40 + 8 + 16 + 8] = { 0x60 };
	struct pdmv2_pkt info;
	size_t avail;
	int err = 0, rounds = 0;

	pkt[4] = 0;
	pkt[5] = sizeof(pkt) - 40;
	pkt[6] = PDMV2_NEXTHDR_HOP;
	pkt[40] = PDMV2_NEXTHDR_DEST;
	pkt[41] = 0;
	pkt[42] = 1;
	pkt[43] = 4;
	pkt[48] = PDMV2_NEXTHDR_UDP;
	pkt[49] = 1;
	pkt[50] = 0x1e;		/* some option, 4 octets */
	pkt[51] = 2;
	pkt[54] = 1;		/* PadN to the end */
	pkt[55] = 8;
	pkt[64] = 0x12;
	pkt[65] = 0x34;
	pkt[66] = 0x56;
	pkt[67] = 0x78;
	/* feed the walker the way the module does: grow until it is happy */
	for (avail = 40;; rounds++) {
		err = pdmv2_pkt_parse(pkt, avail, sizeof(pkt), &info);
		if (err != PDMV2_ERR_NEED_MORE || rounds > 10)
			break;
		check(info.need > avail, "walker: need grows");
		avail = info.need;
	}
	check(!err && info.doh_off == 48 && info.doh_len == 16 &&
	      info.l4_off == 64 && info.nh_off == 48 &&
	      info.proto == PDMV2_NEXTHDR_UDP && info.sport == 0x1234 &&
	      info.dport == 0x5678 && (info.flags & PDMV2_PKT_KEY) &&
	      rounds == 5, "walker: HbH + DOH + UDP (%s, %d rounds)",
	      pdmv2_err_name(err), rounds);
	/* a header running past the packet */
	pkt[49] = 5;
	err = pdmv2_pkt_parse(pkt, sizeof(pkt), sizeof(pkt), &info);
	check(err == PDMV2_ERR_BAD_PACKET, "walker: overlong header: %s",
	      pdmv2_err_name(err));
}

static void unit_doh_shrink(void)
{
	/* a 24-octet header that is all padding becomes a 16-octet one */
	u8 hdr[24] = { 17, 2, 1, 20 }, out[64];
	u8 opt[PDMV2_OPT_LEN_V1] = { 0x0f, 10 };
	struct pdmv2_doh_plan plan;
	size_t n;
	int err;

	err = pdmv2_doh_plan(hdr, sizeof(hdr), sizeof(opt), &plan);
	check(!err && plan.keep == 2 && plan.new_len == 16 &&
	      plan.old_len == 24, "doh: trailing padding removed");
	err = pdmv2_doh_build(hdr, sizeof(hdr), 0, opt, sizeof(opt), out,
			      sizeof(out), &n);
	check(!err && n == 16 && out[0] == 17 && out[1] == 1 &&
	      out[2] == 0x0f && out[14] == 1 && out[15] == 0,
	      "doh: shrunk header layout");
	hdr[1] = 1;
	err = pdmv2_doh_plan(hdr, sizeof(hdr), sizeof(opt), &plan);
	check(err == PDMV2_ERR_BAD_HEADER, "doh: length mismatch rejected");
}

/*
 * The longest header chain: the walker takes PDMV2_MAX_EXTHDRS extension
 * headers, so a packet that has them all cannot take a new Destination
 * Options header (it could no longer be parsed), and one with one fewer can.
 */
static void unit_exthdr_limit(void)
{
	u8 pkt[40 + 8 * PDMV2_MAX_EXTHDRS + 8], buf[sizeof(pkt) + 64];
	u8 opt[PDMV2_OPT_LEN_CLEAR] = { 0x0f, PDMV2_OPT_LEN_CLEAR - 2 };
	struct pdmv2_ins_plan plan;
	struct pdmv2_pkt info;
	unsigned int n, i;
	size_t out_len;
	int err;

	for (n = PDMV2_MAX_EXTHDRS - 1; n <= PDMV2_MAX_EXTHDRS; n++) {
		size_t len = 40 + 8 * n + 8;

		memset(pkt, 0, sizeof(pkt));
		pkt[0] = 0x60;
		pkt[5] = (u8)(len - 40);
		pkt[6] = PDMV2_NEXTHDR_ROUTING;
		for (i = 0; i < n; i++)	/* 8-octet Routing headers */
			pkt[40 + 8 * i] = i + 1 < n ? PDMV2_NEXTHDR_ROUTING :
						      PDMV2_NEXTHDR_UDP;
		err = pdmv2_pkt_parse(pkt, len, len, &info);
		check(!err && info.exthdrs == n && info.l4_off == 40 + 8 * n,
		      "exthdr limit: %u headers parse (%s)", n,
		      pdmv2_err_name(err));
		err = pdmv2_pkt_insert_plan(pkt, &info, sizeof(opt), &plan);
		if (n == PDMV2_MAX_EXTHDRS) {
			check(err == PDMV2_ERR_TOO_LONG,
			      "exthdr limit: no new header behind %u (%s)", n,
			      pdmv2_err_name(err));
			continue;
		}
		memcpy(buf, pkt, len);
		err = pdmv2_pkt_insert(buf, len, sizeof(buf), opt, sizeof(opt),
				       &out_len);
		if (!err)
			err = pdmv2_pkt_parse(buf, out_len, out_len, &info);
		check(!err && info.exthdrs == n + 1 && info.pdm_off,
		      "exthdr limit: a header added behind %u parses (%s)", n,
		      pdmv2_err_name(err));
	}
}

/*
 * A packet for unit_apply_plan: an optional Hop-by-Hop header, an optional
 * Destination Options header of @doh_len octets (0: none) starting with an
 * @other octet option of type 0x1e (0: none) and padded to its end (PadN,
 * Pad1 for a single octet), an optional Routing header, then 16 octets of
 * @l4. Returns the length.
 */
static size_t apply_test_packet(u8 *p, bool hbh, unsigned int doh_len,
				unsigned int other, bool rt, u8 l4)
{
	size_t off = 40;
	u8 *nh = p + 6;
	unsigned int i;

	memset(p, 0, 40);
	p[0] = 0x60;
	for (i = 8; i < 40; i++)
		p[i] = (u8)(0x20 + i);
	if (hbh) {
		*nh = PDMV2_NEXTHDR_HOP;
		nh = p + off;
		memcpy(p + off, "\0\0\x01\x04\0\0\0\0", 8);
		off += 8;
	}
	if (doh_len) {
		u8 *h = p + off;
		size_t pos = 2;

		*nh = PDMV2_NEXTHDR_DEST;
		nh = h;
		memset(h, 0, doh_len);
		h[1] = (u8)(doh_len / 8 - 1);
		if (other) {
			h[2] = 0x1e;
			h[3] = (u8)(other - 2);
			memset(h + 4, 0xc3, other - 2);
			pos += other;
		}
		if (doh_len - pos >= 2) {
			h[pos] = 1;
			h[pos + 1] = (u8)(doh_len - pos - 2);
		}
		off += doh_len;
	}
	if (rt) {
		*nh = PDMV2_NEXTHDR_ROUTING;
		nh = p + off;
		memcpy(p + off, "\0\0\0\0\0\0\0\0", 8);
		off += 8;
	}
	*nh = l4;
	for (i = 0; i < 16; i++)
		p[off + i] = (u8)(0x90 + i);
	off += 16;
	put_unaligned_be16((u16)(off - 40), p + 4);
	return off;
}

struct apply_stats {
	unsigned int runs, bad, wild, grew, same, shrank;
};

/*
 * One packet of unit_apply_plan, both ways. @shape: Hop-by-Hop header (1),
 * Routing header (2), TCP instead of UDP (4).
 */
static void apply_one(unsigned int shape, unsigned int doh_len,
		      unsigned int other, unsigned int opt_len,
		      struct apply_stats *st)
{
	static u8 ref[256], buf[512];
	u8 *orig = buf + 128, *mod, opt[PDMV2_OPT_MAX_LEN];
	size_t len, ref_len = 0, mod_len = 0, i;
	int err, merr, grow = 0;
	bool hbh = shape & 1, rt = shape & 2;
	u8 l4 = shape & 4 ? PDMV2_NEXTHDR_TCP : PDMV2_NEXTHDR_UDP;

	if (doh_len ? 2 + other > doh_len : other != 0)
		return;
	len = apply_test_packet(ref, hbh, doh_len, other, rt, l4);
	memset(buf, 0xee, sizeof(buf));
	memcpy(orig, ref, len);
	for (i = 0; i < opt_len; i++)
		opt[i] = (u8)(0x40 + i);
	opt[0] = PDMV2_OPT_TYPE;
	opt[1] = (u8)(opt_len - 2);
	err = pdmv2_pkt_insert(ref, len, sizeof(ref), opt, opt_len, &ref_len);
	merr = module_insert(orig, len, opt, opt_len, &mod, &mod_len, &grow);
	st->runs++;
	if (err || merr || mod_len != ref_len || memcmp(mod, ref, ref_len)) {
		if (!st->bad++)
			printf("apply_plan: shape %u doh %u (other %u), %u-octet option: %s, %s\n",
			       shape, doh_len, other, opt_len,
			       pdmv2_err_name(err), pdmv2_err_name(merr));
		return;
	}
	/* the old packet's octets and the new ones may change, no others */
	for (i = 0; i < sizeof(buf); i++)
		if ((buf + i < orig || buf + i >= orig + len) &&
		    (buf + i < mod || buf + i >= mod + mod_len) &&
		    buf[i] != 0xee)
			st->wild++;
	st->grew += grow > 0;
	st->same += grow == 0;
	st->shrank += grow < 0;
}

/*
 * pdmv2_pkt_apply_plan against the reference pdmv2_pkt_insert: new headers
 * (behind the IPv6 or a Hop-by-Hop header, behind a Routing header with a
 * non-final Destination Options header in front of it) and existing ones
 * that grow, keep their length or shrink (their trailing padding goes).
 */
static void unit_apply_plan(void)
{
	static const unsigned int lens[] = {
		PDMV2_OPT_LEN_V1, PDMV2_OPT_LEN_CLEAR, PDMV2_OPT_LEN_ENC,
	};
	static const unsigned int other[] = { 0, 2, 3, 5, 8, 13 };
	struct apply_stats st = { 0 };
	unsigned int shape, dl, od, li;

	for (shape = 0; shape < 8; shape++)
		for (dl = 0; dl <= 64; dl += 8)
			for (od = 0; od < ARRAY_SIZE(other); od++)
				for (li = 0; li < ARRAY_SIZE(lens); li++)
					apply_one(shape, dl, other[od],
						  lens[li], &st);
	check(!st.bad, "apply_plan: %u of %u packets differ from pdmv2_pkt_insert",
	      st.bad, st.runs);
	check(!st.wild, "apply_plan: %u octets written outside the packet",
	      st.wild);
	check(st.grew && st.same && st.shrank,
	      "apply_plan: headers grew %u, kept their length %u, shrank %u times",
	      st.grew, st.same, st.shrank);
}

/*
 * Pending options (GSO packets numbered as the kernel segments them): found
 * behind every header chain the planner inserts into, turned into the
 * option of segment i with PSNTP (and the clear form's Global Pointer)
 * advanced by i, never found where they are not, never read past the
 * packet.
 */
static void unit_pending(void)
{
	static const unsigned int lens[] = { PDMV2_OPT_LEN_V1,
					     PDMV2_OPT_LEN_CLEAR,
					     PDMV2_OPT_LEN_ENC };
	unsigned int shape, dl, li, found = 0, runs = 0, bad = 0, i;
	u8 pkt[256], opt[PDMV2_OPT_MAX_LEN], seg[sizeof(opt)];
	struct pdmv2_pkt info;
	size_t len, out_len, avail;
	u32 off, l4;

	for (shape = 0; shape < 8; shape++) {
		for (dl = 0; dl <= 24; dl += 8) {
			for (li = 0; li < ARRAY_SIZE(lens); li++) {
				unsigned int ol = lens[li];
				u8 l4p = shape & 4 ? PDMV2_NEXTHDR_TCP :
						     PDMV2_NEXTHDR_UDP;

				len = apply_test_packet(pkt, shape & 1, dl, 0,
							shape & 2, l4p);
				check(!pdmv2_pending_find(pkt, len, &off, &l4),
				      "pending: none in shape %u doh %u", shape,
				      dl);
				for (i = 0; i < ol; i++)
					opt[i] = (u8)(0x40 + i);
				opt[0] = PDMV2_OPT_TYPE;
				opt[1] = (u8)(ol - 2);
				if (pdmv2_pkt_insert(pkt, len, sizeof(pkt), opt,
						     ol, &out_len) ||
				    pdmv2_pkt_parse(pkt, out_len, out_len,
						    &info)) {
					bad++;
					continue;
				}
				runs++;
				/* a PDM option is not a pending one */
				bad += pdmv2_pending_find(pkt, out_len, &off,
							  &l4);
				pkt[info.pdm_off] = PDMV2_OPT_TYPE_PENDING;
				if (!pdmv2_pending_find(pkt, out_len, &off,
							&l4) ||
				    off != info.pdm_off || l4 != info.l4_off) {
					bad++;
					continue;
				}
				found++;
				/* shorter than its headers: never found */
				for (avail = 0; avail < info.l4_off; avail++)
					bad += pdmv2_pending_find(pkt, avail,
								  &off, &l4);
			}
		}
	}
	check(!bad && found == runs && runs == 8 * 4 * 3,
	      "pending: found %u of %u, %u wrong answers", found, runs, bad);

	/* segment 2 of a clear option, segment 3 of a v1 one (wrapping) */
	memset(opt, 0, sizeof(opt));
	opt[0] = PDMV2_OPT_TYPE_PENDING;
	opt[1] = PDMV2_DLEN_CLEAR;
	put_unaligned_be16(0x2000, opt + 2);
	put_unaligned_be32(0xfffffffe, opt + 4);
	put_unaligned_be32(77, opt + 8);
	put_unaligned_be32(1000, opt + 12);
	memset(opt + 16, 0x5a, 8);
	memcpy(seg, opt, sizeof(opt));
	check(pdmv2_pending_psntp(opt) == 0xfffffffe,
	      "pending: PSNTP of a clear option, 32 bits");
	check(pdmv2_pending_finish(seg, 2) && seg[0] == PDMV2_OPT_TYPE &&
	      get_unaligned_be32(seg + 4) == 0 &&
	      get_unaligned_be32(seg + 12) == 1002 &&
	      !memcmp(seg + 1, opt + 1, 3) && !memcmp(seg + 8, opt + 8, 4) &&
	      !memcmp(seg + 16, opt + 16, 8),
	      "pending: clear option of segment 2");
	opt[1] = PDMV2_DLEN_V1;
	put_unaligned_be16(0xfffe, opt + 4);
	check(pdmv2_pending_psntp(opt) == 0xfffe,
	      "pending: PSNTP of a v1 option, 16 bits");
	memcpy(seg, opt, sizeof(opt));
	check(pdmv2_pending_finish(seg, 3) && seg[0] == PDMV2_OPT_TYPE &&
	      get_unaligned_be16(seg + 4) == 1 &&
	      !memcmp(seg + 6, opt + 6, PDMV2_OPT_LEN_V1 - 6),
	      "pending: v1 option of segment 3, PSN wraps at 16 bits");
	/* not pending: unchanged */
	opt[0] = PDMV2_OPT_TYPE;
	memcpy(seg, opt, sizeof(opt));
	check(!pdmv2_pending_finish(seg, 1) && !memcmp(seg, opt, sizeof(opt)),
	      "pending: a PDM option is left alone");
	opt[0] = PDMV2_OPT_TYPE_PENDING;
	opt[1] = PDMV2_DLEN_ENC;
	memcpy(seg, opt, sizeof(opt));
	put_unaligned_be32(0x01020304, opt + 4);
	memcpy(seg, opt, sizeof(opt));
	check(!pdmv2_pending_finish(seg, 1) && !memcmp(seg, opt, sizeof(opt)) &&
	      pdmv2_pending_psntp(opt) == 0x01020304,
	      "pending: encrypted, not numbered (sealed in advance), PSNTP of 32 bits");

	/* a pending option in a Destination Options header in front of a
	 * Routing header is not the final header's: not found
	 */
	len = apply_test_packet(pkt, false, 16, 0, true, PDMV2_NEXTHDR_UDP);
	pkt[42] = PDMV2_OPT_TYPE_PENDING;
	pkt[43] = PDMV2_DLEN_V1;
	check(!pdmv2_pending_find(pkt, len, &off, &l4),
	      "pending: not in a header in front of a Routing header");
	/* the final header's experimental 0x1e option of another length */
	len = apply_test_packet(pkt, false, 16, 8, false, PDMV2_NEXTHDR_UDP);
	check(!pdmv2_pending_find(pkt, len, &off, &l4),
	      "pending: 0x1e of another length is someone else's");
}

/*
 * Segments of a GSO packet armed for `expected` segments, when the kernel
 * cut it into another number: every segment that carries a PDM option has
 * a PSN of its own among those taken, the others keep the pending type
 * (skipped by receivers), and every PSN taken is either carried or counted
 * as unused. A packet handed back whole is numbered only when it was armed
 * for one segment (a device that segments it would copy its option).
 */
static void gso_tally_case(u32 expected, u32 produced, u32 numbered,
			   u32 unnumbered, u32 unused, const char *what)
{
	struct pdmv2_gso_tally t;

	pdmv2_gso_tally(expected, produced, &t);
	check(t.numbered == numbered && t.unnumbered == unnumbered &&
	      t.unused == unused,
	      "gso tally: %s (armed %u, cut into %u): numbered %u, pending %u, unused PSNs %u",
	      what, expected, produced, t.numbered, t.unnumbered, t.unused);
}

static void unit_gso_tally(void)
{
	static const u32 base = 0xfffffff0;	/* wraps inside the sweep */
	unsigned int bad = 0, runs = 0;
	u32 expected, produced, i, j;
	u8 segs[48][PDMV2_OPT_LEN_CLEAR];
	struct pdmv2_gso_tally t;

	gso_tally_case(4, 4, 4, 0, 0, "as expected");
	gso_tally_case(4, 6, 4, 2, 0, "more segments than PSNs taken");
	gso_tally_case(4, 3, 3, 0, 1, "fewer segments");
	gso_tally_case(1, 0, 1, 0, 0, "handed back whole, one segment");
	gso_tally_case(3, 0, 0, 1, 3, "handed back whole, more segments");

	for (expected = 1; expected < 40; expected++) {
		for (produced = 0; produced < 48; produced++) {
			u32 n = produced ? produced : 1, pdm = 0, pend = 0;

			runs++;
			pdmv2_gso_tally(expected, produced, &t);
			for (i = 0; i < n; i++) {
				memset(segs[i], 0, sizeof(segs[i]));
				segs[i][0] = PDMV2_OPT_TYPE_PENDING;
				segs[i][1] = PDMV2_DLEN_CLEAR;
				put_unaligned_be32(base, segs[i] + 4);
				if (i < t.numbered)
					pdmv2_pending_finish(segs[i], i);
			}
			for (i = 0; i < n; i++) {
				u32 psn = get_unaligned_be32(segs[i] + 4);

				if (segs[i][0] == PDMV2_OPT_TYPE_PENDING) {
					pend++;
					continue;
				}
				pdm++;
				/* among the PSNs taken, and no other's */
				if (psn - base >= expected)
					bad++;
				for (j = 0; j < i; j++)
					if (segs[j][0] == PDMV2_OPT_TYPE &&
					    get_unaligned_be32(segs[j] + 4) ==
					    psn)
						bad++;
			}
			if (pdm != t.numbered || pend != t.unnumbered ||
			    t.numbered + t.unused != expected)
				bad++;
		}
	}
	check(!bad, "gso tally: %u shapes, %u with a PSN reused, beyond those taken or uncounted",
	      runs, bad);
}

/* control file numbers: decimal (leading zeros too) or 0x hex, nothing else */
static void unit_number_parse(void)
{
	static const struct {
		const char *in;
		bool ok;
		u32 v;
	} cases[] = {
		{ "0", true, 0 }, { "010", true, 10 }, { "08", true, 8 },
		{ "4294967295", true, 0xffffffffU }, { "0x100", true, 0x100 },
		{ "0XfF", true, 0xff }, { "0xffffffff", true, 0xffffffffU },
		{ "00000000000000000042", true, 42 },
		{ "", false, 0 }, { "0x", false, 0 }, { "4294967296", false, 0 },
		{ "0x100000000", false, 0 }, { "-1", false, 0 }, { "+5", false, 0 },
		{ " 5", false, 0 }, { "5 ", false, 0 }, { "1_0", false, 0 },
		{ "0b1", false, 0 }, { "12a", false, 0 }, { "0xg", false, 0 },
		{ "99999999999", false, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u32 v = 0x5a5a5a5a;
		bool ok = pdmv2_number_parse(cases[i].in, &v);

		check(ok == cases[i].ok && v == (ok ? cases[i].v : 0x5a5a5a5a),
		      "number \"%s\": %s %u (want %s %u)", cases[i].in,
		      ok ? "ok" : "refused", v, cases[i].ok ? "ok" : "refused",
		      cases[i].v);
	}
}

/* write the vectors' packets, options and headers as fuzz seeds */
static void dump_seeds(const struct json *root, const char *dir)
{
	static const char * const sect[] = { "packets", "options",
					     "malformed", "headers" };
	static const char * const keys[] = { "packet", "option", "option",
					     "existing" };
	unsigned int i, k = 0;

	for (i = 0; i < 4; i++) {
		const struct json *e;

		for (e = json_get(root, sect[i]) ?
			 json_get(root, sect[i])->child : NULL; e;
		     e = e->next) {
			const char *hex = str(e, keys[i]);
			char path[4096];
			u8 *b = NULL, sel;
			long n;
			FILE *f;

			if (!hex || (n = unhex(hex, &b)) < 0)
				continue;
			for (sel = 0; sel < 3; sel++) {
				snprintf(path, sizeof(path), "%s/seed-%03u",
					 dir, k++);
				f = fopen(path, "wb");
				if (!f)
					continue;
				fputc(sel, f);
				fwrite(b, 1, (size_t)n, f);
				fclose(f);
			}
			free(b);
		}
	}
}

static const struct vector_section sections[] = {
	{ "options", test_options, "options" },
	{ "malformed", test_malformed, "malformed" },
	{ "time", test_time, "time" },
	{ "headers", test_headers, "headers" },
	{ "packets", test_packets, "packets" },
	{ "encrypted", test_encrypted, "encrypted" },
};

static void (*const units[])(void) = {
	unit_time, unit_metrics, unit_metrics_answer, unit_gp, unit_walker,
	unit_doh_shrink, unit_exthdr_limit, unit_apply_plan, unit_pending,
	unit_gso_tally, unit_number_parse,
};

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] :
			   "../../test/vectors/pdmv2-options.json";
	const char *seeds = seeds_dir(argc, argv, 2);
	struct json *root;
	char err[128];
	int opened;

	root = json_load(path, err, &opened);
	if (!opened) {
		printf("cannot read %s\n", path);
		check(0, "vectors file");
	} else {
		check(root != NULL, "vectors: %s", root ? "" : err);
	}
	if (root) {
		unsigned long long v;

		check(num(root, "version", &v) && v == 1,
		      "vectors: version 1");
		test_sections(root, "vectors", sections,
			      sizeof(sections) / sizeof(sections[0]));
		if (seeds)
			dump_seeds(root, seeds);
		json_free(root);
	}
	return run_units(units, sizeof(units) / sizeof(units[0]));
}
