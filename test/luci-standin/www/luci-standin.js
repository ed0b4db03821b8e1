'use strict';
// Stand-in for the LuCI client framework (luci-base's luci.js, rpc.js,
// uci.js, form.js, ui.js, view and poll classes): only the documented API the
// pdmv2 views call, written from the LuCI JavaScript API reference, so the
// views run unchanged in a browser against the lab's ubus stand-in. The list
// of calls is in docs/luci.md ("LuCI API the views use"); anything else is
// deliberately missing, so a view using more fails here first.
(function(window, document) {
	var env = {
		ubuspath: '/cgi-bin/ubus',
		resource: '/luci-static/resources',
		pollinterval: 5,
		sessionid: window.sessionStorage.getItem('standin-sid') || '00000000000000000000000000000000'
	};

	// ---- globals: _(), String.prototype.format, E() -----------------------------------------

	window._ = function(s) { return s; };
	window.N_ = function(n, s, p) { return n === 1 ? s : p; };

	// printf-like: %s %d %f %.Nf %x %%, as LuCI's String.prototype.format
	String.prototype.format = function() {
		var args = arguments, i = 0;
		return this.replace(/%(%|(\.(\d+))?([sdfx]))/g, function(m, all, p, prec, conv) {
			if (all === '%')
				return '%';
			var a = args[i++];
			switch (conv) {
			case 's': return a == null ? '' : String(a);
			case 'd': return String(Math.trunc(+a || 0));
			case 'x': return (Math.trunc(+a || 0) >>> 0).toString(16);
			case 'f': return (+a || 0).toFixed(prec != null ? +prec : 6);
			}
		});
	};

	function appendChildren(node, children) {
		if (children == null)
			return;
		if (!Array.isArray(children))
			children = [ children ];
		children.forEach(function(c) {
			if (Array.isArray(c))
				appendChildren(node, c);
			else if (c instanceof Node)
				node.appendChild(c);
			else if (c != null)
				node.appendChild(document.createTextNode(String(c)));
		});
	}

	// E(tag, [attributes], [children]): attributes with function values are event handlers
	window.E = function(tag, attrs, children) {
		var node = document.createElement(tag);
		if (attrs != null && (typeof attrs !== 'object' || Array.isArray(attrs) || attrs instanceof Node)) {
			children = attrs;
			attrs = null;
		}
		Object.keys(attrs || {}).forEach(function(k) {
			var v = attrs[k];
			if (v == null)
				return;
			if (typeof v === 'function')
				node.addEventListener(k, v);
			else if (typeof v === 'object')
				node.setAttribute(k, JSON.stringify(v));
			else
				node.setAttribute(k, v);
		});
		appendChildren(node, children);
		return node;
	};

	// ---- classes -----------------------------------------------------------------------------

	function extend(base, proto) {
		var Sub = function() { return base.apply(this, arguments) || this; };
		Sub.prototype = Object.create(base.prototype);
		Object.keys(proto || {}).forEach(function(k) { Sub.prototype[k] = proto[k]; });
		Sub.prototype.constructor = Sub;
		Sub.prototype.super = function(name, args) { return base.prototype[name].apply(this, args || []); };
		Sub.extend = function(p) { return extend(Sub, p); };
		return Sub;
	}
	var Class = function() {};
	Class.extend = function(p) { return extend(Class, p); };

	// ---- rpc ---------------------------------------------------------------------------------

	var rpcId = 1;
	var UBUS_MESSAGES = [ 'Success', 'Invalid command', 'Invalid argument', 'Method not found', 'Not found', 'No response',
		'Permission denied', 'Request timed out', 'Operation not supported', 'Unknown error', 'Connection failed' ];

	function rpcCall(object, method, args, sid) {
		var req = { jsonrpc: '2.0', id: rpcId++, method: 'call', params: [ sid || env.sessionid, object, method, args || {} ] };
		return fetch(env.ubuspath, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify(req)
		}).then(function(res) {
			if (!res.ok)
				throw new Error('RPC call to %s/%s failed with HTTP error %d'.format(object, method, res.status));
			return res.json();
		}).then(function(msg) {
			if (msg.error) {
				var e = new Error('RPC call to %s/%s failed with error %d: %s'.format(object, method, msg.error.code, msg.error.message));
				e.name = 'RPCError';
				e.code = msg.error.code;
				throw e;
			}
			var r = msg.result;
			if (!Array.isArray(r) || r[0] !== 0) {
				var code = Array.isArray(r) ? r[0] : 9;
				var err = new Error('RPC call to %s/%s failed with ubus code %d: %s'.format(object, method, code, UBUS_MESSAGES[code] || 'Unknown error'));
				err.name = 'RPCError';
				err.ubusCode = code;
				throw err;
			}
			return r[1];
		});
	}

	var rpc = {
		// declare({object, method, params, expect, filter}) -> function(...args): Promise
		declare: function(d) {
			return function() {
				var args = {}, argv = arguments;
				(d.params || []).forEach(function(p, i) { if (argv[i] !== undefined) args[p] = argv[i]; });
				return rpcCall(d.object, d.method, args).then(function(ret) {
					if (d.expect) {
						var key = Object.keys(d.expect)[0];
						if (key !== '' && ret != null)
							ret = ret[key];
						if (ret == null || typeof ret !== typeof d.expect[key])
							ret = d.expect[key];
					}
					return d.filter ? d.filter(ret, args) : ret;
				});
			};
		},
		getSessionID: function() { return env.sessionid; },
		setSessionID: function(sid) { env.sessionid = sid; },
		getBaseURL: function() { return env.ubuspath; }
	};

	// ---- poll --------------------------------------------------------------------------------

	var polled = [];
	var poll = {
		// add(fn, interval): fn runs every interval seconds (LuCI's poll interval by default), never overlapping itself
		add: function(fn, interval) {
			var entry = { fn: fn, interval: (interval || env.pollinterval) * 1000, timer: null };
			var tick = function() {
				Promise.resolve().then(fn).catch(function(e) {
					ui.addNotification(null, E('p', [ e.message ]), 'danger');
				}).then(function() {
					if (polled.indexOf(entry) >= 0)
						entry.timer = window.setTimeout(tick, entry.interval);
				});
			};
			entry.timer = window.setTimeout(tick, entry.interval);
			polled.push(entry);
			return true;
		},
		stopAll: function() {
			polled.forEach(function(e) { window.clearTimeout(e.timer); });
			polled = [];
		}
	};

	// ---- ui ----------------------------------------------------------------------------------

	var ui = {
		addNotification: function(title, children, cls) {
			var box = document.getElementById('notifications');
			var n = E('div', { 'class': 'alert-message ' + (cls || '') }, [
				title ? E('h4', [ title ]) : null,
				children,
				E('button', { 'class': 'btn', 'click': function() { n.remove(); } }, [ _('Dismiss') ])
			]);
			box.appendChild(n);
			return n;
		},
		// a click handler calling ctx[fn](...args, ev); the button stays disabled while it runs
		createHandlerFn: function(ctx, fn) {
			var args = Array.prototype.slice.call(arguments, 2);
			return function(ev) {
				var f = typeof fn === 'function' ? fn : ctx[fn];
				var btn = ev.currentTarget;
				btn.classList.add('spinning');
				return Promise.resolve(f.apply(ctx, args.concat([ ev ]))).finally(function() {
					btn.classList.remove('spinning');
				});
			};
		},
		changes: {
			// commit the session's staged UCI changes; checked: with rollback, confirmed once the page still answers
			apply: function(checked) {
				return rpcCall('uci', 'apply', { rollback: !!checked, timeout: 30 }).then(function() {
					return checked ? rpcCall('uci', 'confirm', {}) : null;
				}).then(function() {
					ui.addNotification(null, E('p', { 'id': 'standin-applied' }, [ _('Configuration changes applied.') ]), 'info');
					return router.show(router.current);
				}, function(e) {
					if (e.ubusCode === 5)
						ui.addNotification(null, E('p', { 'id': 'standin-applied' }, [ _('There are no changes to apply') ]), 'info');
					else
						ui.addNotification(null, E('p', [ _('Apply failed: %s').format(e.message) ]), 'danger');
				});
			}
		}
	};

	// ---- uci ---------------------------------------------------------------------------------

	var uci = {
		state: { values: {}, changes: {} },
		load: function(config) {
			return rpcCall('uci', 'get', { config: config }).then(function(r) {
				uci.state.values[config] = r.values;
				uci.state.changes[config] = {};
				return config;
			});
		},
		get: function(config, section, option) {
			var s = (uci.state.values[config] || {})[section];
			if (!s)
				return null;
			var ch = (uci.state.changes[config] || {})[section] || {};
			if (option == null)
				return s;
			if (Object.prototype.hasOwnProperty.call(ch, option))
				return ch[option];
			return s[option] != null ? s[option] : null;
		},
		set: function(config, section, option, value) {
			var c = (uci.state.changes[config] = uci.state.changes[config] || {});
			(c[section] = c[section] || {})[option] = (value === '' || value == null) ? null : value;
		},
		unset: function(config, section, option) {
			uci.set(config, section, option, null);
		},
		// send the staged values: one `uci set` per section, one `uci delete` for the removed options
		save: function() {
			var calls = [];
			Object.keys(uci.state.changes).forEach(function(config) {
				var c = uci.state.changes[config];
				Object.keys(c).forEach(function(section) {
					var set = {}, del = [];
					Object.keys(c[section]).forEach(function(o) {
						if (c[section][o] == null)
							del.push(o);
						else
							set[o] = c[section][o];
					});
					if (Object.keys(set).length)
						calls.push(rpcCall('uci', 'set', { config: config, section: section, values: set }));
					if (del.length)
						calls.push(rpcCall('uci', 'delete', { config: config, section: section, options: del }));
				});
			});
			return Promise.all(calls).then(function() {
				var configs = Object.keys(uci.state.changes);
				return Promise.all(configs.map(uci.load));
			});
		}
	};

	// ---- form --------------------------------------------------------------------------------

	var AbstractValue = Class.extend({
		__init: function(map, section, name, title, description) {
			this.map = map;
			this.section = section;
			this.option = name;
			this.title = title;
			this.description = description;
			this.rmempty = true;
			this.choices = [];
		},
		cfgvalue: function(section_id) {
			return uci.get(this.map.config, section_id, this.option);
		},
		write: function(section_id, value) {
			return uci.set(this.map.config, section_id, this.option, value);
		},
		remove: function(section_id) {
			return uci.unset(this.map.config, section_id, this.option);
		},
		value: function(key, label) {
			this.choices.push([ key, label != null ? label : key ]);
		},
		id: function(section_id) {
			return 'cbid.%s.%s.%s'.format(this.map.config, section_id, this.option);
		},
		// true or the message of the first invalid value
		check: function(section_id, value) {
			var values = Array.isArray(value) ? value : [ value ];
			for (var i = 0; i < values.length; i++) {
				var r = this.validate ? this.validate(section_id, values[i]) : true;
				if (r !== true)
					return typeof r === 'string' ? r : _('Invalid value');
			}
			return true;
		},
		renderRow: function(section_id) {
			var cfg = this.cfgvalue(section_id);
			if (cfg == null && this.default != null)
				cfg = this.default;
			this.widget = this.renderWidget(section_id, cfg);
			this.errorNode = E('div', { 'class': 'cbi-value-error', 'id': this.id(section_id) + '.error' });
			return E('div', { 'class': 'cbi-value', 'data-name': this.option }, [
				E('label', { 'class': 'cbi-value-title', 'for': this.id(section_id) }, [ this.title ]),
				E('div', { 'class': 'cbi-value-field' }, [
					this.widget, this.errorNode,
					this.description ? E('div', { 'class': 'cbi-value-description' }, [ this.description ]) : null
				])
			]);
		},
		renderWidget: function(section_id, cfg) {
			return E('input', {
				'type': this.password ? 'password' : 'text', 'class': 'cbi-input-text',
				'id': this.id(section_id), 'name': this.id(section_id),
				'value': cfg != null ? cfg : '', 'placeholder': this.placeholder
			});
		},
		formvalue: function() {
			return this.widget.value;
		},
		// validate, then write or remove as LuCI's AbstractValue.parse does
		parse: function(section_id) {
			var fval = this.formvalue(section_id), cval = this.cfgvalue(section_id);
			var empty = fval === '' || fval == null || (Array.isArray(fval) && !fval.length);
			var ok = empty ? true : this.check(section_id, fval);
			if (empty && !this.rmempty && this.validate)
				ok = this.check(section_id, '');
			this.errorNode.textContent = ok === true ? '' : ok;
			this.widget.classList.toggle('cbi-input-invalid', ok !== true);
			if (ok !== true)
				return Promise.reject(new Error(ok));
			if (!empty) {
				if (JSON.stringify(fval) !== JSON.stringify(cval))
					return Promise.resolve(this.write(section_id, fval));
				return Promise.resolve();
			}
			return Promise.resolve(this.rmempty ? this.remove(section_id) : undefined);
		}
	});

	var Value = AbstractValue.extend({});

	var Flag = AbstractValue.extend({
		renderWidget: function(section_id, cfg) {
			return E('input', { 'type': 'checkbox', 'class': 'cbi-input-checkbox', 'id': this.id(section_id), 'name': this.id(section_id),
				'checked': cfg === '1' ? '' : null });
		},
		formvalue: function() {
			return this.widget.checked ? '1' : '0';
		}
	});

	var ListValue = AbstractValue.extend({
		renderWidget: function(section_id, cfg) {
			return E('select', { 'class': 'cbi-input-select', 'id': this.id(section_id), 'name': this.id(section_id) },
				this.choices.map(function(c) {
					return E('option', { 'value': c[0], 'selected': c[0] === cfg ? '' : null }, [ c[1] ]);
				}));
		}
	});

	// one text field per value and an empty one to add a value
	var DynamicList = AbstractValue.extend({
		renderWidget: function(section_id, cfg) {
			var self = this, id = this.id(section_id);
			var values = Array.isArray(cfg) ? cfg : (cfg ? [ cfg ] : []);
			var box = E('div', { 'class': 'cbi-dynlist', 'id': id });
			var add = function(v) {
				box.appendChild(E('input', { 'type': 'text', 'class': 'cbi-input-text', 'name': id, 'value': v, 'placeholder': self.placeholder }));
			};
			values.forEach(add);
			add('');
			box.appendChild(E('button', { 'type': 'button', 'class': 'cbi-button cbi-button-add', 'click': function() { add(''); } }, [ '+' ]));
			return box;
		},
		formvalue: function() {
			return Array.prototype.map.call(this.widget.querySelectorAll('input'), function(i) { return i.value.trim(); })
				.filter(function(v) { return v !== ''; });
		},
		cfgvalue: function(section_id) {
			var v = uci.get(this.map.config, section_id, this.option);
			return v == null ? [] : (Array.isArray(v) ? v : [ v ]);
		}
	});

	var NamedSection = Class.extend({
		__init: function(map, name, type) {
			this.map = map;
			this.section = name;
			this.sectiontype = type;
			this.children = [];
		},
		option: function(Cls, name, title, description) {
			var o = new Cls(this.map, this, name, title, description);
			o.__init(this.map, this, name, title, description);
			this.children.push(o);
			return o;
		},
		render: function() {
			var self = this;
			if (!uci.get(this.map.config, this.section))
				return E('div', { 'class': 'alert-message warning' }, [ _('Section %s of %s does not exist').format(this.section, this.map.config) ]);
			return E('div', { 'class': 'cbi-section', 'id': 'cbi-%s-%s'.format(this.map.config, this.section) },
				this.children.map(function(o) { return o.renderRow(self.section); }));
		},
		parse: function() {
			var self = this;
			return Promise.all(this.children.map(function(o) {
				return o.parse(self.section).then(function() { return null; }, function(e) { return e; });
			})).then(function(errs) {
				var bad = errs.filter(function(e) { return e; });
				if (bad.length)
					throw new Error(_('Some fields are invalid, cannot save values!'));
			});
		}
	});

	var CbiMap = Class.extend({
		__init: function(config, title, description) {
			this.config = config;
			this.title = title;
			this.description = description;
			this.sections = [];
		},
		section: function(Cls, name, type) {
			var s = new Cls(this, name, type);
			s.__init(this, name, type);
			this.sections.push(s);
			return s;
		},
		load: function() {
			return uci.load(this.config);
		},
		render: function() {
			var self = this;
			return this.load().then(function() {
				self.node = E('div', { 'class': 'cbi-map', 'id': 'cbi-' + self.config }, [
					self.title ? E('h2', [ self.title ]) : null,
					self.description ? E('div', { 'class': 'cbi-map-descr' }, [ self.description ]) : null,
					self.sections.map(function(s) { return s.render(); })
				]);
				forms.push(self);
				return self.node;
			});
		},
		// parse every field; nothing is staged or sent unless all are valid
		save: function() {
			var self = this;
			var staged = JSON.stringify(uci.state.changes);
			return Promise.all(this.sections.map(function(s) { return s.parse(); })).then(function() {
				return uci.save();
			}, function(e) {
				uci.state.changes = JSON.parse(staged);
				ui.addNotification(null, E('p', { 'id': 'standin-invalid' }, [ e.message ]), 'danger');
				throw e;
			}).then(function() { return self; });
		}
	});

	function construct(Cls) {
		return function() {
			var o = new Cls();
			o.__init.apply(o, arguments);
			return o;
		};
	}
	var forms = [];
	var form = {
		Map: function(config, title, description) { return construct(CbiMap).call(null, config, title, description); },
		NamedSection: NamedSection,
		Value: Value,
		Flag: Flag,
		ListValue: ListValue,
		DynamicList: DynamicList
	};

	// ---- view --------------------------------------------------------------------------------

	var View = Class.extend({
		load: function() { return Promise.resolve(); },
		render: function() { return E('div'); },
		handleSave: function() {
			return Promise.all(forms.map(function(m) { return m.save(); }));
		},
		handleSaveApply: function(ev, mode) {
			return this.handleSave(ev).then(function() {
				return ui.changes.apply(mode == '0');
			}, function() {});
		},
		handleReset: function() {
			return router.show(router.current);
		}
	});
	var view = { extend: function(p) { return View.extend(p); } };

	// ---- module loading and pages ------------------------------------------------------------

	var modules = { view: view, form: form, rpc: rpc, poll: poll, uci: uci, ui: ui };

	// fetch a view file and run it with its 'require'd modules as LuCI's L.require does
	function loadView(path) {
		return fetch('%s/view/%s.js'.format(env.resource, path), { cache: 'no-store' }).then(function(res) {
			if (!res.ok)
				throw new Error('cannot load view %s: HTTP %d'.format(path, res.status));
			return res.text();
		}).then(function(src) {
			var names = [], re = /^\s*'require ([\w.]+)';\s*$/mg, m;
			while ((m = re.exec(src)) !== null) {
				if (!modules[m[1]])
					throw new Error('view %s requires %s, which the stand-in does not provide'.format(path, m[1]));
				names.push(m[1]);
			}
			var factory = new Function(names.join(','), src + '\n//# sourceURL=' + env.resource + '/view/' + path + '.js');
			return factory.apply(null, names.map(function(n) { return modules[n]; }));
		});
	}

	var L = {
		env: env,
		Class: Class,
		resolveDefault: function(p, def) {
			return Promise.resolve(p).catch(function() { return def; });
		},
		hasViewPermission: function() { return true; }
	};
	window.L = L;

	var router = {
		current: null,
		menu: null,
		shows: 0,
		show: function(path) {
			poll.stopAll();
			forms = [];
			router.current = path;
			// A show that a newer one overtook renders nothing (LuCI's dispatcher shows the
			// last page asked for): its page would replace the newer one's under the user.
			var gen = ++router.shows;
			document.body.setAttribute('data-shows', String(gen));
			var node = router.menu && router.menu[path];
			var target = document.getElementById('view');
			document.body.setAttribute('data-view-state', 'loading');
			if (!node || !node.action || node.action.type !== 'view') {
				target.replaceChildren(E('p', [ _('No page here') ]));
				document.body.setAttribute('data-view-state', 'ready');
				return Promise.resolve();
			}
			document.querySelectorAll('#menu a').forEach(function(a) { a.classList.toggle('active', a.getAttribute('data-path') === path); });
			return loadView(node.action.path).then(function(Cls) {
				var v = new Cls();
				return Promise.resolve(v.load()).then(function(data) {
					return gen === router.shows ? v.render(data) : null;
				}).then(function(content) {
					if (gen !== router.shows)
						return;
					// only this page's forms are saved (an overtaken show may have added its own)
					forms = forms.filter(function(m) { return content.contains && content.contains(m.node); });
					var actions = [];
					if (v.handleSaveApply)
						actions.push(E('button', { 'class': 'cbi-button cbi-button-apply', 'id': 'standin-save-apply',
							'click': ui.createHandlerFn(v, 'handleSaveApply', '0') }, [ _('Save & Apply') ]));
					if (v.handleSave)
						actions.push(E('button', { 'class': 'cbi-button cbi-button-save', 'id': 'standin-save',
							'click': ui.createHandlerFn(v, 'handleSave') }, [ _('Save') ]));
					if (v.handleReset)
						actions.push(E('button', { 'class': 'cbi-button cbi-button-reset', 'id': 'standin-reset',
							'click': ui.createHandlerFn(v, 'handleReset') }, [ _('Reset') ]));
					target.replaceChildren(content, actions.length ? E('div', { 'class': 'cbi-page-actions' }, actions) : '');
					document.body.setAttribute('data-view-state', 'ready');
				});
			}).catch(function(e) {
				if (gen !== router.shows)
					return;
				// what LuCI's dispatcher shows for a view that throws: the error in place of the page
				target.replaceChildren(E('div', { 'class': 'alert-message error', 'id': 'standin-view-error' }, [ e.message ]));
				document.body.setAttribute('data-view-state', 'error');
			});
		}
	};

	function showMenu(nav) {
		nav.replaceChildren.apply(nav, Object.keys(router.menu).sort(function(a, b) {
			return a.split('/').length - b.split('/').length ||
				(router.menu[a].order || 0) - (router.menu[b].order || 0) || a.localeCompare(b);
		}).map(function(path) {
			var item = router.menu[path], leaf = item.action && item.action.type === 'view';
			return E('a', { 'href': '#/' + path, 'data-path': path, 'class': leaf ? 'menu-leaf' : 'menu-top' },
				[ (leaf ? '' : _('Services') + ' → ') + item.title ]);
		}));
	}

	// the menu from the package's menu.d file, filtered by its depends as LuCI's
	// dispatcher does, once per session (LuCI caches its menu index too)
	function buildMenu() {
		var nav = document.getElementById('menu');
		var cached = window.sessionStorage.getItem('standin-menu');
		if (cached) {
			router.menu = JSON.parse(cached);
			showMenu(nav);
			return Promise.resolve();
		}
		return fetch('/luci-standin/menu.json', { cache: 'no-store' }).then(function(r) { return r.json(); }).then(function(tree) {
			var checks = Object.keys(tree).map(function(path) {
				var d = tree[path].depends || {};
				var acl = (d.acl || []).map(function(g) {
					return rpcCall('session', 'access', { scope: 'access-group', object: g, 'function': 'read' })
						.then(function(r) { return r.access; }, function() { return false; });
				});
				var cfg = Object.keys(d.uci || {}).map(function(c) {
					return rpcCall('uci', 'get', { config: c }).then(function() { return true; }, function(e) {
						return e.ubusCode !== 4; // the config exists (it may be broken: the view says so)
					});
				});
				return Promise.all(acl.concat(cfg)).then(function(oks) { return oks.every(Boolean) ? path : null; });
			});
			return Promise.all(checks).then(function(paths) {
				var ok = {};
				paths.forEach(function(p) { if (p) ok[p] = true; });
				router.menu = {};
				Object.keys(tree).forEach(function(path) {
					var parent = path.replace(/\/[^/]+$/, '');
					if (!ok[path] && !ok[parent])
						return;
					if (tree[parent] && !ok[parent])
						return;
					router.menu[path] = tree[path];
				});
				window.sessionStorage.setItem('standin-menu', JSON.stringify(router.menu));
				showMenu(nav);
			});
		});
	}

	function route() {
		var path = window.location.hash.replace(/^#\/?/, '');
		var item = router.menu && router.menu[path];
		if (item && item.action && item.action.type === 'alias') {
			window.location.hash = '#/' + item.action.path;
			return;
		}
		router.show(path);
	}

	function showLogin(message) {
		document.body.setAttribute('data-logged-in', '0');
		document.getElementById('menu').replaceChildren();
		var user = E('input', { 'type': 'text', 'id': 'standin-user', 'name': 'luci_username', 'value': 'root' });
		var pass = E('input', { 'type': 'password', 'id': 'standin-pass', 'name': 'luci_password' });
		var submit = function(ev) {
			ev.preventDefault();
			rpcCall('session', 'login', { username: user.value, password: pass.value }).then(function(r) {
				env.sessionid = r.ubus_rpc_session;
				window.sessionStorage.setItem('standin-sid', env.sessionid);
				start();
			}, function() {
				showLogin(_('Invalid username and/or password! Please try again.'));
			});
		};
		document.getElementById('view').replaceChildren(E('form', { 'id': 'standin-login', 'submit': submit }, [
			E('h2', [ _('Authorization Required') ]),
			message ? E('div', { 'class': 'alert-message error', 'id': 'standin-login-error' }, [ message ]) : null,
			E('label', [ _('Username'), user ]), E('label', [ _('Password'), pass ]),
			E('button', { 'class': 'cbi-button', 'id': 'standin-login-submit', 'type': 'submit' }, [ _('Log in') ])
		]));
		document.body.setAttribute('data-view-state', 'ready');
	}

	function forget() {
		env.sessionid = '00000000000000000000000000000000';
		window.sessionStorage.removeItem('standin-sid');
		window.sessionStorage.removeItem('standin-menu');
		router.menu = null;
		history.replaceState(null, '', window.location.pathname);
	}

	function logout() {
		poll.stopAll();
		var sid = env.sessionid;
		forget();
		showLogin();
		return rpcCall('session', 'destroy', {}, sid).catch(function() {});
	}

	// a stored session that expired or was destroyed: back to the login form, as LuCI does
	function start() {
		if (env.sessionid === '00000000000000000000000000000000')
			return showLogin();
		return rpcCall('session', 'access', { scope: 'ubus', object: 'session', 'function': 'access' }).then(function() {
			document.body.setAttribute('data-logged-in', '1');
			document.getElementById('logout').onclick = logout;
			return buildMenu().then(route);
		}, function() {
			forget();
			showLogin();
		});
	}

	window.addEventListener('hashchange', function() { if (router.menu) route(); });
	document.addEventListener('DOMContentLoaded', start);
})(window, document);
