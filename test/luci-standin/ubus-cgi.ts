// Stand-in for uhttpd's ubus JSON-RPC endpoint with rpcd behind it (docs/luci.md
// "What is stood in"), as a CGI program on QuickJS under BusyBox httpd in the
// lab guest, where the real plugin, agent and module run.
//
// Protocol as uhttpd-mod-ubus speaks it: POST a JSON-RPC 2.0 request (or a
// batch array); method "call" with params [session, object, method, args]
// answers {"result": [ubus status, data?]}; requests the session may not make
// get the JSON-RPC error -32002 "Access denied" (unknown or expired sessions
// too), unknown objects -32000, other methods -32601, malformed JSON -32700,
// malformed requests -32600, malformed params -32602. uhttpd adds the caller's
// session to the arguments as ubus_rpc_session.
//
// Objects: session (login, destroy, access), uci (ubus-uci.ts), and every
// rpcd exec plugin in the plugin directory, run as rpcd runs them: `PLUGIN
// list` for the method names, `PLUGIN call METHOD` with the arguments as JSON
// on stdin; a JSON object on stdout is the reply, other output is
// INVALID_ARGUMENT, no output NO_DATA, a timeout TIMEOUT.
//
// Configuration (environment): STANDIN_ACL_DIR (/usr/share/rpcd/acl.d),
// STANDIN_PLUGIN_DIR (/usr/libexec/rpcd), STANDIN_CONF_DIR (/etc/config),
// STANDIN_INIT_DIR (/etc/init.d), STANDIN_USERS (/etc/config/rpcd),
// STANDIN_STATE (/tmp/luci-standin), STANDIN_EXEC_TIMEOUT_MS (30000),
// STANDIN_RC_COMMON (unset: init scripts run through their own #! line).
import '../../firmware/src/polyfills.js';
import { exit, getenv, readText, sleep, spawn, stat, stdout, writeAtomic } from '../../firmware/src/agent-sys.js';
import { allowed, SESSION_TIMEOUT_S, SessionStore, type Session } from './ubus-session.js';
import { UBUS, UciObject, type UbusReply } from './ubus-uci.js';
import * as std from 'std';
import * as os from 'os';

const env = (name: string, dflt: string): string => getenv(name) || dflt;
const paths = {
  aclDir: env('STANDIN_ACL_DIR', '/usr/share/rpcd/acl.d'),
  users: env('STANDIN_USERS', '/etc/config/rpcd'),
  state: env('STANDIN_STATE', '/tmp/luci-standin'),
};
const pluginDir = env('STANDIN_PLUGIN_DIR', '/usr/libexec/rpcd');
const execTimeoutMs = Number(env('STANDIN_EXEC_TIMEOUT_MS', '30000'));

const RPC_ERRORS = {
  parse: [-32700, 'Parse error'],
  request: [-32600, 'Invalid request'],
  method: [-32601, 'Method not found'],
  params: [-32602, 'Invalid parameters'],
  internal: [-32603, 'Internal error'],
  object: [-32000, 'Object not found'],
  access: [-32002, 'Access denied'],
} as const;
type RpcError = keyof typeof RPC_ERRORS;

function rpcError(id: unknown, e: RpcError): Record<string, unknown> {
  const [code, message] = RPC_ERRORS[e];
  return { jsonrpc: '2.0', id: id ?? null, error: { code, message } };
}

function decode(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

// ---- exec plugins ---------------------------------------------------------------------------

/** Method names of a plugin (`PLUGIN list`), cached by the plugin's mtime as rpcd caches them from its start. */
async function pluginMethods(name: string): Promise<string[] | null> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return null;
  const path = `${pluginDir}/${name}`;
  const st = stat(path);
  if (!st || !(st.mode & 0o111)) return null;
  const cache = `${paths.state}/plugin-${name}.json`;
  const cached = readText(cache);
  if (cached) {
    const c = JSON.parse(cached) as { mtime: number; methods: string[] };
    if (c.mtime === st.mtime) return c.methods;
  }
  const r = await spawn([path, 'list'], { timeoutMs: execTimeoutMs, maxStdout: 65536 });
  let methods: string[] = [];
  try {
    const sig = JSON.parse(decode(r.stdout)) as unknown;
    if (sig && typeof sig === 'object' && !Array.isArray(sig)) methods = Object.keys(sig);
  } catch {
    methods = []; // rpcd registers no object for a plugin whose list is not JSON
  }
  writeAtomic(cache, JSON.stringify({ mtime: st.mtime, methods }), 0o600);
  return methods;
}

async function pluginCall(name: string, method: string, args: Record<string, unknown>): Promise<UbusReply> {
  const input = `${paths.state}/stdin-${(os as { getpid(): number }).getpid()}.json`;
  writeAtomic(input, JSON.stringify(args), 0o600);
  try {
    const r = await spawn([`${pluginDir}/${name}`, 'call', method], { timeoutMs: execTimeoutMs, maxStdout: 1 << 20, stdinFile: input });
    if (r.killed === 'timeout') return [UBUS.TIMEOUT];
    const text = decode(r.stdout).trim();
    if (!text) return [UBUS.NO_DATA];
    try {
      const v = JSON.parse(text) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? [UBUS.OK, v as Record<string, unknown>] : [UBUS.INVALID_ARGUMENT];
    } catch {
      return [UBUS.INVALID_ARGUMENT];
    }
  } finally {
    os.remove(input);
  }
}

// ---- dispatch ---------------------------------------------------------------------------------

const sessions = new SessionStore(paths);
const rcCommon = getenv('STANDIN_RC_COMMON');
const uci = new UciObject({
  confDir: env('STANDIN_CONF_DIR', '/etc/config'),
  state: paths.state,
  initDir: env('STANDIN_INIT_DIR', '/etc/init.d'),
  ...(rcCommon ? { rcCommon } : {}),
});

async function sessionCall(s: Session, method: string, args: Record<string, unknown>): Promise<UbusReply> {
  switch (method) {
    case 'login': {
      const n = sessions.login(args.username, args.password);
      if (!n) return [UBUS.PERMISSION_DENIED];
      return [UBUS.OK, { ubus_rpc_session: n.sid, timeout: SESSION_TIMEOUT_S, expires: SESSION_TIMEOUT_S, acls: n.acls, data: { username: n.username } }];
    }
    case 'destroy':
      sessions.destroy(s);
      return [UBUS.OK];
    case 'access': {
      const { scope, object, function: fn } = args;
      if (typeof scope !== 'string' || typeof object !== 'string' || typeof fn !== 'string') return [UBUS.INVALID_ARGUMENT];
      return [UBUS.OK, { access: allowed(s.acls, scope, object, fn) }];
    }
    default:
      return [UBUS.METHOD_NOT_FOUND];
  }
}

async function handle(req: unknown): Promise<Record<string, unknown>> {
  if (!req || typeof req !== 'object' || Array.isArray(req)) return rpcError(null, 'request');
  const { jsonrpc, id, method, params } = req as Record<string, unknown>;
  if (jsonrpc !== '2.0' || typeof method !== 'string') return rpcError(id, 'request');
  if (method !== 'call') return rpcError(id, 'method');
  if (!Array.isArray(params) || params.length < 3 || params.length > 4) return rpcError(id, 'params');
  const [sid, object, fn, rawArgs] = params as unknown[];
  if (typeof sid !== 'string' || typeof object !== 'string' || typeof fn !== 'string') return rpcError(id, 'params');
  if (rawArgs !== undefined && (rawArgs === null || typeof rawArgs !== 'object' || Array.isArray(rawArgs))) return rpcError(id, 'params');
  const s = sessions.get(sid);
  if (!s || !allowed(s.acls, 'ubus', object, fn)) return rpcError(id, 'access');
  const args = { ...(rawArgs as Record<string, unknown> | undefined), ubus_rpc_session: sid };
  let reply: UbusReply;
  if (object === 'session') reply = await sessionCall(s, fn, args);
  else if (object === 'uci') {
    await uci.expireRollback();
    reply = await uci.call(s, fn, args);
  } else {
    const methods = await pluginMethods(object);
    if (methods === null) return rpcError(id, 'object');
    reply = methods.includes(fn) ? await pluginCall(object, fn, args) : [UBUS.METHOD_NOT_FOUND];
  }
  if (fn !== 'destroy' && sessions.get(sid)) sessions.touch(s);
  return { jsonrpc: '2.0', id: id ?? null, result: reply };
}

/*
 * rpcd answers one request at a time. Here each request is a CGI process of
 * its own, and a session (with its staged UCI changes) is a file that every
 * request reads and writes back: two at once lost one's changes (LuCI sends
 * a save's `uci set` and `uci delete` together, and a switch-off in the lab
 * reached `apply` with only the delete). So requests run one at a time, under
 * a lock directory; one older than the longest call (an apply waits up to
 * 120 s for its reloads) was left by a request that died.
 */
const LOCK_STALE_MS = 180000;

async function oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
  const lock = `${paths.state}/ubus.lock`;
  while ((os.mkdir(lock, 0o700) as number) < 0) {
    const st = stat(lock);
    if (st && Date.now() - st.mtime > LOCK_STALE_MS) os.remove(lock);
    await sleep(5);
  }
  try {
    return await fn();
  } finally {
    os.remove(lock);
  }
}

function respond(status: string, body: unknown): void {
  stdout(`Status: ${status}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\r\n${JSON.stringify(body)}\n`);
}

async function main(): Promise<void> {
  if (getenv('REQUEST_METHOD') !== 'POST') {
    respond('405 Method Not Allowed', rpcError(null, 'request'));
    return;
  }
  const len = Number(getenv('CONTENT_LENGTH') ?? '0');
  const body = len > 0 ? (std as { in: { readAsString(n: number): string } }).in.readAsString(Math.min(len, 1 << 20)) : '';
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch {
    respond('200 OK', rpcError(null, 'parse'));
    return;
  }
  const parsed = req;
  const reply = await oneAtATime(async () => {
    if (!Array.isArray(parsed)) return handle(parsed);
    const out: Record<string, unknown>[] = [];
    for (const r of parsed) out.push(await handle(r));
    return out;
  });
  respond('200 OK', reply);
}

main().then(
  () => exit(0),
  (e: unknown) => {
    respond('500 Internal Server Error', rpcError(null, 'internal'));
    std.err.puts(`ubus stand-in: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    exit(0);
  },
);
