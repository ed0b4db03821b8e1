// The agent: enrollment attempts and what follows from their answers
// (install, wipe, schedule), the daemon loop with its timers and signals,
// and the status the CLI and rpcd show. See docs/agent.md.
import { toHex } from '../../core/src/util/bytes.js';
import { formatPrefix } from '../../core/src/wire/addr.js';
import { buildEnrollRequest, describeRejection, EnrollClientError, plainError, readEnrollResponse } from '../../core/src/enroll/client.js';
import type { EnrollResponse, Grant } from '../../core/src/enroll/messages.js';
import { configFromText, type AgentConfig } from './agent-config.js';
import { agentSuites } from './agent-kem.js';
import { renewalTime } from './agent-schedule.js';
import { httpPost, HttpError } from './agent-http.js';
import {
  batch,
  hexMark,
  kernelWarnings,
  kernelWrites,
  markWriters,
  nextPlanChange,
  nftRuleset,
  nftTableId,
  NFT_REMOVE,
  planFromGrant,
  WIPE_WRITES,
  type InstalledPlan,
} from './agent-kmod.js';
import { epochLines, epochsToRestore, readModuleEpochs, readSavedEpochs, saveEpochs } from './agent-epochs.js';
import { clockBehind, emptyState, installedRecord, loadDeviceKey, loadState, removeLegacyState, saveGrant, saveRunState, type AgentState, type DeviceKey } from './agent-state.js';
import {
  clearTimer,
  isFile,
  mkdirs,
  monoMs,
  onSignal,
  pid,
  processAlive,
  readBytes,
  readText,
  removeFile,
  setTimer,
  sleep,
  SIGHUP,
  SIGINT,
  SIGTERM,
  SIGUSR1,
  spawn,
  stderr,
  SysError,
  wallSeconds,
  which,
  writeAtomic,
  writeOnce,
} from './agent-sys.js';
import { randomBytes } from './qjs-runtime.js';

export const AGENT_VERSION = '0.1.0';
const MAX_TIMER_S = 3600;
/** A jump of the wall clock against the monotonic one beyond this is a clock step (NTP, date -s), seconds. */
const CLOCK_STEP_S = 5;

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export function log(level: LogLevel, msg: string): void {
  stderr(`pdmv2d: ${level}: ${msg}\n`);
}

/** Uniform in [0, 1) from the system RNG. */
function unit(): number {
  const b = randomBytes(4);
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 2 ** 32;
}

export interface AttemptResult {
  readonly status: 'granted' | 'pending' | 'revoked' | 'rejected' | 'error';
  readonly code?: string;
  readonly message: string;
}

export function loadConfig(path: string): AgentConfig {
  const text = readText(path);
  if (text === null) throw new SysError(`cannot read ${path}`);
  return configFromText(text, path);
}

function maskedPrefix(address: string, length: number): string | null {
  const m = /^([0-9a-fA-F:]+)$/.exec(address);
  if (!m || !Number.isInteger(length) || length < 0 || length > 128) return null;
  const groups = address.split('::');
  const head = groups[0] ? groups[0].split(':') : [];
  const tail = groups.length > 1 && groups[1] ? groups[1].split(':') : [];
  const all = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  if (all.length !== 8) return null;
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    const v = parseInt(g || '0', 16);
    bytes[2 * i] = v >> 8;
    bytes[2 * i + 1] = v & 0xff;
  });
  for (let bit = length; bit < 128; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return formatPrefix({ address: bytes, length });
}

/** Prefixes assigned to OpenWrt interfaces (ubus call network.interface.NAME status). */
export async function interfacePrefixes(names: readonly string[]): Promise<string[]> {
  await null; // nothing may throw before the first await on qjs (see httpPost)
  const out: string[] = [];
  for (const name of names) {
    if (!which('ubus')) throw new SysError(`interface '${name}' configured but ubus is not available`);
    const r = await spawn(['ubus', 'call', `network.interface.${name}`, 'status'], { timeoutMs: 5000, maxStdout: 65536 });
    if (r.code !== 0) throw new SysError(`ubus: no status for interface '${name}'`);
    const st = JSON.parse(String.fromCharCode(...r.stdout)) as Record<string, unknown>;
    for (const key of ['ipv6-prefix-assignment', 'ipv6-prefix']) {
      const list = st[key];
      if (!Array.isArray(list)) continue;
      for (const e of list as { address?: unknown; mask?: unknown }[]) {
        if (typeof e.address !== 'string' || typeof e.mask !== 'number') continue;
        const p = maskedPrefix(e.address, e.mask);
        if (p && !out.includes(p) && !p.startsWith('fe80:')) out.push(p);
      }
    }
  }
  return out;
}

export class Agent {
  cfg: AgentConfig;
  key: DeviceKey;
  state: AgentState;
  private timer: unknown = null;
  /** The plan last written to the kernel by this process (null: unknown, write everything). */
  private lastPlan: string | null = null;
  private busy = false;
  private again = false;
  private pendingPolls = 0;
  private stopping = false;
  /** This process as the daemon (pid and start time): in the status file while it runs. */
  private daemon: DaemonId | null = null;
  /** grantContent of what flash holds: a save writes flash only when the grant differs from it. */
  private flashGrant: string;
  /** No run-time state of this boot: the first enrollment attempt comes before installing a saved grant. */
  private readonly fresh: boolean;
  private legacy: boolean;
  /** Wall minus monotonic clock, s, when last looked at: tells a clock step. */
  private clockBase = wallSeconds() - monoMs() / 1000;
  /** The nft table id (nftTableId) last found loaded, to log a repair once. */
  private nftSeen: string | null | undefined = undefined;
  private nftError = '';

  constructor(readonly configPath: string) {
    this.cfg = loadConfig(configPath);
    this.key = loadDeviceKey(this.cfg.stateDir);
    if (this.key.warning) log('warn', this.key.warning);
    if (this.key.created) log('info', `created device key ${this.cfg.stateDir}/device.key, fingerprint ${this.key.fingerprint}`);
    const loaded = loadState(this.cfg.stateDir, this.cfg.runDir, this.key.fingerprint, this.primaryKeyHex());
    if (loaded.warning) log('warn', loaded.warning);
    this.state = loaded.state;
    this.flashGrant = loaded.flashGrant;
    this.fresh = loaded.fresh;
    this.legacy = loaded.legacy;
  }

  primaryKeyHex(): string {
    return this.cfg.primaryKey ? toHex(this.cfg.primaryKey) : '';
  }

  /** Best estimate of the primary's clock, seconds. */
  primaryNow(): number {
    return wallSeconds() + this.state.clock_offset;
  }

  /**
   * Run-time state to run_dir (tmpfs) every time; the grant to flash only when it changed;
   * and the secret-free status file the rpcd plugin reads (no qjs per poll).
   */
  save(): void {
    saveRunState(this.cfg.runDir, this.state);
    this.flashGrant = saveGrant(this.cfg.stateDir, this.state, this.flashGrant);
    if (this.legacy) removeLegacyState(this.cfg.stateDir);
    this.legacy = false;
    writeStatusFile(this.cfg, this.state, this.key.fingerprint, this.daemon);
  }

  /**
   * A step of the wall clock (NTP after boot, date -s): the primary's time
   * learned before it stays what it was (the offset absorbs the step) and
   * the planned attempt keeps its moment.
   */
  private followClockStep(): void {
    const base = wallSeconds() - monoMs() / 1000;
    const step = base - this.clockBase;
    this.clockBase = base;
    if (Math.abs(step) < CLOCK_STEP_S) return;
    log('info', `the local clock stepped by ${Math.round(step)} s${this.state.clock_source === 'primary' ? '; the primary\'s time is kept' : ''}`);
    if (this.state.clock_source === 'primary') this.state.clock_offset = Math.round(this.state.clock_offset - step);
    if (this.state.next_attempt !== null) this.state.next_attempt = Math.round(this.state.next_attempt + step);
  }

  private fail(code: string, message: string): void {
    this.state.last_error = { code, message, at: Math.floor(wallSeconds()) };
    log('warn', `${code}: ${message}`);
  }

  private backoff(retryAfter?: number): number {
    const base = Math.min(this.cfg.retryMax, this.cfg.retryMin * 2 ** Math.min(this.state.failures, 16));
    const d = Math.max(retryAfter ?? 0, base * (0.75 + 0.5 * unit()));
    return Math.min(Math.max(d, 1), Math.max(this.cfg.retryMax, retryAfter ?? 0));
  }

  // ---- kernel and nftables ------------------------------------------------------------------

  /** Brings the kernel and the ruleset in line with the current grant at the current time. */
  async reconcile(): Promise<void> {
    const usable = this.cfg.enabled && !clockBehind(this.state, wallSeconds()) ? this.state.grant : null;
    const plan = planFromGrant(usable, this.cfg.mode, this.primaryNow());
    const prev: InstalledPlan = this.state.installed;
    const planText = JSON.stringify(plan);
    const k = kernelConfig(this.cfg.control);
    // Unchanged plan: write nothing, unless the module says it lost its state (reloaded) or its mark mask changed.
    const same = planText === this.lastPlan && (k.mode ?? plan.mode) === plan.mode && (plan.mode === 'off' || (k.markMask ?? this.cfg.mark) === this.cfg.mark);
    const writes = same ? [] : kernelWrites(prev, plan);
    // The module acts on packets whose mark has a bit of its mark_mask: the bit the nft table sets.
    if (!same && plan.mode !== 'off' && k.markMask !== this.cfg.mark) writes.unshift(`mark_mask ${hexMark(this.cfg.mark)}\n`);
    // A module that lost its epoch memory (reloaded) gets the copy back before any key.
    const held = writes.length && plan.keys.length ? readModuleEpochs(this.cfg.control) : null;
    const restore = held ? epochsToRestore(readSavedEpochs(this.cfg.runDir), held) : [];
    if (restore.length) {
      writes.unshift(...batch(epochLines(restore)));
      log('info', `epoch memory of ${restore.length} pairing(s) written back into the module`);
    }
    try {
      for (const w of writes) writeOnce(this.cfg.control, w);
      this.state.installed = installedRecord(plan);
      this.lastPlan = planText;
    } catch (e) {
      this.lastPlan = null;
      const se = e as SysError;
      this.fail('KERNEL', `${se.message}${se.errno === 2 ? ' (is the pdmv2 kernel module loaded?)' : ''}`);
    }
    this.copyEpochs();
    const g = plan.mode === 'off' ? null : this.state.grant;
    await this.applyNft(g ? nftRuleset(g.role, g.prefixes, uniq(g.pairings.flatMap((p) => p.peer_prefixes)), this.cfg.mark) : NFT_REMOVE);
  }

  /**
   * Makes the loaded table what `text` defines: checks what nft has loaded
   * (the table's content id), not what was last written, so a failed load,
   * `nft flush ruleset` or another program deleting the table is repaired
   * at the next check.
   */
  private async applyNft(text: string): Promise<void> {
    try {
      mkdirs(this.cfg.nftFile.slice(0, this.cfg.nftFile.lastIndexOf('/')) || '/', 0o755);
      if (readText(this.cfg.nftFile) !== text) writeAtomic(this.cfg.nftFile, text, 0o644);
      if (!this.cfg.nft) return;
      if (!which(this.cfg.nft)) {
        this.nftFail(`${this.cfg.nft} not found; ruleset written to ${this.cfg.nftFile} only`);
        return;
      }
      const want = nftTableId(text);
      const listed = await spawn([this.cfg.nft, '-t', 'list', 'table', 'inet', 'pdmv2'], { timeoutMs: 10000, maxStdout: 1 << 20 });
      const have = listed.code === 0 ? nftTableId(String.fromCharCode(...listed.stdout)) : null;
      if (have === want) {
        this.nftSeen = have;
        this.nftError = '';
        return;
      }
      if (this.nftSeen === want && want !== null) log('warn', `table inet pdmv2 ${have === null ? 'is gone' : 'was changed'} (nft flush ruleset?): loading it again`);
      const r = await spawn([this.cfg.nft, '-f', this.cfg.nftFile], { timeoutMs: 10000, maxStdout: 65536 });
      if (r.code !== 0) {
        this.nftFail(`nft -f ${this.cfg.nftFile} failed: ${r.stderr.trim().slice(0, 300)}`);
        return;
      }
      this.nftSeen = want;
      this.nftError = '';
      if (want !== null) await this.checkMarkOverlap();
    } catch (e) {
      this.nftFail((e as Error).message);
    }
  }

  /** Reports an nft failure once while it stays the same (the next check retries). */
  private nftFail(message: string): void {
    this.nftSeen = undefined;
    if (message === this.nftError) {
      // logged already; a renewal in between cleared last_error, which status must still show
      if (!this.state.last_error) this.state.last_error = { code: 'NFT', message, at: Math.floor(wallSeconds()) };
      return;
    }
    this.nftError = message;
    this.fail('NFT', message);
  }

  /** Other tables that set or clear the agent's mark bit (docs/agent.md "Packet mark"). */
  private async checkMarkOverlap(): Promise<void> {
    const r = await spawn([this.cfg.nft, 'list', 'ruleset'], { timeoutMs: 10000, maxStdout: 4 << 20 });
    if (r.code !== 0) return;
    const conflicts = markWriters(String.fromCharCode(...r.stdout))
      .filter((w) => (w.bits & this.cfg.mark) !== 0)
      .map((w) => `table ${w.table} changes mark bits ${hexMark(w.bits)}, which include the agent's ${hexMark(this.cfg.mark)}`);
    if (conflicts.join() !== this.state.mark_conflicts.join()) for (const c of conflicts) log('warn', `${c}: choose another option mark`);
    this.state.mark_conflicts = conflicts;
  }

  /**
   * Copies the module's epoch memory into run_dir (tmpfs), merged with what is there.
   * After a wipe the copy is complete: without keys no flow takes an epoch.
   */
  private copyEpochs(): void {
    try {
      const held = readModuleEpochs(this.cfg.control);
      if (held === null) return;
      mkdirs(this.cfg.runDir, 0o755);
      saveEpochs(this.cfg.runDir, held);
    } catch (e) {
      log('warn', `epoch memory not copied: ${(e as Error).message}`);
    }
  }

  /** Takes every secret out of the kernel and the ruleset, and (unless keeping it) out of flash. */
  async wipe(forgetGrant: boolean): Promise<void> {
    this.wipeKernel();
    if (forgetGrant) this.state.grant = null;
    await this.applyNft(NFT_REMOVE);
  }

  /** The keys out of the kernel at once: no await, so nothing runs between the decision and the write. */
  private wipeKernel(): void {
    this.lastPlan = null;
    try {
      for (const w of WIPE_WRITES) writeOnce(this.cfg.control, w);
      this.state.installed = { mode: 'off', keys: [], peers: [] };
    } catch (e) {
      this.fail('KERNEL', (e as Error).message);
    }
    // after the wipe no flow takes an epoch: this copy of the memory is complete
    this.copyEpochs();
  }

  // ---- enrollment --------------------------------------------------------------------------

  async resolvePrefixes(): Promise<string[]> {
    const fromIf = this.cfg.interfaces.length ? await interfacePrefixes(this.cfg.interfaces) : [];
    return uniq([...this.cfg.prefixes, ...fromIf]);
  }

  /** One enrollment exchange with everything that follows from its answer. Never throws. */
  async attempt(): Promise<AttemptResult> {
    const now = (): number => Math.floor(wallSeconds());
    this.state.last_attempt = now();
    const result = await this.exchange(true);
    if ((result.status === 'error' && result.code !== 'RELOADED') || result.status === 'rejected') this.state.failures++;
    this.save();
    return result;
  }

  private async exchange(mayRetryClock: boolean): Promise<AttemptResult> {
    const now = (): number => Math.floor(wallSeconds());
    const c = this.cfg;
    if (!c.enabled) return { status: 'error', code: 'DISABLED', message: 'the agent is disabled (uci set pdmv2.main.enabled=1)' };
    if (c.errors.length > 0 || !c.primaryKey) {
      this.fail('CONFIG', c.errors.join('; '));
      this.state.next_attempt = null;
      return { status: 'error', code: 'CONFIG', message: c.errors.join('; ') };
    }
    let prefixes: string[];
    try {
      prefixes = await this.resolvePrefixes();
    } catch (e) {
      this.fail('CONFIG', (e as Error).message);
      this.state.next_attempt = now() + this.backoff();
      return { status: 'error', code: 'CONFIG', message: (e as Error).message };
    }
    const device = { sk: this.key.sk, pk: this.key.pk };
    const sent = buildEnrollRequest({
      device,
      primaryPk: c.primaryKey,
      role: c.role,
      prefixes,
      ...(c.token ? { token: c.token } : {}),
      agent: `pdmv2d/${AGENT_VERSION}`,
      now: this.primaryNow(),
      random: randomBytes,
      suites: agentSuites,
    });
    let resp: EnrollResponse;
    try {
      const http = await httpPost(`${c.primaryUrl}/v1/enroll`, sent.envelope, {
        client: c.httpClient,
        timeoutSec: c.httpTimeout,
        maxBytes: c.maxResponse,
        tmpDir: c.runDir,
      });
      if (http.status !== 200) throw plainError(http.status, String.fromCharCode(...http.body.subarray(0, 64)), http.retryAfter);
      resp = readEnrollResponse({ body: http.body, sent, device, primaryPk: c.primaryKey, suites: agentSuites });
    } catch (e) {
      if (this.cfg !== c) return reloadedMidway();
      const code = e instanceof EnrollClientError ? e.code : e instanceof HttpError ? 'UNREACHABLE' : 'ERROR';
      const retry = e instanceof EnrollClientError ? e.retryAfter : undefined;
      this.fail(code, `${(e as Error).message}${this.state.grant ? '; keeping the current secrets until they expire' : '; nothing installed'}`);
      this.state.next_attempt = now() + this.backoff(retry);
      if (!(e instanceof EnrollClientError) && !(e instanceof HttpError) && !(e instanceof SysError)) log('error', (e as Error).stack ?? '');
      return { status: 'error', code, message: (e as Error).message };
    }

    // An answer to the configuration before a reload (disabled, another primary, other prefixes)
    // must not be acted on: the reload has already undone what it would install.
    if (this.cfg !== c) return reloadedMidway();
    // The answer is authentic and answers this request: its time is the primary's.
    // A step while the request was out belongs to the old offset; the new one is against the clock as it is now.
    this.followClockStep();
    // resp.ts is whole seconds: within 2 s the local clock is as good as the primary's.
    const offset = resp.ts - wallSeconds();
    if (Math.abs(offset - this.state.clock_offset) > 2 || this.state.clock_source !== 'primary') {
      if (Math.abs(offset) > 30) log('info', `local clock differs from the primary's by ${Math.round(offset)} s; using the primary's time`);
      this.state.clock_offset = Math.abs(offset) <= 2 ? 0 : Math.round(offset);
      this.state.clock_source = 'primary';
    }
    this.state.last_success = now();
    switch (resp.status) {
      case 'granted':
        return await this.granted(resp.grant);
      case 'pending': {
        this.state.status = 'pending';
        this.state.failures = 0;
        this.state.last_error = null;
        const delay = Math.min(Math.max(c.pollMax, resp.retry_after), resp.retry_after * 1.5 ** this.pendingPolls++);
        this.state.next_attempt = now() + Math.round(delay * (0.9 + 0.2 * unit()));
        log('info', `waiting for approval of ${resp.fingerprint} on the primary`);
        return { status: 'pending', message: `waiting for the administrator to approve ${resp.fingerprint}` };
      }
      case 'revoked':
        await this.wipe(true);
        this.state.status = 'revoked';
        this.state.last_error = { code: 'REVOKED', message: 'the primary revoked this device; secrets wiped', at: now() };
        this.state.next_attempt = now() + c.pollMax;
        log('warn', 'device revoked by the primary: secrets wiped from the kernel and from flash');
        return { status: 'revoked', code: 'REVOKED', message: 'the primary revoked this device; secrets wiped' };
      case 'rejected': {
        if (resp.reason === 'STALE_REQUEST' && mayRetryClock) return this.exchange(false);
        const msg = describeRejection(resp.reason, resp.message);
        this.fail(resp.reason, `${msg}${this.state.grant ? '' : '; nothing installed'}`);
        if (!this.state.grant || this.state.grant.expires <= this.primaryNow()) this.state.status = 'rejected';
        const retry = resp.reason === 'REPLAY' ? c.retryMin : (resp.retry_after ?? c.retryMax);
        this.state.next_attempt = now() + Math.round(retry * (0.9 + 0.2 * unit()));
        return { status: 'rejected', code: resp.reason, message: msg };
      }
    }
  }

  private async granted(grant: Grant): Promise<AttemptResult> {
    const first = this.state.status !== 'granted';
    this.state.grant = grant;
    this.state.status = 'granted';
    this.state.failures = 0;
    this.state.last_error = null;
    this.pendingPolls = 0;
    this.state.next_attempt = renewalTime(grant, this.state.clock_offset, unit());
    await this.reconcile();
    const gens = grant.pairings.map((p) => `${p.id}:${p.keys.map((k) => k.generation).join('/')}`).join(' ');
    log('info', `${first ? 'granted' : 'renewed'}: mode ${grant.mode}, prefixes ${grant.prefixes.join(',') || '-'}, pairings ${gens || '-'}, renew in ${Math.round(this.state.next_attempt - wallSeconds())} s`);
    return { status: 'granted', message: `granted (${grant.pairings.length} pairing${grant.pairings.length === 1 ? '' : 's'})` };
  }

  // ---- daemon ------------------------------------------------------------------------------

  pidFile(): string {
    return `${this.cfg.runDir}/pdmv2d.pid`;
  }

  /** Runs until SIGTERM/SIGINT. Returns when asked to stop. */
  run(): Promise<void> {
    return new Promise((resolve) => {
      const other = runningPid(this.cfg);
      if (other !== null && other !== pid()) throw new SysError(`another pdmv2d is running (pid ${other})`);
      mkdirs(this.cfg.runDir, 0o755);
      // A stopped agent follows no revocation: its keys leave the kernel with it. The grant
      // stays on flash, so the next start installs it again at once.
      const stop = (): void => {
        if (this.stopping) return;
        this.stopping = true;
        clearTimer(this.timer);
        log('info', 'stopping: keys and nft table removed from the kernel (the grant is kept for the next start)');
        this.daemon = null;
        // An attempt in flight may still install what it was granted: wipe after it.
        const finish = async (): Promise<void> => {
          while (this.busy) await sleep(20);
          await this.wipe(false);
        };
        void finish().finally(() => {
          this.save();
          removeFile(this.pidFile());
          resolve();
        });
      };
      onSignal(SIGTERM, stop);
      onSignal(SIGINT, stop);
      onSignal(SIGHUP, () => void this.reload());
      onSignal(SIGUSR1, () => {
        this.followClockStep();
        this.state.next_attempt = Math.floor(wallSeconds());
        this.state.failures = 0;
        this.wake();
      });
      this.daemon = selfId();
      // Written once the handlers are in place: a pid file means the daemon can take SIGHUP
      // (the init script's reload signals only such a daemon; before that, a HUP would kill it).
      writeAtomic(this.pidFile(), `${pid()}\n`, 0o644);
      log('info', `pdmv2d ${AGENT_VERSION} started: device ${this.key.fingerprint}, role ${this.cfg.role}, primary ${this.cfg.primaryUrl || '-'}`);
      const start = async (): Promise<void> => {
        if (!this.cfg.enabled) await this.disable();
        else if (this.fresh) {
          // After a reboot the clock may be anything and the saved grant stale: ask the primary
          // first; the tick installs what its answer (or, unreachable, the saved grant) allows.
          this.state.next_attempt = Math.floor(wallSeconds());
        } else {
          await this.reconcile();
          if (this.state.status !== 'granted' || this.state.next_attempt === null) this.state.next_attempt = Math.floor(wallSeconds());
        }
        this.save();
        this.wake();
      };
      void start();
    });
  }

  private async disable(): Promise<void> {
    if (this.state.installed.mode !== 'off' || this.state.installed.keys.length > 0 || this.state.grant) log('info', 'disabled: wiping secrets');
    await this.wipe(true);
    this.state.status = 'disabled';
    this.state.next_attempt = null;
  }

  /**
   * Runs `fn` when no enrollment attempt, check or other reload is running: they all
   * await (HTTP, nft), and interleaved they undo each other (an answer arriving after
   * a disable reinstalled the grant it had just wiped).
   */
  private async exclusive(fn: () => Promise<void>): Promise<void> {
    while (this.busy) await sleep(20);
    this.busy = true;
    try {
      await fn();
    } finally {
      this.busy = false;
    }
  }

  async reload(): Promise<void> {
    log('info', `SIGHUP: reloading ${this.configPath}`);
    const before = this.cfg;
    try {
      this.cfg = loadConfig(this.configPath);
    } catch (e) {
      log('error', `reload failed, keeping the old configuration: ${(e as Error).message}`);
      return;
    }
    // Switched off: the kernel stops at once, not when an attempt in flight (up to http_timeout) ends.
    if (!this.cfg.enabled) this.wipeKernel();
    await this.exclusive(async () => {
      if (!this.stopping) await this.reloaded(before);
    });
    this.wake();
  }

  private async reloaded(before: AgentConfig): Promise<void> {
    // Interface events (the init script's trigger) arrive as a reload: a new delegated prefix is enrolled now.
    let prefixesMoved = false;
    if (this.cfg.interfaces.length > 0 && this.state.grant) {
      try {
        prefixesMoved = (await this.resolvePrefixes()).sort().join() !== [...this.state.grant.prefixes].sort().join();
      } catch (e) {
        log('warn', (e as Error).message);
      }
    }
    const changed =
      prefixesMoved ||
      before.primaryUrl !== this.cfg.primaryUrl ||
      this.primaryKeyHex() !== (before.primaryKey ? toHex(before.primaryKey) : '') ||
      before.role !== this.cfg.role ||
      before.prefixes.join() !== this.cfg.prefixes.join() ||
      before.interfaces.join() !== this.cfg.interfaces.join() ||
      before.token !== this.cfg.token;
    if (this.primaryKeyHex() !== this.state.primary_key) {
      // Another primary: what we hold came from the old one.
      await this.wipe(true);
      this.state = { ...emptyState(this.key.fingerprint, this.primaryKeyHex()), clock_offset: 0 };
    }
    if (!this.cfg.enabled) await this.disable();
    else {
      if (this.state.status === 'disabled') this.state.status = this.state.grant ? 'granted' : 'new';
      await this.reconcile();
      if (changed || this.state.next_attempt === null || this.state.status !== 'granted') {
        this.state.next_attempt = Math.floor(wallSeconds());
        this.state.failures = 0;
      }
    }
    this.save();
  }

  /** (Re)arms the single timer: next attempt, next plan change, or the hourly keepalive. */
  private wake(): void {
    if (this.stopping) return;
    clearTimer(this.timer);
    const now = wallSeconds();
    // The periodic check repairs the kernel and the nft table and notices a clock step.
    let at = now + (this.cfg.enabled ? this.cfg.checkInterval : MAX_TIMER_S);
    if (this.cfg.enabled && this.state.next_attempt !== null) at = Math.min(at, this.state.next_attempt);
    const change = nextPlanChange(this.state.grant, this.primaryNow());
    if (change !== null) at = Math.min(at, change - this.state.clock_offset + 1);
    this.timer = setTimer(() => void this.tick(), Math.max(0, (at - now) * 1000));
  }

  private async tick(): Promise<void> {
    if (this.stopping) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        this.followClockStep();
        const now = wallSeconds();
        if (this.cfg.enabled && this.state.next_attempt !== null && this.state.next_attempt <= now + 0.5) {
          const r = await this.attempt();
          if (r.status !== 'granted') log(r.status === 'pending' ? 'debug' : 'info', `enrollment: ${r.status}${r.code ? ` ${r.code}` : ''}: ${r.message}`);
        }
        // What status shows of the checks (kernel, nft table, errors) is saved when it changes (tmpfs).
        const shown = (): string => JSON.stringify([this.state.installed, this.state.mark_conflicts, this.state.last_error?.code ?? null]);
        const before = shown();
        const installedBefore = JSON.stringify(this.state.installed);
        await this.reconcile();
        if (shown() !== before) {
          if (JSON.stringify(this.state.installed) !== installedBefore) log('info', `kernel now ${this.state.installed.mode} with ${this.state.installed.keys.length} key generation(s)`);
          this.save();
        }
      } while (this.again && !this.stopping);
    } finally {
      this.busy = false;
      this.wake();
    }
  }
}

function reloadedMidway(): AttemptResult {
  return { status: 'error', code: 'RELOADED', message: 'the configuration was reloaded while the request was out; its answer is not used' };
}

/** The mode and mark mask the module reports (its control file: "mode X", "mark_mask 0x…"), or null each. */
function kernelConfig(control: string): { mode: string | null; markMask: number | null } {
  const lines = (readText(control, 1024) ?? '').split('\n');
  const mode = /^mode (\S+)$/.exec(lines[0] ?? '');
  const mask = /^mark_mask (0x[0-9a-f]+)$/.exec(lines[1] ?? '');
  return { mode: mode ? mode[1]! : null, markMask: mask ? parseInt(mask[1]!, 16) : null };
}

function uniq<T>(xs: readonly T[]): T[] {
  return xs.filter((x, i) => xs.indexOf(x) === i);
}

/** The pid of a running pdmv2d for this configuration, if any. */
export function runningPid(cfg: AgentConfig): number | null {
  const text = readText(`${cfg.runDir}/pdmv2d.pid`);
  if (!text) return null;
  const p = Number(text.trim());
  if (!Number.isInteger(p) || !processAlive(p)) return null;
  const cmd = readBytes(`/proc/${p}/cmdline`, 4096);
  if (cmd && !String.fromCharCode(...cmd).includes('pdmv2d')) return null;
  return p;
}

// ---- status ----------------------------------------------------------------------------------

export interface StatusReport {
  readonly [key: string]: unknown;
}

function readKernel(cfg: AgentConfig): Record<string, unknown> {
  const dir = cfg.control.slice(0, cfg.control.lastIndexOf('/'));
  const out: Record<string, unknown> = { control: cfg.control, present: isFile(cfg.control) };
  const stats = readText(`${dir}/stats`);
  if (stats && stats.length < 65536) {
    const s: Record<string, number> = {};
    for (const line of stats.split('\n')) {
      const m = /^([a-z_0-9]+) (\d+)$/.exec(line.trim());
      if (m) s[m[1]!] = Number(m[2]);
    }
    out.stats = s;
  }
  return out;
}

/** Status without any secret: for `status`, `status --json` and rpcd. */
export function statusReport(cfg: AgentConfig, state: AgentState | null, fp: string | null): StatusReport {
  const running = runningPid(cfg);
  return {
    enabled: cfg.enabled,
    running: running !== null,
    pid: running,
    ...agentStatus(cfg, state, fp),
    kernel: readKernel(cfg),
  };
}

/**
 * The running daemon as the rpcd plugin recognises it: its pid and its start time (field 22 of
 * /proc/PID/stat, clock ticks since boot), so that a pid reused by another process does not count.
 */
export interface DaemonId {
  readonly pid: number;
  readonly started: number;
}

function selfId(): DaemonId | null {
  const stat = readText('/proc/self/stat', 4096);
  const after = stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : [];
  const started = Number(after[19]);
  return Number.isInteger(started) ? { pid: pid(), started } : null;
}

/** Name of the status file in run_dir (docs/agent.md "Status file"). */
export const STATUS_FILE = 'status.json';

/**
 * Writes `run_dir/status.json` (0644, atomically): the agent's part of the status, without the
 * fields the rpcd plugin reads live (enabled, running, pid, kernel). Never a secret.
 * A failure is logged and does not stop the caller: state.json is what must not be lost.
 */
export function writeStatusFile(cfg: AgentConfig, state: AgentState, fp: string, daemon: DaemonId | null): void {
  try {
    mkdirs(cfg.runDir, 0o755);
    const report = { ...agentStatus(cfg, state, fp), daemon, updated: Math.floor(wallSeconds()), version: AGENT_VERSION };
    writeAtomic(`${cfg.runDir}/${STATUS_FILE}`, `${JSON.stringify(report)}\n`, 0o644);
  } catch (e) {
    log('warn', `cannot write ${cfg.runDir}/${STATUS_FILE}: ${(e as Error).message}`);
  }
}

/** What the agent knows (state.json and configuration), none of it live kernel or process state. */
function agentStatus(cfg: AgentConfig, state: AgentState | null, fp: string | null): StatusReport {
  const g = state?.grant ?? null;
  const pnow = wallSeconds() + (state?.clock_offset ?? 0);
  let status: string = state?.status ?? 'new';
  if (!cfg.enabled) status = 'disabled';
  else if (status === 'granted' && g && g.expires <= pnow) status = 'expired';
  return {
    waiting_for: state ? waitingFor(cfg, state, status) : cfg.enabled ? 'start' : null,
    fingerprint: fp,
    status,
    role: cfg.role,
    mode: cfg.mode,
    primary_url: cfg.primaryUrl,
    config_errors: cfg.errors,
    granted: g
      ? {
          mode: g.mode,
          prefixes: g.prefixes,
          issued: g.issued,
          expires: g.expires,
          renew_after: g.renew_after,
          pairings: g.pairings.map((p) => ({
            id: p.id,
            aead: p.aead,
            peer_prefixes: p.peer_prefixes,
            generations: p.keys.map((k) => ({ generation: k.generation, not_before: k.not_before, not_after: k.not_after })),
          })),
        }
      : null,
    installed: state?.installed ?? null,
    next_attempt: state?.next_attempt ?? null,
    last_attempt: state?.last_attempt ?? null,
    last_success: state?.last_success ?? null,
    last_error: state?.last_error ?? null,
    clock_offset: state?.clock_offset ?? 0,
    clock_source: state?.clock_source ?? null,
    mark: hexMark(cfg.mark),
    mark_conflicts: state?.mark_conflicts ?? [],
  };
}

/**
 * What the agent waits for, in words for status and LuCI: `clock` (the
 * local clock is behind the saved grant and nothing answered yet: NTP or
 * the primary sets it), `approval`, `primary` (unreachable or refusing),
 * `configuration`, `renewal` (all well), or null (disabled).
 */
function waitingFor(cfg: AgentConfig, s: AgentState, status: string): string | null {
  if (!cfg.enabled) return null;
  if (cfg.errors.length > 0) return 'configuration';
  if (clockBehind(s, wallSeconds())) return 'clock';
  if (status === 'pending' || status === 'revoked') return 'approval';
  return status === 'granted' ? 'renewal' : 'primary';
}

export function formatStatus(r: StatusReport): string {
  const t = (v: unknown): string => (typeof v === 'number' ? new Date(v * 1000).toISOString().replace('.000Z', 'Z') : '-');
  const lines = [
    `device      ${String(r.fingerprint ?? '(no key yet)')}`,
    `status      ${String(r.status)}${r.enabled ? '' : ' (disabled in UCI)'}`,
    `daemon      ${r.running ? `running (pid ${String(r.pid)})` : 'not running'}`,
    `role        ${String(r.role)}, mode ${String(r.mode)}`,
    `primary     ${String(r.primary_url) || '-'}`,
    `waiting for ${String(r.waiting_for ?? '-')}`,
  ];
  const g = r.granted as { prefixes: string[]; expires: number; renew_after: number; pairings: { id: string; peer_prefixes: string[]; generations: { generation: number }[] }[] } | null;
  if (g) {
    lines.push(`prefixes    ${g.prefixes.join(', ') || '-'}`);
    lines.push(`expires     ${t(g.expires)}  (renew after ${t(g.renew_after)})`);
    for (const p of g.pairings) lines.push(`pairing     ${p.id} generations ${p.generations.map((x) => x.generation).join(',') || '-'} peers ${p.peer_prefixes.join(', ') || '-'}`);
  }
  const inst = r.installed as { mode: string; keys: unknown[] } | null;
  if (inst) lines.push(`kernel      ${inst.mode}, ${inst.keys.length} key generation(s)`);
  if (r.next_attempt) lines.push(`next        ${t(r.next_attempt)}`);
  const e = r.last_error as { code: string; message: string; at: number } | null;
  if (e) lines.push(`last error  ${e.code}: ${e.message} (${t(e.at)})`);
  for (const ce of (r.config_errors as string[]) ?? []) lines.push(`config      ${ce}`);
  const stats = (r.kernel as { stats?: Record<string, number> } | undefined)?.stats;
  for (const w of stats ? kernelWarnings(stats) : []) lines.push(`warning     ${w}`);
  for (const mc of (r.mark_conflicts as string[]) ?? []) lines.push(`mark        ${mc}`);
  return `${lines.join('\n')}\n`;
}
