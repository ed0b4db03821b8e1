'use strict';
'require view';
'require form';
'require uci';

// Settings: a form over UCI pdmv2 (section 'main'). Saved through LuCI's
// save and apply; the change of /etc/config/pdmv2 triggers the init script's
// reload, which signals the agent (docs/agent.md "procd").

var HEX64 = /^[0-9a-fA-F]{64}$/;

// an IPv6 prefix "address/length" without host bits, as the agent accepts it; true or a message
function validPrefix(value) {
	var m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(value);
	if (!m || +m[2] > 128)
		return _('Expecting an IPv6 prefix such as 2001:db8:1::/48');
	var halves = m[1].split('::');
	var head = halves[0] ? halves[0].split(':') : [];
	var tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
	var fill = 8 - head.length - tail.length;
	if (halves.length > 2 || fill < 0 || (halves.length === 1 && fill !== 0))
		return _('Expecting an IPv6 prefix such as 2001:db8:1::/48');
	var words = head.concat(new Array(fill).fill('0'), tail);
	if (!words.every(function(w) { return /^[0-9a-fA-F]{1,4}$/.test(w); }))
		return _('Expecting an IPv6 prefix such as 2001:db8:1::/48');
	var len = +m[2];
	for (var i = 0; i < 8; i++, len -= 16) {
		var keep = len >= 16 ? 0xffff : len <= 0 ? 0 : (0xffff << (16 - len)) & 0xffff;
		if (parseInt(words[i], 16) & ~keep & 0xffff)
			return _('The prefix has host bits set (the address after the length must be zero)');
	}
	return true;
}

return view.extend({
	// a configuration file that cannot be read or parsed: the page says so instead of a form
	load: function() {
		return uci.load('pdmv2').then(function() { return null; }, function(err) { return err; });
	},

	render: function(loadError) {
		var m, s, o;

		if (loadError) {
			this.handleSave = this.handleSaveApply = this.handleReset = null;
			return E('div', { 'class': 'cbi-map' }, [
				E('h2', [ _('PDMv2 settings') ]),
				E('div', { 'class': 'alert-message warning', 'id': 'pdmv2-settings-error' }, [
					_('/etc/config/pdmv2 cannot be read (%s). Fix the file by hand (uci show pdmv2 names the line) or reinstall the package\'s default.').format(loadError.message) ])
			]);
		}

		m = new form.Map('pdmv2', _('PDMv2 settings'),
			_('The agent enrolls this router with a primary, which grants the keys for encrypted PDMv2. Without a token, the administrator of the primary approves the fingerprint shown on the status page.'));

		s = m.section(form.NamedSection, 'main', 'pdmv2');
		s.addremove = false;

		o = s.option(form.Flag, 'enabled', _('Enabled'), _('Off removes every secret from the kernel and stops adding options'));
		o.rmempty = false;

		o = s.option(form.Value, 'primary_url', _('Primary URL'), _('http://host:port or https://…'));
		o.placeholder = 'http://primary.example.net:8600';
		o.validate = function(section_id, value) {
			if (!value)
				return _('The primary URL is required');
			return /^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\/\S*)?$/.test(value)
				? true : _('Expecting http://host:port or https://host:port');
		};

		o = s.option(form.Value, 'primary_key', _('Primary public key'),
			_('64 hexadecimal digits, as `pdmv2-primary info` prints them: compare them out of band'));
		o.validate = function(section_id, value) {
			return HEX64.test(value || '') ? true : _('The primary key must be exactly 64 hexadecimal digits');
		};

		o = s.option(form.ListValue, 'role', _('Role'));
		o.value('client', _('client (router)'));
		o.value('server', _('server'));
		o.default = 'client';

		o = s.option(form.ListValue, 'mode', _('Mode'));
		o.value('encrypted', _('encrypted (needs a grant)'));
		o.value('clear', _('clear'));
		o.value('v1', _('RFC 8250 (v1)'));
		o.default = 'encrypted';

		o = s.option(form.DynamicList, 'prefix', _('Prefixes'), _('IPv6 prefixes this device speaks for'));
		o.validate = function(section_id, value) {
			return value ? validPrefix(value) : true;
		};

		o = s.option(form.DynamicList, 'interface', _('Interfaces'), _('Take the prefixes assigned to these interfaces (e.g. lan)'));
		o.validate = function(section_id, value) {
			return !value || /^[A-Za-z0-9_.-]+$/.test(value) ? true : _('Expecting an interface name');
		};

		// write-only: the stored token is never shown; an empty field keeps it
		o = s.option(form.Value, 'token', _('Enrollment token'), _('One-time token from the primary (pdt-…); leave empty to keep the current one'));
		o.password = true;
		o.placeholder = _('(unchanged)');
		o.cfgvalue = function() {
			return '';
		};
		o.write = function(section_id, value) {
			return uci.set('pdmv2', section_id, 'token', value);
		};
		o.remove = function() {};
		o.validate = function(section_id, value) {
			return !value || /^pdt-[A-Za-z0-9-]+$/.test(value) ? true : _('A token starts with pdt-');
		};

		return m.render();
	}
});
