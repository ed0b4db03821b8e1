'use strict';
'require view';
'require rpc';
'require poll';

// Active flows of the module (/proc/net/pdmv2/flows through `ubus call pdmv2
// flows`) with the round-trip time and server delay the router measures
// itself: its send time of a packet to the peer's answer carrying that
// packet's sequence number, and the server delay the peer reports in it.

var callFlows = rpc.declare({ object: 'pdmv2', method: 'flows' });
var callStatus = rpc.declare({ object: 'pdmv2', method: 'status' });

var PROTOCOLS = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

// an IPv6 address in text as 8 numbers, or null
function parse6(a) {
	var halves = String(a).split('::');
	if (halves.length > 2)
		return null;
	var head = halves[0] ? halves[0].split(':') : [];
	var tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
	var fill = 8 - head.length - tail.length;
	if (fill < 0 || (halves.length === 1 && fill !== 0))
		return null;
	var words = head.concat(new Array(fill).fill('0'), tail).map(function(w) { return /^[0-9a-fA-F]{1,4}$/.test(w) ? parseInt(w, 16) : NaN; });
	return words.some(isNaN) ? null : words;
}

function inPrefix(addr, prefix) {
	var p = String(prefix).split('/'), a = parse6(addr), n = parse6(p[0]), len = +p[1];
	if (!a || !n || !(len >= 0 && len <= 128))
		return false;
	for (var i = 0; i < 8 && len > 0; i++, len -= 16) {
		var mask = len >= 16 ? 0xffff : (0xffff << (16 - len)) & 0xffff;
		if ((a[i] & mask) !== (n[i] & mask))
			return false;
	}
	return true;
}

function endpoint(addr, port, proto) {
	return (proto === 6 || proto === 17 || proto === 132) ? '[%s]:%d'.format(addr, port) : addr;
}

function fmtUs(v) {
	if (typeof v !== 'number')
		return '-';
	return v >= 10000 ? '%.1f ms'.format(v / 1000) : '%.2f ms'.format(v / 1000);
}

function fmtPair(smoothed, last) {
	return (typeof smoothed === 'number' || typeof last === 'number') ? '%s (%s)'.format(fmtUs(smoothed), fmtUs(last)) : '-';
}

return view.extend({
	load: function() {
		return this.fetch();
	},

	fetch: function() {
		return Promise.all([
			callFlows().catch(function(err) { return { error: err.message || String(err) }; }),
			L.resolveDefault(callStatus(), {})
		]);
	},

	direction: function(f, local) {
		if (local.some(function(p) { return inPrefix(f.saddr, p); }))
			return _('outbound');
		if (local.some(function(p) { return inPrefix(f.daddr, p); }))
			return _('inbound');
		return '-';
	},

	renderFlows: function(data) {
		var res = data[0] || {}, st = data[1] || {};
		if (res.error)
			return E('div', { 'class': 'alert-message warning', 'id': 'pdmv2-flows-error' }, [
				_('The pdmv2 service does not answer: %s').format(res.error) ]);
		if (!res.present)
			return E('div', { 'class': 'alert-message warning', 'id': 'pdmv2-flows-error' }, [
				_('The kernel module is not loaded (kmod-pdmv2): no flows') ]);

		var local = (st.granted && st.granted.prefixes) || [];
		var self = this;
		var head = E('tr', { 'class': 'tr table-titles' }, [
			_('Source'), _('Destination'), _('Protocol'), _('Direction'), _('Packets out / in'), _('Last seen'),
			_('Generation / epoch'), _('Round-trip time (last)'), _('Server delay (last)')
		].map(function(t) { return E('th', { 'class': 'th' }, [ t ]); }));
		var rows = (res.flows || []).map(function(f) {
			return E('tr', { 'class': 'tr', 'data-flow': '%s %d %s %d %d'.format(f.saddr, f.sport, f.daddr, f.dport, f.proto) }, [
				endpoint(f.saddr, f.sport, f.proto),
				endpoint(f.daddr, f.dport, f.proto),
				PROTOCOLS[f.proto] || String(f.proto),
				self.direction(f, local),
				'%d / %d'.format(f.tx_packets, f.rx_packets),
				_('%d s ago').format(f.idle_s),
				typeof f.gen === 'number' ? '%d / %d'.format(f.gen, f.epoch) : '-',
				E('span', { 'class': 'pdmv2-rtt', 'data-us': f.rtt_us, 'data-last-us': f.rtt_last_us }, [ fmtPair(f.rtt_us, f.rtt_last_us) ]),
				E('span', { 'class': 'pdmv2-sd', 'data-us': f.sd_us, 'data-last-us': f.sd_last_us }, [ fmtPair(f.sd_us, f.sd_last_us) ])
			].map(function(c) { return E('td', { 'class': 'td' }, [ c ]); }));
		});
		if (!rows.length)
			rows.push(E('tr', { 'class': 'tr placeholder' }, [
				E('td', { 'class': 'td', 'colspan': '9', 'id': 'pdmv2-no-flows' }, [ _('No active flows') ]) ]));
		return E('table', { 'class': 'table', 'id': 'pdmv2-flows-table' }, [ head ].concat(rows));
	},

	render: function(data) {
		var self = this;
		poll.add(function() {
			return self.fetch().then(function(d) {
				var node = document.getElementById('pdmv2-flows');
				if (node)
					node.replaceChildren(self.renderFlows(d));
			});
		});
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', [ _('PDMv2 flows') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Flows the module adds PDMv2 options to. Round-trip time: from the router sending a packet to the peer\'s answer that acknowledges its sequence number; server delay: the time the peer reports between receiving and answering. Smoothed like TCP\'s SRTT (1/8), last sample in brackets.') ]),
			E('div', { 'id': 'pdmv2-flows' }, [ this.renderFlows(data) ])
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
