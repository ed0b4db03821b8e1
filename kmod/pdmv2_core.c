// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2 data-path core. See pdmv2_core.h and docs/PROTOCOL.md.
 *
 * Builds in the kernel and in user space (kmod/test/). Integer arithmetic
 * only, no 64-bit division and no 128-bit types, so that it also builds for
 * 32-bit targets.
 */
#include "pdmv2_core.h"

static const char * const pdmv2_err_names[PDMV2_ERR_COUNT] = {
	[PDMV2_OK] = "OK",
	[PDMV2_ERR_TRUNCATED] = "TRUNCATED",
	[PDMV2_ERR_TRAILING_DATA] = "TRAILING_DATA",
	[PDMV2_ERR_NOT_PDM] = "NOT_PDM",
	[PDMV2_ERR_BAD_LENGTH] = "BAD_LENGTH",
	[PDMV2_ERR_BAD_VERSION] = "BAD_VERSION",
	[PDMV2_ERR_RESERVED_NONZERO] = "RESERVED_NONZERO",
	[PDMV2_ERR_BAD_HEADER] = "BAD_HEADER",
	[PDMV2_ERR_HAS_PDM] = "HAS_PDM",
	[PDMV2_ERR_TOO_LONG] = "TOO_LONG",
	[PDMV2_ERR_NO_SPACE] = "NO_SPACE",
	[PDMV2_ERR_BAD_PACKET] = "BAD_PACKET",
	[PDMV2_ERR_NEED_MORE] = "NEED_MORE",
	[PDMV2_ERR_NOT_IPV6] = "NOT_IPV6",
	[PDMV2_ERR_BAD_PAYLOAD_LENGTH] = "BAD_PAYLOAD_LENGTH",
	[PDMV2_ERR_JUMBOGRAM] = "JUMBOGRAM",
	[PDMV2_ERR_FRAGMENT] = "FRAGMENT",
	[PDMV2_ERR_ESP] = "ESP",
	[PDMV2_ERR_AH] = "AH",
	[PDMV2_ERR_NO_KEY] = "NO_KEY",
	[PDMV2_ERR_TAG_MISMATCH] = "TAG_MISMATCH",
	[PDMV2_ERR_BAD_AEAD] = "BAD_AEAD",
	[PDMV2_ERR_BAD_PREFIX] = "BAD_PREFIX",
	[PDMV2_ERR_BAD_EPOCH] = "BAD_EPOCH",
	[PDMV2_ERR_CRYPTO] = "CRYPTO",
	[PDMV2_ERR_REPLAYED] = "REPLAYED",
	[PDMV2_ERR_UNKNOWN_EPOCH] = "UNKNOWN_EPOCH",
};

const char *pdmv2_err_name(int err)
{
	if (err < 0 || err >= PDMV2_ERR_COUNT)
		return "UNKNOWN";
	return pdmv2_err_names[err];
}

/* ---- option codec ---------------------------------------------------- */

unsigned int pdmv2_opt_len(enum pdmv2_fmt fmt)
{
	switch (fmt) {
	case PDMV2_FMT_V1:
		return PDMV2_OPT_LEN_V1;
	case PDMV2_FMT_CLEAR:
		return PDMV2_OPT_LEN_CLEAR;
	case PDMV2_FMT_ENCRYPTED:
		return PDMV2_OPT_LEN_ENC;
	default:
		return 0;
	}
}

static u16 pdmv2_ver_epoch(u16 epoch)
{
	return (u16)(PDMV2_VERSION << 12 | (epoch & 0x0fff));
}

/* the first eight octets of the PDMv2 forms, Opt Data Len @dlen */
static inline void pdmv2_put_head(u8 *buf, u8 dlen, u16 epoch, u32 psntp)
{
	buf[0] = PDMV2_OPT_TYPE;
	buf[1] = dlen;
	put_unaligned_be16(pdmv2_ver_epoch(epoch), buf + 2);
	put_unaligned_be32(psntp, buf + 4);
}

void pdmv2_opt_encode_aad(u16 epoch, u32 psntp, u8 *aad)
{
	pdmv2_put_head(aad, PDMV2_DLEN_ENC, epoch, psntp);
}

static inline void pdmv2_put_metrics(const struct pdmv2_opt *o, u8 *block)
{
	put_unaligned_be32(o->psnlr, block);
	put_unaligned_be32(o->global_pointer, block + 4);
	block[8] = o->scale_dtlr;
	block[9] = o->scale_dtls;
	block[10] = 0;
	block[11] = 0;
	put_unaligned_be16(o->delta_tlr, block + 12);
	put_unaligned_be16(o->delta_tls, block + 14);
}

void pdmv2_opt_encode_metrics(const struct pdmv2_opt *o, u8 *block)
{
	pdmv2_put_metrics(o, block);
}

unsigned int pdmv2_opt_encode(const struct pdmv2_opt *o, u8 *buf, size_t cap)
{
	switch (o->fmt) {
	case PDMV2_FMT_CLEAR:
		if (cap < PDMV2_OPT_LEN_CLEAR)
			return 0;
		pdmv2_put_head(buf, PDMV2_DLEN_CLEAR, o->epoch, o->psntp);
		pdmv2_put_metrics(o, buf + PDMV2_AAD_LEN);
		return PDMV2_OPT_LEN_CLEAR;
	case PDMV2_FMT_V1:
		if (cap < PDMV2_OPT_LEN_V1)
			return 0;
		buf[0] = PDMV2_OPT_TYPE;
		buf[1] = PDMV2_DLEN_V1;
		buf[2] = o->scale_dtlr;
		buf[3] = o->scale_dtls;
		put_unaligned_be16((u16)o->psntp, buf + 4);
		put_unaligned_be16((u16)o->psnlr, buf + 6);
		put_unaligned_be16(o->delta_tlr, buf + 8);
		put_unaligned_be16(o->delta_tls, buf + 10);
		return PDMV2_OPT_LEN_V1;
	default:
		/* encrypted: sealed by the module's AEAD; draft: never emitted */
		return 0;
	}
}

int pdmv2_opt_decode(const u8 *buf, size_t len, bool strict,
		     struct pdmv2_opt *o)
{
	u16 ve;
	u8 dlen;

	memset(o, 0, sizeof(*o));
	if (len < 2)
		return PDMV2_ERR_TRUNCATED;
	if (buf[0] != PDMV2_OPT_TYPE)
		return PDMV2_ERR_NOT_PDM;
	dlen = buf[1];
	if (dlen != PDMV2_DLEN_V1 && dlen != PDMV2_DLEN_DRAFT &&
	    dlen != PDMV2_DLEN_CLEAR && dlen != PDMV2_DLEN_ENC)
		return PDMV2_ERR_BAD_LENGTH;
	if (len < 2 + (size_t)dlen)
		return PDMV2_ERR_TRUNCATED;
	if (len > 2 + (size_t)dlen)
		return PDMV2_ERR_TRAILING_DATA;

	if (dlen == PDMV2_DLEN_V1) {
		o->fmt = PDMV2_FMT_V1;
		o->version = 1;
		o->scale_dtlr = buf[2];
		o->scale_dtls = buf[3];
		o->psntp = get_unaligned_be16(buf + 4);
		o->psnlr = get_unaligned_be16(buf + 6);
		o->delta_tlr = get_unaligned_be16(buf + 8);
		o->delta_tls = get_unaligned_be16(buf + 10);
		return PDMV2_OK;
	}

	ve = get_unaligned_be16(buf + 2);
	o->version = (u8)(ve >> 12);
	if (o->version != PDMV2_VERSION)
		return PDMV2_ERR_BAD_VERSION;

	if (dlen == PDMV2_DLEN_DRAFT) {
		u16 rnd = get_unaligned_be16(buf + 4);

		o->fmt = PDMV2_FMT_DRAFT_CLEAR;
		o->reserved_nonzero = (ve & 0x0fff) != 0;
		o->random = rnd >> 1;
		o->flag = rnd & 1;
		o->scale_dtlr = buf[6];
		o->scale_dtls = buf[7];
		o->global_pointer = get_unaligned_be32(buf + 8);
		o->psntp = get_unaligned_be16(buf + 12);
		o->psnlr = get_unaligned_be16(buf + 14);
		o->delta_tlr = get_unaligned_be16(buf + 16);
		o->delta_tls = get_unaligned_be16(buf + 18);
	} else {
		o->epoch = ve & 0x0fff;
		o->psntp = get_unaligned_be32(buf + 4);
		if (dlen == PDMV2_DLEN_ENC) {
			o->fmt = PDMV2_FMT_ENCRYPTED;
			return PDMV2_OK;
		}
		o->fmt = PDMV2_FMT_CLEAR;
		o->psnlr = get_unaligned_be32(buf + 8);
		o->global_pointer = get_unaligned_be32(buf + 12);
		o->scale_dtlr = buf[16];
		o->scale_dtls = buf[17];
		o->reserved_nonzero = get_unaligned_be16(buf + 18) != 0;
		o->delta_tlr = get_unaligned_be16(buf + 20);
		o->delta_tls = get_unaligned_be16(buf + 22);
	}
	if (o->reserved_nonzero && strict)
		return PDMV2_ERR_RESERVED_NONZERO;
	return PDMV2_OK;
}

/* ---- time encoding ---------------------------------------------------- */

/* 32 bits of the limb array starting at bit @pos */
static u32 pdmv2_limbs_get(const u32 *a, unsigned int n, unsigned int pos)
{
	unsigned int w = pos / 32, sh = pos % 32;
	u32 lo = w < n ? a[w] : 0;
	u32 hi = w + 1 < n ? a[w + 1] : 0;

	return sh ? (lo >> sh) | (hi << (32 - sh)) : lo;
}

void pdmv2_time_encode_limbs(const u32 *a, unsigned int n,
			     u16 *delta, u8 *scale)
{
	unsigned int bits, s;
	u32 d;

	while (n && !a[n - 1])
		n--;
	if (!n) {
		*delta = 0;
		*scale = 0;
		return;
	}
	bits = (n - 1) * 32 + pdmv2_fls32(a[n - 1]);
	if (bits <= 16) {
		*delta = (u16)a[0];
		*scale = 0;
		return;
	}
	s = bits - 16;
	/* (A + 2^(s-1)) >> s == (A >> s) + bit (s - 1) of A */
	d = (pdmv2_limbs_get(a, n, s) & 0xffff) +
	    (pdmv2_limbs_get(a, n, s - 1) & 1);
	if (d == 0x10000) {
		d = 0x8000;
		s++;
	}
	if (s > 255) {
		*delta = 0xffff;
		*scale = 255;
		return;
	}
	*delta = (u16)d;
	*scale = (u8)s;
}

/*
 * Per-packet deltas are almost always below 2^34 ns (17 s), where A fits in
 * 64 bits: same rounding as the limb path, a fraction of the instructions.
 * Returns false for a delta of 2^34 ns or more, which it leaves alone.
 */
static inline bool pdmv2_time_encode_fast(u64 ns, u16 *delta, u8 *scale)
{
	unsigned int s;
	u64 as;
	u32 d;

	if (ns >= (1ULL << 34))
		return false;
	if (!ns) {
		*delta = 0;
		*scale = 0;
		return true;
	}
	as = ns * 1000000000U;
	/* A >= 10^9 > 2^29: always more than 16 significant bits */
	s = pdmv2_fls64(as) - 16;
	/* (A + 2^(s-1)) >> s, from the 17 bits of A >> (s - 1) */
	d = ((u32)(as >> (s - 1)) + 1) >> 1;
	if (d == 0x10000) {
		d = 0x8000;
		s++;
	}
	*delta = (u16)d;
	*scale = (u8)s;
	return true;
}

void pdmv2_time_encode_ns(u64 ns, u16 *delta, u8 *scale)
{
	/* A = ns * 10^9 < 2^94: three limbs from 32x32->64 products */
	const u32 giga = 1000000000U;
	u64 lo, hi;
	u32 a[3];

	if (pdmv2_time_encode_fast(ns, delta, scale))
		return;
	lo = (u64)(u32)ns * giga;
	hi = (u64)(u32)(ns >> 32) * giga + (lo >> 32);
	a[0] = (u32)lo;
	a[1] = (u32)hi;
	a[2] = (u32)(hi >> 32);
	pdmv2_time_encode_limbs(a, 3, delta, scale);
}

/* ---- Destination Options header --------------------------------------- */

unsigned int pdmv2_opt_align(unsigned int opt_len)
{
	/* PDM v1 has 16-bit fields: 8n+2; PDMv2 forms: 8n+4 */
	return opt_len == PDMV2_OPT_LEN_V1 ? 2 : 4;
}

/*
 * Octets of the option TLV at @off of an options header of @len octets (1
 * for Pad1), or 0 when it runs past the header.
 */
static inline size_t pdmv2_tlv_len(const u8 *hdr, size_t len, size_t off)
{
	size_t olen;

	if (hdr[off] == 0)	/* Pad1 */
		return 1;
	if (len - off < 2)
		return 0;
	olen = 2 + (size_t)hdr[off + 1];
	return olen > len - off ? 0 : olen;
}

int pdmv2_doh_scan(const u8 *hdr, size_t len, u32 *pdm_off, u32 *pdm_len,
		   u32 *end_opt)
{
	size_t off = 2, end = 2, poff = 0, plen = 0;

	if (len < 2)
		return PDMV2_ERR_BAD_HEADER;
	while (off < len) {
		size_t olen = pdmv2_tlv_len(hdr, len, off);
		u8 type = hdr[off];

		if (!olen)
			return PDMV2_ERR_BAD_HEADER;
		if (type > 1) {		/* not Pad1 or PadN */
			end = off + olen;
			if (type == PDMV2_OPT_TYPE) {
				if (poff)	/* never two PDM options */
					return PDMV2_ERR_BAD_HEADER;
				poff = off;
				plen = olen;
			}
		}
		off += olen;
	}
	if (pdm_off)
		*pdm_off = (u32)poff;
	if (pdm_len)
		*pdm_len = (u32)plen;
	if (end_opt)
		*end_opt = (u32)end;
	return PDMV2_OK;
}

int pdmv2_doh_plan(const u8 *hdr, size_t hdr_len, unsigned int opt_len,
		   struct pdmv2_doh_plan *plan)
{
	unsigned int align = pdmv2_opt_align(opt_len);
	u32 pos, end;

	memset(plan, 0, sizeof(*plan));
	plan->opt_len = opt_len;
	if (hdr && hdr_len) {
		u32 pdm = 0;
		int err;

		if (hdr_len < 8 || hdr_len > PDMV2_DOH_MAX_LEN ||
		    hdr_len != ((size_t)hdr[1] + 1) * 8)
			return PDMV2_ERR_BAD_HEADER;
		err = pdmv2_doh_scan(hdr, hdr_len, &pdm, NULL, &plan->keep);
		if (err)
			return err;
		if (pdm)
			return PDMV2_ERR_HAS_PDM;
		plan->old_len = (u32)hdr_len;
		pos = plan->keep;
	} else {
		pos = 2;
	}
	plan->opt_off = pos + ((align + 8 - (pos & 7)) & 7);
	end = plan->opt_off + opt_len;
	plan->new_len = (end + 7) & ~7U;
	if (plan->new_len > PDMV2_DOH_MAX_LEN)
		return PDMV2_ERR_TOO_LONG;
	return PDMV2_OK;
}

/*
 * Pad1 or PadN of @n < 8 octets (all the planner ever needs) over octets
 * that are already zero: only a PadN's type and length are written.
 */
static void pdmv2_pad(u8 *p, u32 n)
{
	if (n >= 2) {
		p[0] = 1;		/* PadN */
		p[1] = (u8)(n - 2);
	}
}

/* the option, with a fixed-size copy for the lengths the module emits */
static void pdmv2_opt_copy(u8 *dst, const u8 *opt, u32 len)
{
	switch (len) {
	case PDMV2_OPT_LEN_CLEAR:
		memcpy(dst, opt, PDMV2_OPT_LEN_CLEAR);
		break;
	case PDMV2_OPT_LEN_ENC:
		memcpy(dst, opt, PDMV2_OPT_LEN_ENC);
		break;
	case PDMV2_OPT_LEN_V1:
		memcpy(dst, opt, PDMV2_OPT_LEN_V1);
		break;
	default:
		memcpy(dst, opt, len);
		break;
	}
}

static inline void __pdmv2_doh_write(u8 *hdr,
				     const struct pdmv2_doh_plan *plan,
				     u8 next_header, const u8 *opt)
{
	/* read once: the header's octets may alias the plan */
	u32 pos = plan->keep ? plan->keep : 2, opt_off = plan->opt_off;
	u32 opt_len = plan->opt_len, new_len = plan->new_len;
	u32 end = opt_off + opt_len;

	if (!plan->keep)
		hdr[0] = next_header;
	hdr[1] = (u8)(new_len / 8 - 1);
	/*
	 * Either padding is shorter than 8 octets, so it lies in the 8 octets
	 * from @pos or in the last 8: zero those, the option goes over them.
	 */
	if (new_len - pos >= 8) {
		memset(hdr + pos, 0, 8);
		memset(hdr + new_len - 8, 0, 8);
	} else {
		memset(hdr + pos, 0, new_len - pos);
	}
	pdmv2_pad(hdr + pos, opt_off - pos);
	pdmv2_pad(hdr + end, new_len - end);
	pdmv2_opt_copy(hdr + opt_off, opt, opt_len);
}

void pdmv2_doh_write(u8 *hdr, const struct pdmv2_doh_plan *plan,
		     u8 next_header, const u8 *opt)
{
	__pdmv2_doh_write(hdr, plan, next_header, opt);
}

int pdmv2_doh_build(const u8 *existing, size_t existing_len, u8 next_header,
		    const u8 *opt, unsigned int opt_len,
		    u8 *out, size_t cap, size_t *out_len)
{
	struct pdmv2_doh_plan plan;
	int err;

	err = pdmv2_doh_plan(existing, existing_len, opt_len, &plan);
	if (err)
		return err;
	if (cap < plan.new_len)
		return PDMV2_ERR_NO_SPACE;
	if (plan.keep)
		memcpy(out, existing, plan.keep);
	pdmv2_doh_write(out, &plan, next_header, opt);
	*out_len = plan.new_len;
	return PDMV2_OK;
}

/* ---- packet header walker --------------------------------------------- */

/*
 * Are octets [0, @x) there (@avail <= @total)? 0: yes; PDMV2_ERR_NEED_MORE:
 * make info->need octets linear and call again; @beyond: the packet is
 * shorter than that.
 */
static int pdmv2_need(size_t x, size_t avail, size_t total, int beyond,
		      struct pdmv2_pkt *info)
{
	if (x <= avail)
		return 0;
	if (x > total)
		return beyond;
	info->need = (u32)x;
	return PDMV2_ERR_NEED_MORE;
}

/* 5-tuple of the upper layer at @off; a short upper layer leaves it unknown */
static inline int pdmv2_pkt_upper(const u8 *p, size_t avail, size_t total,
				  size_t off, struct pdmv2_pkt *info)
{
	const int short_l4 = -1;	/* upper layer cut short: no 5-tuple */
	int r;

	switch (info->proto) {
	case PDMV2_NEXTHDR_TCP:
	case PDMV2_NEXTHDR_UDP:
		r = pdmv2_need(off + 4, avail, total, short_l4, info);
		if (r)
			return r == short_l4 ? PDMV2_OK : r;
		info->sport = get_unaligned_be16(p + off);
		info->dport = get_unaligned_be16(p + off + 2);
		break;
	case PDMV2_NEXTHDR_ICMPV6:
		r = pdmv2_need(off + 8, avail, total, short_l4, info);
		if (r)
			return r == short_l4 ? PDMV2_OK : r;
		info->icmp_type = p[off];
		/* echo: the identifier stands in for both ports */
		if (info->icmp_type == PDMV2_ICMPV6_ECHO_REQUEST ||
		    info->icmp_type == PDMV2_ICMPV6_ECHO_REPLY) {
			info->sport = get_unaligned_be16(p + off + 4);
			info->dport = info->sport;
		}
		break;
	case PDMV2_NEXTHDR_NONE:
		return PDMV2_OK;
	default:
		/* ports are zero for everything else */
		break;
	}
	info->flags |= PDMV2_PKT_KEY;
	return PDMV2_OK;
}

/* headers the walker steps over, and ESP, where it stops */
static bool pdmv2_is_exthdr(u8 nh)
{
	switch (nh) {
	case PDMV2_NEXTHDR_HOP:
	case PDMV2_NEXTHDR_ROUTING:
	case PDMV2_NEXTHDR_DEST:
	case PDMV2_NEXTHDR_FRAGMENT:
	case PDMV2_NEXTHDR_AUTH:
	case PDMV2_NEXTHDR_ESP:
		return true;
	default:
		return false;
	}
}

/*
 * The extension headers from the first one, @nh, at octet 40. Out of line:
 * its registers would otherwise be saved on the common path too.
 */
static noinline int pdmv2_pkt_walk(const u8 *p, size_t avail, size_t total,
				   u8 nh, struct pdmv2_pkt *info)
{
	const int bad = PDMV2_ERR_BAD_PACKET;
	size_t off = 40, hlen;
	unsigned int i;
	int r;
	u16 frag;

	for (i = 0; i <= PDMV2_MAX_EXTHDRS; i++) {
		/* a DOH counts as final only if the upper layer follows it */
		if (nh == PDMV2_NEXTHDR_HOP ||
		    nh == PDMV2_NEXTHDR_ROUTING || nh == PDMV2_NEXTHDR_DEST ||
		    nh == PDMV2_NEXTHDR_FRAGMENT || nh == PDMV2_NEXTHDR_AUTH) {
			info->doh_off = 0;
			info->doh_len = 0;
		}
		switch (nh) {
		case PDMV2_NEXTHDR_HOP:
			if (off != 40)
				return PDMV2_ERR_BAD_HEADER;
			fallthrough;
		case PDMV2_NEXTHDR_ROUTING:
		case PDMV2_NEXTHDR_DEST:
			r = pdmv2_need(off + 2, avail, total, bad, info);
			if (r)
				return r;
			hlen = ((size_t)p[off + 1] + 1) * 8;
			r = pdmv2_need(off + hlen, avail, total, bad, info);
			if (r)
				return r;
			if (nh != PDMV2_NEXTHDR_ROUTING) {
				u32 poff, plen;

				if (pdmv2_doh_scan(p + off, hlen, &poff, &plen,
						   NULL))
					return PDMV2_ERR_BAD_HEADER;
				if (nh == PDMV2_NEXTHDR_DEST && poff) {
					if (info->pdm_off)
						return PDMV2_ERR_BAD_HEADER;
					info->pdm_off = (u32)off + poff;
					info->pdm_len = plen;
				}
			}
			if (nh == PDMV2_NEXTHDR_DEST) {
				info->doh_off = (u32)off;
				info->doh_len = (u32)hlen;
			}
			break;
		case PDMV2_NEXTHDR_FRAGMENT:
			hlen = 8;
			r = pdmv2_need(off + hlen, avail, total, bad, info);
			if (r)
				return r;
			info->flags |= PDMV2_PKT_FRAG;
			info->flags &= ~PDMV2_PKT_ATOMIC_FRAG;
			frag = get_unaligned_be16(p + off + 2);
			if (frag & 0xfff8) {
				info->flags |= PDMV2_PKT_LATER_FRAG;
				info->proto = p[off];
				info->nh_off = (u32)off;
				info->l4_off = (u32)(off + hlen);
				return PDMV2_OK;
			}
			if (!(frag & 1))
				info->flags |= PDMV2_PKT_ATOMIC_FRAG;
			break;
		case PDMV2_NEXTHDR_AUTH:
			r = pdmv2_need(off + 2, avail, total, bad, info);
			if (r)
				return r;
			hlen = ((size_t)p[off + 1] + 2) * 4;
			r = pdmv2_need(off + hlen, avail, total, bad, info);
			if (r)
				return r;
			info->flags |= PDMV2_PKT_AH;
			break;
		case PDMV2_NEXTHDR_ESP:
			info->flags |= PDMV2_PKT_ESP;
			info->doh_off = 0;
			info->doh_len = 0;
			info->proto = nh;
			info->l4_off = (u32)off;
			return PDMV2_OK;
		default:
			info->proto = nh;
			info->l4_off = (u32)off;
			return pdmv2_pkt_upper(p, avail, total, off, info);
		}
		info->nh_off = (u32)off;
		info->exthdrs++;
		nh = p[off];
		off += hlen;
	}
	return PDMV2_ERR_BAD_HEADER;
}

int pdmv2_pkt_parse(const u8 *p, size_t avail, size_t total,
		    struct pdmv2_pkt *info)
{
	int r;
	u8 nh;

	memset(info, 0, sizeof(*info));
	if (avail > total)
		avail = total;
	r = pdmv2_need(40, avail, total, PDMV2_ERR_BAD_PACKET, info);
	if (r)
		return r;
	if ((p[0] >> 4) != 6)
		return PDMV2_ERR_NOT_IPV6;
	nh = p[6];
	info->nh_off = 6;
	if (pdmv2_is_exthdr(nh))
		return pdmv2_pkt_walk(p, avail, total, nh, info);
	/* the common case: the upper layer right behind the IPv6 header */
	info->proto = nh;
	info->l4_off = 40;
	return pdmv2_pkt_upper(p, avail, total, 40, info);
}

int pdmv2_pkt_check(const u8 *pkt, size_t len)
{
	u16 plen;

	if (len < 40)
		return PDMV2_ERR_BAD_PACKET;
	if ((pkt[0] >> 4) != 6)
		return PDMV2_ERR_NOT_IPV6;
	plen = get_unaligned_be16(pkt + 4);
	if (!plen && pkt[6] == PDMV2_NEXTHDR_HOP)
		return PDMV2_ERR_JUMBOGRAM;
	if (40 + (size_t)plen != len)
		return PDMV2_ERR_BAD_PAYLOAD_LENGTH;
	return PDMV2_OK;
}

int pdmv2_pkt_insert_plan(const u8 *pkt, const struct pdmv2_pkt *info,
			  unsigned int opt_len, struct pdmv2_ins_plan *ip)
{
	int err;

	memset(ip, 0, sizeof(*ip));
	if (info->pdm_off)
		return PDMV2_ERR_HAS_PDM;
	if (info->flags & PDMV2_PKT_AH)
		return PDMV2_ERR_AH;
	if (info->flags & PDMV2_PKT_ESP)
		return PDMV2_ERR_ESP;
	if ((info->flags & PDMV2_PKT_FRAG) &&
	    !(info->flags & PDMV2_PKT_ATOMIC_FRAG))
		return PDMV2_ERR_FRAGMENT;
	/* one more header would make a chain the walker itself refuses */
	if (!info->doh_off && info->exthdrs >= PDMV2_MAX_EXTHDRS)
		return PDMV2_ERR_TOO_LONG;
	if (info->doh_off) {
		ip->hdr_off = info->doh_off;
		err = pdmv2_doh_plan(pkt + info->doh_off, info->doh_len,
				     opt_len, &ip->doh);
	} else {
		ip->hdr_off = info->l4_off;
		ip->nh_off = info->nh_off;
		ip->next_header = info->proto;
		err = pdmv2_doh_plan(NULL, 0, opt_len, &ip->doh);
	}
	if (err)
		return err;
	ip->grow = (int)ip->doh.new_len - (int)ip->doh.old_len;
	return PDMV2_OK;
}

int pdmv2_pkt_insert(u8 *pkt, size_t len, size_t cap, const u8 *opt,
		     unsigned int opt_len, size_t *new_len)
{
	struct pdmv2_ins_plan ip;
	struct pdmv2_pkt info;
	size_t tail_off, out_len;
	int err;

	err = pdmv2_pkt_check(pkt, len);
	if (err)
		return err;
	err = pdmv2_pkt_parse(pkt, len, len, &info);
	if (err)
		return err;
	err = pdmv2_pkt_insert_plan(pkt, &info, opt_len, &ip);
	if (err)
		return err;
	out_len = len + ip.grow;
	if (out_len - 40 > 0xffff)
		return PDMV2_ERR_TOO_LONG;
	if (out_len > cap)
		return PDMV2_ERR_NO_SPACE;
	/* move everything behind the (old) header, then write the header */
	tail_off = ip.hdr_off + ip.doh.old_len;
	memmove(pkt + tail_off + ip.grow, pkt + tail_off, len - tail_off);
	pdmv2_doh_write(pkt + ip.hdr_off, &ip.doh, ip.next_header, opt);
	if (!ip.doh.old_len)
		pkt[ip.nh_off] = PDMV2_NEXTHDR_DEST;
	put_unaligned_be16((u16)(out_len - 40), pkt + 4);
	*new_len = out_len;
	return PDMV2_OK;
}

/*
 * pdmv2_pkt_apply_plan() for @move octets in front of the insertion point
 * that change place (0 when grow is 0). The Destination Options header is
 * written last: the octets it covers may be some of those moved.
 */
static inline void pdmv2_apply(u8 *pkt, size_t new_len,
			       const struct pdmv2_ins_plan *ip, const u8 *opt,
			       u32 move)
{
	u8 tmp[40];

	if (move == sizeof(tmp)) {
		/* the IPv6 header alone: a fixed-size copy via registers */
		memcpy(tmp, pkt + ip->grow, sizeof(tmp));
		memcpy(pkt, tmp, sizeof(tmp));
	} else if (move) {
		memmove(pkt, pkt + ip->grow, move);
	}
	if (!ip->doh.old_len)
		pkt[ip->nh_off] = PDMV2_NEXTHDR_DEST;
	put_unaligned_be16((u16)(new_len - 40), pkt + 4);
	__pdmv2_doh_write(pkt + ip->hdr_off, &ip->doh, ip->next_header, opt);
}

/* extension headers in front of the insertion point: a variable move */
static noinline void pdmv2_apply_any(u8 *pkt, size_t new_len,
				     const struct pdmv2_ins_plan *ip,
				     const u8 *opt, u32 move)
{
	pdmv2_apply(pkt, new_len, ip, opt, move);
}

void pdmv2_pkt_apply_plan(u8 *pkt, size_t new_len,
			  const struct pdmv2_ins_plan *ip, const u8 *opt)
{
	/* the headers in front of the insertion point follow the new start */
	u32 move = ip->grow ? ip->hdr_off + ip->doh.keep : 0;

	/* the common cases without a call, so without saving registers */
	if (move == 40)
		pdmv2_apply(pkt, new_len, ip, opt, 40);
	else if (!move)
		pdmv2_apply(pkt, new_len, ip, opt, 0);
	else
		pdmv2_apply_any(pkt, new_len, ip, opt, move);
}

/* ---- per-flow metrics ------------------------------------------------- */

void pdmv2_metrics_init(struct pdmv2_metrics *m, u32 initial_psn)
{
	memset(m, 0, sizeof(*m));
	m->psn_next = initial_psn;
}

/* both durations of @tx the exact way */
static noinline void pdmv2_tx_encode_ns(struct pdmv2_tx *tx, u64 tlr, u64 tls)
{
	pdmv2_time_encode_ns(tlr, &tx->delta_tlr, &tx->scale_dtlr);
	pdmv2_time_encode_ns(tls, &tx->delta_tls, &tx->scale_dtls);
}

void pdmv2_metrics_on_send(struct pdmv2_metrics *m, u64 now,
			   struct pdmv2_tx *tx)
{
	u64 tlr = 0, tls = 0;	/* 0 when unknown or negative */

	memset(tx, 0, sizeof(*tx));
	tx->psntp = m->psn_next++;
	tx->psnlr = m->psn_last_rx;

	if (m->flags & PDMV2_M_RX) {
		if (now >= m->t_last_rx)
			tlr = now - m->t_last_rx;
		else
			tx->negative++;
		if (m->flags & PDMV2_M_TX_BEFORE_RX) {
			if (m->t_last_rx >= m->t_last_tx_before_rx)
				tls = m->t_last_rx - m->t_last_tx_before_rx;
			else
				tx->negative++;
		}
	}
	m->t_last_tx = now;
	m->flags |= PDMV2_M_TX;
	if (!(m->flags & PDMV2_M_PROBE)) {
		m->probe_psn = tx->psntp;
		m->t_probe = now;
		m->flags |= PDMV2_M_PROBE;
	}
	/* the usual durations inline; the call for the others comes last */
	if (!pdmv2_time_encode_fast(tlr, &tx->delta_tlr, &tx->scale_dtlr) ||
	    !pdmv2_time_encode_fast(tls, &tx->delta_tls, &tx->scale_dtls))
		pdmv2_tx_encode_ns(tx, tlr, tls);
}

u64 pdmv2_time_decode_ns(u16 delta, u8 scale)
{
	/* delta * 2^scale attoseconds; 2^48 as = 281474.976710656 ns */
	if (scale < 48)
		return div_u64((u64)delta << scale, 1000000000U);
	if (scale - 48 > 63 - 16 - 19)
		return U64_MAX;
	return ((u64)delta << (scale - 48)) * 281475;
}

/* TCP's SRTT smoothing: 7/8 of the old value and 1/8 of the sample */
static u64 pdmv2_smooth(u64 avg, u64 sample, bool valid)
{
	return valid ? avg - (avg >> 3) + (sample >> 3) : sample;
}

void pdmv2_metrics_on_answer(struct pdmv2_metrics *m, u64 now, u32 psnlr,
			     u16 delta_tlr, u8 scale_dtlr)
{
	if (m->flags & PDMV2_M_PROBE) {
		s32 ahead = (s32)(psnlr - m->probe_psn);

		if (!ahead && now >= m->t_probe) {
			m->rtt_last = now - m->t_probe;
			m->srtt = pdmv2_smooth(m->srtt, m->rtt_last,
					       m->flags & PDMV2_M_RTT);
			m->flags |= PDMV2_M_RTT;
		}
		/* answered, or a later packet was: time the next one sent */
		if (ahead >= 0)
			m->flags &= ~PDMV2_M_PROBE;
	}
	if (delta_tlr) {
		m->sd_last = pdmv2_time_decode_ns(delta_tlr, scale_dtlr);
		m->ssd = pdmv2_smooth(m->ssd, m->sd_last, m->flags & PDMV2_M_SD);
		m->flags |= PDMV2_M_SD;
	}
}

void pdmv2_metrics_on_receive(struct pdmv2_metrics *m, u64 now, u32 psntp)
{
	m->psn_last_rx = psntp;
	m->t_last_rx = now;
	m->flags |= PDMV2_M_RX;
	if (m->flags & PDMV2_M_TX) {
		m->t_last_tx_before_rx = m->t_last_tx;
		m->flags |= PDMV2_M_TX_BEFORE_RX;
	}
}

/* ---- Global Pointer --------------------------------------------------- */

void pdmv2_gp_init(struct pdmv2_gp *gp)
{
	gp->link_local = 1;
	gp->global = 1;
}

bool pdmv2_addr_is_link_local(const u8 *addr)
{
	return addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80;
}

u32 pdmv2_gp_next(struct pdmv2_gp *gp, const u8 *saddr)
{
	u32 *ctr = pdmv2_addr_is_link_local(saddr) ? &gp->link_local
						   : &gp->global;

	return (*ctr)++;
}

void pdmv2_opt_from_tx(struct pdmv2_opt *o, enum pdmv2_fmt fmt, u16 epoch,
		       const struct pdmv2_tx *tx, u32 global_pointer)
{
	/* every field, without a memset first */
	o->fmt = fmt;
	o->version = fmt == PDMV2_FMT_V1 ? 1 : PDMV2_VERSION;
	o->epoch = epoch;
	o->psntp = tx->psntp;
	o->psnlr = tx->psnlr;
	o->global_pointer = global_pointer;
	o->scale_dtlr = tx->scale_dtlr;
	o->scale_dtls = tx->scale_dtls;
	o->delta_tlr = tx->delta_tlr;
	o->delta_tls = tx->delta_tls;
	o->random = 0;
	o->flag = 0;
	o->reserved_nonzero = false;
}

/* ---- options of GSO packets segmented later --------------------------- */

/* a pending option's offset in the Destination Options header @hdr, or 0 */
static u32 pdmv2_pending_scan(const u8 *hdr, size_t len)
{
	size_t off = 2;

	while (off < len) {
		size_t olen = pdmv2_tlv_len(hdr, len, off);

		if (!olen)
			return 0;
		if (hdr[off] == PDMV2_OPT_TYPE_PENDING &&
		    (olen == PDMV2_OPT_LEN_CLEAR || olen == PDMV2_OPT_LEN_V1 ||
		     olen == PDMV2_OPT_LEN_ENC))
			return (u32)off;
		off += olen;
	}
	return 0;
}

bool pdmv2_pending_find(const u8 *pkt, size_t avail, u32 *opt_off,
			u32 *l4_off)
{
	size_t off = 40;
	unsigned int i;
	u8 nh;

	if (avail < 40)
		return false;
	nh = pkt[6];
	for (i = 0; i <= PDMV2_MAX_EXTHDRS; i++) {
		size_t len;
		u32 opt;
		u8 next;

		/* the common packet: upper layer right behind the IPv6 header */
		if (nh != PDMV2_NEXTHDR_DEST && nh != PDMV2_NEXTHDR_ROUTING &&
		    (nh != PDMV2_NEXTHDR_HOP || i))
			return false;
		if (avail - off < 2)
			return false;
		next = pkt[off];
		len = ((size_t)pkt[off + 1] + 1) * 8;
		if (len > avail - off)
			return false;
		if (nh == PDMV2_NEXTHDR_DEST && !pdmv2_is_exthdr(next)) {
			opt = pdmv2_pending_scan(pkt + off, len);
			if (!opt)
				return false;
			*opt_off = (u32)off + opt;
			*l4_off = (u32)(off + len);
			return true;
		}
		off += len;
		nh = next;
	}
	return false;
}

bool pdmv2_pending_finish(u8 *opt, u32 index)
{
	if (opt[0] != PDMV2_OPT_TYPE_PENDING)
		return false;
	switch (opt[1]) {
	case PDMV2_DLEN_CLEAR:
		put_unaligned_be32(get_unaligned_be32(opt + 4) + index, opt + 4);
		put_unaligned_be32(get_unaligned_be32(opt + 12) + index,
				   opt + 12);
		break;
	case PDMV2_DLEN_V1:
		put_unaligned_be16((u16)(get_unaligned_be16(opt + 4) + index),
				   opt + 4);
		break;
	default:
		return false;
	}
	opt[0] = PDMV2_OPT_TYPE;
	return true;
}

u32 pdmv2_pending_psntp(const u8 *opt)
{
	return opt[1] == PDMV2_DLEN_V1 ? get_unaligned_be16(opt + 4) :
					 get_unaligned_be32(opt + 4);
}

void pdmv2_gso_tally(u32 expected, u32 produced, struct pdmv2_gso_tally *t)
{
	/*
	 * Handed back whole: as one segment only if it was armed for one; a
	 * device that cuts it further copies the option into every segment.
	 */
	if (!produced) {
		t->numbered = expected == 1;
		t->unnumbered = !t->numbered;
		t->unused = expected - t->numbered;
		return;
	}
	/* segments beyond the PSNs taken would take the flow's next ones */
	t->numbered = produced < expected ? produced : expected;
	t->unnumbered = produced - t->numbered;
	t->unused = expected - t->numbered;
}

bool pdmv2_number_parse(const char *s, u32 *out)
{
	unsigned int base = 10, digit, n = 0;
	u32 v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s; s++, n++) {
		if (*s >= '0' && *s <= '9')
			digit = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			digit = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			digit = *s - 'A' + 10;
		else
			return false;
		if (v > (0xffffffffU - digit) / base)
			return false;
		v = v * base + digit;
	}
	if (!n)
		return false;
	*out = v;
	return true;
}
