'use strict';
'require view';
'require rpc';
'require poll';
'require ui';

// Status of the pdmv2 agent and module. Every value comes from one call,
// `ubus call pdmv2 status` (the rpcd plugin of pdmv2d, no secret in it),
// polled at LuCI's poll interval.

var callStatus = rpc.declare({ object: 'pdmv2', method: 'status' });
var callEnroll = rpc.declare({ object: 'pdmv2', method: 'enroll' });

// module counters shown, in this order, with what they mean
var COUNTERS = [
	[ 'inserted', _('Options inserted') ],
	[ 'ingress_verified', _('Peer options verified') ],
	[ 'ingress_tag_failed', _('Verification failures') ],
	[ 'mtu_events', _('MTU events') ],
	[ 'table_full', _('Flow table full') ]
];

function fmtTime(t) {
	if (typeof t !== 'number')
		return '-';
	return new Date(t * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

function fmtAgo(t, now) {
	if (typeof t !== 'number')
		return _('never');
	var s = Math.max(0, Math.round(now - t));
	if (s < 120)
		return _('%d s ago').format(s);
	if (s < 7200)
		return _('%d min ago').format(Math.round(s / 60));
	return _('%d h ago').format(Math.round(s / 3600));
}

function row(id, label, value) {
	return E('tr', { 'class': 'tr' }, [
		E('td', { 'class': 'td left', 'width': '33%' }, [ label ]),
		E('td', { 'class': 'td left', 'id': id }, Array.isArray(value) ? value : [ value ])
	]);
}

function table(rows) {
	return E('table', { 'class': 'table' }, rows);
}

// the enrollment line: state and what the administrator should do about it
function enrollment(st, now) {
	var g = st.granted;
	switch (st.enabled ? st.status : 'disabled') {
	case 'disabled':
		return _('PDMv2 is switched off');
	case 'new':
		return st.fingerprint
			? _('Not enrolled yet (device %s)').format(st.fingerprint)
			: _('Not enrolled yet: the agent has not run on this device');
	case 'pending':
		return [ _('Waiting for approval on the primary. Compare this fingerprint with the one the primary lists:'), ' ',
			E('strong', { 'id': 'pdmv2-fingerprint' }, [ st.fingerprint || '-' ]) ];
	case 'granted': {
		var gens = [];
		(g && g.pairings || []).forEach(function(p) {
			(p.generations || []).forEach(function(x) { gens.push(x.generation); });
		});
		return _('Granted: generation %s, expires %s, next renewal %s').format(
			gens.length ? gens.join(', ') : '-', fmtTime(g && g.expires),
			fmtTime(typeof st.next_attempt === 'number' ? st.next_attempt : (g && g.renew_after)));
	}
	case 'expired':
		return _('The grant expired at %s: no key, nothing measured').format(fmtTime(g && g.expires));
	case 'revoked':
		return _('Revoked by the primary: secrets wiped');
	case 'rejected':
		return _('Rejected by the primary: %s').format(st.last_error ? st.last_error.message : '-');
	default:
		return String(st.status);
	}
}

// what is wrong, in the order an administrator would fix it; [] when nothing
function problems(st) {
	var out = [];
	(st.config_errors || []).forEach(function(e) { out.push(_('Configuration: %s').format(e)); });
	if (st.enabled && !st.running)
		out.push(_('The agent (pdmv2d) is not running: start it with /etc/init.d/pdmv2 start'));
	if (!st.kernel || !st.kernel.present)
		out.push(_('The kernel module is not loaded (kmod-pdmv2): nothing is measured'));
	if (st.enabled && st.last_error)
		out.push(_('Last error: %s: %s (%s)').format(st.last_error.code, st.last_error.message, fmtTime(st.last_error.at)));
	return out;
}

return view.extend({
	load: function() {
		return this.fetch();
	},

	// status, or {error} when the plugin does not answer: the page says so instead of failing
	fetch: function() {
		return callStatus().then(function(st) {
			if (!st || typeof st !== 'object' || st.error)
				return { error: (st && st.error) || _('no answer') };
			return st;
		}, function(err) {
			return { error: err.message || String(err) };
		});
	},

	handleEnroll: function(ev) {
		var self = this;
		ev.target.disabled = true;
		return callEnroll().then(function(r) {
			ui.addNotification(null, E('p', [
				r && r.triggered ? _('Enrollment requested from the agent') : _('Enrollment attempt: %s').format(r && (r.message || r.status) || '-')
			]), 'info');
		}, function(err) {
			ui.addNotification(null, E('p', [ _('Enroll failed: %s').format(err.message || String(err)) ]), 'danger');
		}).then(function() {
			ev.target.disabled = false;
			return self.fetch().then(function(st) { self.update(st); });
		});
	},

	update: function(st) {
		var node = document.getElementById('pdmv2-status');
		if (node)
			node.replaceChildren.apply(node, this.renderStatus(st));
	},

	renderStatus: function(st) {
		if (st.error)
			return [ E('div', { 'class': 'alert-message warning', 'id': 'pdmv2-error' }, [
				_('The pdmv2 service does not answer (is pdmv2d installed, and rpcd restarted?): %s').format(st.error) ]) ];

		var now = Date.now() / 1000;
		var k = st.kernel || {};
		var stats = k.stats || {};
		var skipped = Object.keys(stats).filter(function(n) { return n.indexOf('skip_') === 0 && stats[n] > 0; })
			.map(function(n) { return '%s %d'.format(n.substring(5), stats[n]); });
		var issues = problems(st);
		var answered = st.last_success;
		var out = [];

		if (issues.length)
			out.push(E('div', { 'class': 'alert-message warning', 'id': 'pdmv2-problems' },
				issues.map(function(t) { return E('p', [ t ]); })));

		out.push(E('h3', [ _('Service') ]));
		out.push(table([
			row('pdmv2-enabled', _('PDMv2'), st.enabled ? _('on') : _('off')),
			row('pdmv2-mode', _('Mode'), '%s (%s)'.format(st.mode || '-', st.role || '-')),
			row('pdmv2-daemon', _('Agent'), st.running ? _('running (pid %d)').format(st.pid) : _('not running'))
		]));

		out.push(E('h3', [ _('Enrollment') ]));
		out.push(table([
			row('pdmv2-state', _('State'), enrollment(st, now)),
			row('pdmv2-primary', _('Primary'), st.primary_url || '-'),
			row('pdmv2-answered', _('Primary last answered'), answered
				? '%s (%s)'.format(fmtAgo(answered, now), fmtTime(answered))
				: _('never')),
			row('pdmv2-clock', _('Clock offset to the primary'), _('%d s').format(st.clock_offset || 0))
		]));
		out.push(E('div', { 'class': 'cbi-page-actions' }, [
			E('button', {
				'class': 'cbi-button cbi-button-action',
				'id': 'pdmv2-enroll',
				'disabled': st.enabled ? null : '',
				'click': ui.createHandlerFn(this, 'handleEnroll')
			}, [ _('Enroll now') ])
		]));

		out.push(E('h3', [ _('Kernel module') ]));
		var krows = [
			row('pdmv2-kmod', _('Module'), k.present ? _('loaded, mode %s').format(k.mode || '-') : _('not loaded'))
		];
		if (k.present) {
			COUNTERS.forEach(function(c) {
				krows.push(row('pdmv2-stat-' + c[0], c[1], String(stats[c[0]] != null ? stats[c[0]] : '-')));
			});
			krows.push(row('pdmv2-stat-skipped', _('Options skipped'), skipped.length ? skipped.join(', ') : _('none')));
		}
		out.push(table(krows));
		return out;
	},

	render: function(st) {
		var self = this;
		poll.add(function() {
			return self.fetch().then(function(s) { self.update(s); });
		});
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', [ _('PDMv2 status') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Encrypted IPv6 Performance and Diagnostic Metrics: the router measures round-trip time and server delay of its LAN hosts\' flows; only parties registered with the primary can read the numbers on the wire.') ]),
			E('div', { 'id': 'pdmv2-status' }, this.renderStatus(st))
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
