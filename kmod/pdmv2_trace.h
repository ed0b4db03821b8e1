/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pdmv2 tracepoint: the fields of every option the module emits, before
 * sealing, so that a capture can be checked against what the module meant
 * to send (the lab decrypts captures and compares). Metrics only, never key
 * material; tracefs is root-only.
 *
 *   echo 1 > /sys/kernel/tracing/events/pdmv2/pdmv2_emit/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pdmv2

#if !defined(PDMV2_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define PDMV2_TRACE_H

#include <linux/tracepoint.h>
#include <net/net_namespace.h>

#include "pdmv2.h"

TRACE_EVENT(pdmv2_emit,
	TP_PROTO(const struct net *net, const struct pdmv2_flow_key *key,
		 const struct pdmv2_opt *o),
	TP_ARGS(net, key, o),
	TP_STRUCT__entry(
		__field(u32, net)
		__array(u8, src, 16)
		__array(u8, dst, 16)
		__field(u16, sport)
		__field(u16, dport)
		__field(u8, proto)
		__field(u8, fmt)
		__field(u16, epoch)
		__field(u32, psntp)
		__field(u32, psnlr)
		__field(u32, gp)
		__field(u8, scale_dtlr)
		__field(u8, scale_dtls)
		__field(u16, delta_tlr)
		__field(u16, delta_tls)
	),
	TP_fast_assign(
		__entry->net = net->ns.inum;
		memcpy(__entry->src, &key->saddr, 16);
		memcpy(__entry->dst, &key->daddr, 16);
		__entry->sport = key->sport;
		__entry->dport = key->dport;
		__entry->proto = key->proto;
		__entry->fmt = o->fmt;
		__entry->epoch = o->epoch;
		__entry->psntp = o->psntp;
		__entry->psnlr = o->psnlr;
		__entry->gp = o->global_pointer;
		__entry->scale_dtlr = o->scale_dtlr;
		__entry->scale_dtls = o->scale_dtls;
		__entry->delta_tlr = o->delta_tlr;
		__entry->delta_tls = o->delta_tls;
	),
	TP_printk("fmt=%s net=%u src=%pI6c sport=%u dst=%pI6c dport=%u proto=%u epoch=%#x psntp=%u psnlr=%u gp=%u scale_dtlr=%u delta_tlr=%u scale_dtls=%u delta_tls=%u",
		  __print_symbolic(__entry->fmt,
				   { PDMV2_FMT_V1, "v1" },
				   { PDMV2_FMT_CLEAR, "clear" },
				   { PDMV2_FMT_ENCRYPTED, "encrypted" }),
		  __entry->net, __entry->src, __entry->sport, __entry->dst,
		  __entry->dport, __entry->proto, __entry->epoch,
		  __entry->psntp, __entry->psnlr, __entry->gp,
		  __entry->scale_dtlr, __entry->delta_tlr,
		  __entry->scale_dtls, __entry->delta_tls)
);

#endif /* PDMV2_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pdmv2_trace
#include <trace/define_trace.h>
