/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pdmv2 data-path core: option codec, time encoding, Destination Options
 * header construction, packet header walker, per-flow metrics and Global
 * Pointer. Pure functions over caller-owned memory: no allocation, no locks,
 * no clock, no kernel API. Compiled into the module and into the user-space
 * test harness (kmod/test/). Normative reference: docs/PROTOCOL.md.
 */
#ifndef PDMV2_CORE_H
#define PDMV2_CORE_H

#include "pdmv2_compat.h"

#define PDMV2_OPT_TYPE		0x0f	/* RFC 8250 PDM option type */
#define PDMV2_VERSION		2

/* Opt Data Len of each format (PROTOCOL.md section 1) */
#define PDMV2_DLEN_V1		10
#define PDMV2_DLEN_DRAFT	18
#define PDMV2_DLEN_CLEAR	22
#define PDMV2_DLEN_ENC		34

/* whole option, type and length octets included */
#define PDMV2_OPT_LEN_V1	(2 + PDMV2_DLEN_V1)
#define PDMV2_OPT_LEN_CLEAR	(2 + PDMV2_DLEN_CLEAR)
#define PDMV2_OPT_LEN_ENC	(2 + PDMV2_DLEN_ENC)
#define PDMV2_OPT_MAX_LEN	PDMV2_OPT_LEN_ENC

#define PDMV2_AAD_LEN		8	/* clear head of the encrypted form */
#define PDMV2_METRICS_LEN	16	/* metrics block, section 1.3 */
#define PDMV2_TAG_LEN		12

/* largest Destination Options header: Hdr Ext Len is one octet */
#define PDMV2_DOH_MAX_LEN	2048

#define PDMV2_NEXTHDR_HOP	0
#define PDMV2_NEXTHDR_TCP	6
#define PDMV2_NEXTHDR_UDP	17
#define PDMV2_NEXTHDR_DCCP	33
#define PDMV2_NEXTHDR_ROUTING	43
#define PDMV2_NEXTHDR_FRAGMENT	44
#define PDMV2_NEXTHDR_ESP	50
#define PDMV2_NEXTHDR_AUTH	51
#define PDMV2_NEXTHDR_ICMPV6	58
#define PDMV2_NEXTHDR_NONE	59
#define PDMV2_NEXTHDR_DEST	60
#define PDMV2_NEXTHDR_SCTP	132
#define PDMV2_NEXTHDR_UDPLITE	136

#define PDMV2_ICMPV6_ECHO_REQUEST	128
#define PDMV2_ICMPV6_ECHO_REPLY		129

enum pdmv2_err {
	PDMV2_OK = 0,
	/* option codec, PROTOCOL.md section 1.6 */
	PDMV2_ERR_TRUNCATED,
	PDMV2_ERR_TRAILING_DATA,
	PDMV2_ERR_NOT_PDM,
	PDMV2_ERR_BAD_LENGTH,
	PDMV2_ERR_BAD_VERSION,
	PDMV2_ERR_RESERVED_NONZERO,
	/* headers and packets */
	PDMV2_ERR_BAD_HEADER,	/* malformed extension header or option TLVs */
	PDMV2_ERR_HAS_PDM,	/* the header already carries a PDM option */
	PDMV2_ERR_TOO_LONG,	/* result would exceed PDMV2_DOH_MAX_LEN */
	PDMV2_ERR_NO_SPACE,	/* caller's buffer too small */
	PDMV2_ERR_BAD_PACKET,	/* shorter than its headers */
	PDMV2_ERR_NEED_MORE,	/* walker needs pkt->need linear octets */
	PDMV2_ERR_NOT_IPV6,
	PDMV2_ERR_BAD_PAYLOAD_LENGTH,
	PDMV2_ERR_JUMBOGRAM,
	/* insertion refused (PROTOCOL.md section 2) */
	PDMV2_ERR_FRAGMENT,	/* fragment that is not atomic */
	PDMV2_ERR_ESP,		/* upper layer hidden by ESP */
	PDMV2_ERR_AH,		/* AH would no longer verify */
	PDMV2_ERR_NO_KEY,	/* no 5-tuple (No Next Header) */
	/* key schedule and sealing (PROTOCOL.md section 5) */
	PDMV2_ERR_TAG_MISMATCH,
	PDMV2_ERR_BAD_AEAD,
	PDMV2_ERR_BAD_PREFIX,
	PDMV2_ERR_BAD_EPOCH,
	PDMV2_ERR_CRYPTO,	/* the backend failed */
	PDMV2_ERR_REPLAYED,	/* PSNTP already seen or too old (ingress) */
	PDMV2_ERR_UNKNOWN_EPOCH,	/* a pairing's flow, no key for the epoch */
	PDMV2_ERR_COUNT
};

const char *pdmv2_err_name(int err);

enum pdmv2_fmt {
	PDMV2_FMT_V1,		/* RFC 8250, 10 */
	PDMV2_FMT_CLEAR,	/* PDMv2 clear, 22 */
	PDMV2_FMT_DRAFT_CLEAR,	/* older draft clear form, 18 (decode only) */
	PDMV2_FMT_ENCRYPTED,	/* PDMv2 encrypted, 34 (clear part only here) */
};

/*
 * Decoded or to-be-encoded option fields. Fields a format does not carry are
 * zero after decoding and ignored when encoding. 16-bit PSNs (v1, draft) sit
 * in the low bits of psntp/psnlr.
 */
struct pdmv2_opt {
	enum pdmv2_fmt fmt;
	u8 version;
	u16 epoch;
	u32 psntp;
	u32 psnlr;
	u32 global_pointer;
	u8 scale_dtlr;
	u8 scale_dtls;
	u16 delta_tlr;
	u16 delta_tls;
	u16 random;		/* draft form: 15-bit random number */
	u8 flag;		/* draft form: low bit */
	bool reserved_nonzero;	/* lenient decode accepted reserved bits */
};

/* Option length (type and length octets included) for an emitted format. */
unsigned int pdmv2_opt_len(enum pdmv2_fmt fmt);

/*
 * Encode @o (formats v1 and clear) into @buf. Returns the option length or 0
 * when the format cannot be emitted or @cap is too small.
 */
unsigned int pdmv2_opt_encode(const struct pdmv2_opt *o, u8 *buf, size_t cap);

/* The eight clear octets of the encrypted form (the AEAD's AAD). */
void pdmv2_opt_encode_aad(u16 epoch, u32 psntp, u8 *aad);

/* The 16-octet metrics block (plaintext of the encrypted form). */
void pdmv2_opt_encode_metrics(const struct pdmv2_opt *o, u8 *block);

/*
 * Decode exactly one option (@len octets, type through last data octet).
 * Never reads outside @buf. @strict rejects non-zero reserved bits;
 * otherwise they set o->reserved_nonzero. Returns PDMV2_OK or an error of
 * PROTOCOL.md section 1.6.
 */
int pdmv2_opt_decode(const u8 *buf, size_t len, bool strict,
		     struct pdmv2_opt *o);

/*
 * Time encoding, PROTOCOL.md section 3, exact, without 128-bit integers.
 * @a holds @n little-endian 32-bit limbs of a duration in attoseconds.
 */
void pdmv2_time_encode_limbs(const u32 *a, unsigned int n,
			     u16 *delta, u8 *scale);
void pdmv2_time_encode_ns(u64 ns, u16 *delta, u8 *scale);

/* Alignment of an option of @opt_len octets: offset mod 8 it must start at. */
unsigned int pdmv2_opt_align(unsigned int opt_len);

/*
 * Where an option goes in a Destination Options header (PROTOCOL.md
 * section 2). keep: octets of the existing header retained (its trailing
 * padding removed), 0 for a new header; opt_off: offset of the option;
 * new_len: length of the resulting header; old_len: existing length.
 */
struct pdmv2_doh_plan {
	u32 keep;
	u32 opt_off;
	u32 new_len;
	u32 old_len;
	u32 opt_len;
};

/*
 * Plan adding an @opt_len octet option to the existing header @hdr of
 * @hdr_len octets (@hdr NULL or @hdr_len 0: create one).
 */
int pdmv2_doh_plan(const u8 *hdr, size_t hdr_len, unsigned int opt_len,
		   struct pdmv2_doh_plan *plan);

/*
 * Write the planned header at @hdr, whose first plan->keep octets already
 * hold the retained part of the existing header. @next_header is used only
 * when a new header is created. Writes plan->new_len octets; @opt must not
 * overlap them.
 */
void pdmv2_doh_write(u8 *hdr, const struct pdmv2_doh_plan *plan,
		     u8 next_header, const u8 *opt);

/* plan + write into a separate buffer (test harness, user space) */
int pdmv2_doh_build(const u8 *existing, size_t existing_len, u8 next_header,
		    const u8 *opt, unsigned int opt_len,
		    u8 *out, size_t cap, size_t *out_len);

/*
 * Walk the option TLVs of a Destination Options header of @len octets.
 * Returns PDMV2_OK or PDMV2_ERR_BAD_HEADER; @pdm_off and @pdm_len get the
 * first PDM option (0 when none). @end_opt gets the end of the last
 * non-padding option (2 when there is none). Any pointer may be NULL.
 */
int pdmv2_doh_scan(const u8 *hdr, size_t len, u32 *pdm_off, u32 *pdm_len,
		   u32 *end_opt);

/* Result of walking an IPv6 packet's header chain. */
#define PDMV2_PKT_FRAG		0x01	/* has a Fragment header */
#define PDMV2_PKT_LATER_FRAG	0x02	/* non-first fragment: no upper layer */
#define PDMV2_PKT_AH		0x04
#define PDMV2_PKT_ESP		0x08
#define PDMV2_PKT_KEY		0x10	/* 5-tuple known (sport/dport valid) */
#define PDMV2_PKT_ATOMIC_FRAG	0x20	/* offset 0 and M = 0 (RFC 6946) */

struct pdmv2_pkt {
	u32 nh_off;	/* octet naming the upper layer (or the final DOH) */
	u32 doh_off;	/* final Destination Options header, 0 if none */
	u32 doh_len;
	u32 l4_off;	/* upper-layer header */
	u32 pdm_off;	/* first PDM option in any DOH, 0 if none */
	u32 pdm_len;
	u32 need;	/* PDMV2_ERR_NEED_MORE: linear octets required */
	u16 sport;	/* host order; ICMPv6 echo: identifier */
	u16 dport;
	u8 proto;	/* upper-layer protocol */
	u8 icmp_type;
	u8 flags;	/* PDMV2_PKT_* */
	u8 exthdrs;	/* extension headers in front of the upper layer */
};

/* the most extension headers a packet the walker accepts may have */
#define PDMV2_MAX_EXTHDRS	31

/*
 * Walk the IPv6 header chain of a packet whose first @avail octets are
 * readable at @pkt and whose total length is @total. Returns PDMV2_OK,
 * PDMV2_ERR_NEED_MORE (make pkt->need octets linear and call again),
 * PDMV2_ERR_BAD_PACKET or PDMV2_ERR_BAD_HEADER.
 */
int pdmv2_pkt_parse(const u8 *pkt, size_t avail, size_t total,
		    struct pdmv2_pkt *info);

/*
 * Check the packet's fixed header against its length @len (payload length,
 * jumbogram, version). The kernel relies on the stack for this.
 */
int pdmv2_pkt_check(const u8 *pkt, size_t len);

/* Where and how an option is inserted into a parsed packet. */
struct pdmv2_ins_plan {
	struct pdmv2_doh_plan doh;
	u32 hdr_off;	/* start of the Destination Options header */
	u32 nh_off;	/* octet set to 60 for a new header */
	int grow;	/* doh.new_len - doh.old_len, may be negative */
	u8 next_header;	/* of a new header */
};

/*
 * Decide whether and where an @opt_len octet option goes into the packet
 * parsed as @info (its octets at @pkt, at least up to the end of the final
 * Destination Options header). Errors: HAS_PDM, AH, ESP, FRAGMENT,
 * BAD_HEADER, TOO_LONG.
 */
int pdmv2_pkt_insert_plan(const u8 *pkt, const struct pdmv2_pkt *info,
			  unsigned int opt_len, struct pdmv2_ins_plan *ip);

/*
 * Insert into a linear packet of @len octets in a buffer of @cap octets
 * (reference for the module's skb version; used by the test harness).
 */
int pdmv2_pkt_insert(u8 *pkt, size_t len, size_t cap, const u8 *opt,
		     unsigned int opt_len, size_t *new_len);

/*
 * Insert as pdmv2_pkt_insert() does, but the way the module grows a packet:
 * at its head, so that the upper layer does not move. The caller has already
 * moved the packet's start ip->grow octets towards the head (grow may be 0
 * or negative): @pkt is the new start, the old one is @pkt + ip->grow, and
 * the octets from the lower of the two to the end of the packet are
 * writable. Moves the ip->hdr_off + ip->doh.keep octets in front of the
 * insertion point to @pkt, writes the new or extended Destination Options
 * header with @opt (ip->doh.opt_len octets, not inside the packet), sets
 * the Next Header in front of a new header to 60 and the Payload Length for
 * the packet's new length @new_len (old length + ip->grow; the caller checks
 * that it is at most 40 + 0xffff). @ip comes from pdmv2_pkt_insert_plan()
 * on the packet before it moved. Cannot fail.
 */
void pdmv2_pkt_apply_plan(u8 *pkt, size_t new_len,
			  const struct pdmv2_ins_plan *ip, const u8 *opt);

/* Per-flow metric state, PROTOCOL.md section 4 (times in nanoseconds). */
#define PDMV2_M_RX	0x1	/* t_last_rx valid */
#define PDMV2_M_TX	0x2	/* t_last_tx valid */
#define PDMV2_M_TX_BEFORE_RX 0x4 /* t_last_tx_before_rx valid */
#define PDMV2_M_PROBE	0x8	/* probe_psn sent at t_probe, not answered yet */
#define PDMV2_M_RTT	0x10	/* srtt and rtt_last valid */
#define PDMV2_M_SD	0x20	/* ssd and sd_last valid */

struct pdmv2_metrics {
	u64 t_last_rx;
	u64 t_last_tx;
	u64 t_last_tx_before_rx;
	u32 psn_next;
	u32 psn_last_rx;
	u32 flags;
	/*
	 * What the router observes: the round-trip time from sending probe_psn
	 * to the peer's first answer carrying it as PSNLR (one probe at a
	 * time, as TCP times one segment per round trip), and the server delay
	 * the peer reports (its DeltaTLR); smoothed by 1/8 like TCP's SRTT.
	 */
	u32 probe_psn;
	u64 t_probe;
	u64 srtt;
	u64 rtt_last;
	u64 ssd;
	u64 sd_last;
};

/* What one sent packet carries. */
struct pdmv2_tx {
	u32 psntp;
	u32 psnlr;
	u16 delta_tlr;
	u16 delta_tls;
	u8 scale_dtlr;
	u8 scale_dtls;
	u8 negative;	/* durations that were negative, encoded as (0, 0) */
};

void pdmv2_metrics_init(struct pdmv2_metrics *m, u32 initial_psn);
void pdmv2_metrics_on_send(struct pdmv2_metrics *m, u64 now,
			   struct pdmv2_tx *tx);
void pdmv2_metrics_on_receive(struct pdmv2_metrics *m, u64 now, u32 psntp);
/*
 * The peer's answer at @now acknowledges @psnlr and reports the server delay
 * @delta_tlr scaled by @scale_dtlr (0: the peer had nothing to report).
 * Call before pdmv2_metrics_on_receive() for the same packet.
 */
void pdmv2_metrics_on_answer(struct pdmv2_metrics *m, u64 now, u32 psnlr,
			     u16 delta_tlr, u8 scale_dtlr);
/* A delta of PROTOCOL.md section 3 in nanoseconds (U64_MAX from 2^62 ns, 146 years, on). */
u64 pdmv2_time_decode_ns(u16 delta, u8 scale);

/* Global Pointer: one counter per source address class. */
struct pdmv2_gp {
	u32 link_local;
	u32 global;
};

void pdmv2_gp_init(struct pdmv2_gp *gp);
bool pdmv2_addr_is_link_local(const u8 *addr);
/* value for a packet from @saddr (16 octets), then advance that counter */
u32 pdmv2_gp_next(struct pdmv2_gp *gp, const u8 *saddr);

/* Fill the option fields for a sent packet. */
void pdmv2_opt_from_tx(struct pdmv2_opt *o, enum pdmv2_fmt fmt, u16 epoch,
		       const struct pdmv2_tx *tx, u32 global_pointer);

/*
 * Options of GSO packets that the kernel segments in software, after this
 * module's hook (kmod/pdmv2_gso.c, docs/kmod.md "GSO"). The packet carries
 * one option: the option of its first segment, but of type
 * PDMV2_OPT_TYPE_PENDING, the RFC 4727 experimental type whose action bits
 * (00, does not change en route) make any receiver skip it, should the
 * packet ever leave unsegmented. As the kernel cuts the packet, segment i
 * gets the PDM type and PSNTP (and, in PDMv2, the Global Pointer) advanced
 * by i (v1 and clear), or the option sealed for it in advance (encrypted:
 * pdmv2_gso.c copies it over the pending one).
 */
#define PDMV2_OPT_TYPE_PENDING	0x1e

/*
 * Find the pending option in the packet at @pkt (@avail linear octets): in
 * the Destination Options header in front of the upper layer, behind
 * Hop-by-Hop, Routing and other Destination Options headers. Returns true
 * with the offsets of the option and of the upper-layer header. Never reads
 * outside @pkt; returns false at once for a packet whose upper layer
 * follows the IPv6 header.
 */
bool pdmv2_pending_find(const u8 *pkt, size_t avail, u32 *opt_off,
			u32 *l4_off);

/*
 * Turn the pending option at @opt (its type and length octets readable)
 * into the option of segment @index. Returns false, changing nothing, if
 * @opt is not a pending v1 or clear option.
 */
bool pdmv2_pending_finish(u8 *opt, u32 index);

/* PSNTP of the pending option at @opt: 32 bits (clear, encrypted) or 16 (v1). */
u32 pdmv2_pending_psntp(const u8 *opt);

/*
 * What becomes of the segments of a GSO packet that the hook armed for
 * @expected segments (it took that many PSNs and Global Pointers, and in
 * encrypted mode sealed that many options) when segmentation produced
 * @produced of them; 0 when the GSO callback handed the packet back whole
 * (a device further on segments it, or it was one segment all along).
 */
struct pdmv2_gso_tally {
	u32 numbered;		/* segments 0 .. numbered - 1 get their option */
	u32 unnumbered;		/* segments (or the whole packet) left pending */
	u32 unused;		/* PSNs taken that no segment carries */
};

void pdmv2_gso_tally(u32 expected, u32 produced, struct pdmv2_gso_tally *t);

/*
 * A number of the control file at @s (NUL-terminated): decimal digits, or
 * "0x" and hex digits; no sign, no blank, at most U32 max. Leading zeros
 * are decimal ("010" is ten, never octal eight). Returns true and the value
 * in @out, or false changing nothing.
 */
bool pdmv2_number_parse(const char *s, u32 *out);

#endif /* PDMV2_CORE_H */
