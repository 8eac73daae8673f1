import { Worker } from 'node:worker_threads';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import type { CableLock, ConnectorHardware, Contactor, ControlPilot, FaultInputs, HealthResult, PhaseRelay, PhaseRelayResult, PilotOutput, PilotReading } from '../types.js';
import type { FaultKind } from '../../domain/types.js';
import type { Logger } from '../../log.js';
import { ALIVE_INTERVAL_MS, type CoreState, type CoreWorkerData, type FromCore, type ToCore } from './protocol.js';

/** The worker has not said it is alive for this long: its loop is stuck (the watchdog's business). */
const WORKER_SILENT_MS = 10 * ALIVE_INTERVAL_MS;

/**
 * The built worker script. Under the TypeScript sources (vitest) there is no .js beside this file:
 * the compiled one in dist/ is used (`npm test` builds first), so tests run the core as production does.
 */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const sibling = join(dirname(here), 'worker.js');
  if (existsSync(sibling)) return sibling;
  const root = resolve(dirname(here), '../../..');
  const built = join(root, 'dist/src/hal/safety-core/worker.js');
  if (existsSync(built)) return built;
  throw new Error(`the safety-core worker script is not built (${built}): run "npm run build"`);
}

/**
 * The main thread's view of a connector whose safety core runs in a worker thread. Reads are
 * answered from a mirror the worker keeps up to date; commands are posted. The core decides on its
 * own: the mirror may lag it by one message, never the other way round. safe() also writes the
 * contactor line from this thread, synchronously, in case the worker itself is what is stuck.
 */
export class SafetyCoreClient implements ConnectorHardware {
  readonly pilot: ControlPilot;
  readonly contactor: Contactor;
  readonly faults: FaultInputs;
  readonly lock?: CableLock;
  readonly phaseRelay?: PhaseRelay;
  readonly safetyOffMainLoop = true;
  private state!: CoreState;
  private faultSet = new Set<FaultKind>();
  private requested = false;
  private authorisedSent: boolean | undefined;
  private lastAliveMs = performance.now();
  private exited: string | null = null;
  private closing = false;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly readingListeners: ((r: PilotReading) => void)[] = [];
  private readonly faultListeners: ((k: FaultKind, a: boolean) => void)[] = [];
  private readonly feedbackListeners: ((c: boolean) => void)[] = [];
  private readonly lockListeners: ((locked: boolean) => void)[] = [];
  private readonly overrideListeners: ((o: { action: 'refused' | 'opened'; why: string }) => void)[] = [];

  private constructor(private readonly worker: Worker, private readonly log: Logger, private readonly contactorValuePath: string | null, private readonly contactorSafeRaw: '0' | '1') {
    this.pilot = {
      setOutput: (output: PilotOutput) => this.post({ t: 'output', output }),
      read: () => this.state.reading,
      onChange: (l) => void this.readingListeners.push(l),
    };
    this.contactor = {
      set: (closed) => {
        this.requested = closed;
        this.post({ t: 'contactor', closed });
      },
      commanded: () => this.requested,
      feedback: () => this.state.feedback,
      onFeedback: (l) => void this.feedbackListeners.push(l),
      onOverride: (l) => void this.overrideListeners.push(l),
    };
    this.faults = {
      active: () => this.faultSet,
      onChange: (l) => void this.faultListeners.push(l),
    };
  }

  /** Start the worker; resolves once its outputs are safe and its driver runs. */
  static async start(data: CoreWorkerData, log: Logger, contactor: { valuePath: string; activeLow: boolean } | null): Promise<SafetyCoreClient> {
    const worker = new Worker(workerScript(), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const client = new SafetyCoreClient(worker, log, contactor?.valuePath ?? null, contactor?.activeLow ? '1' : '0');
    const ready = new Promise<CoreState>((resolve, reject) => {
      worker.on('message', (m: FromCore) => {
        if (m.t === 'ready') resolve(m.state);
        else if (m.t === 'failed') reject(new Error(m.message));
        else client.onMessage(m);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the safety-core worker exited with code ${code} before it was ready`)));
    });
    worker.on('error', (err) => client.onExit(`failed: ${err.message}`));
    worker.on('exit', (code) => client.onExit(`exited with code ${code}`));
    let state: CoreState;
    try {
      state = await ready;
    } catch (err) {
      await worker.terminate().catch(() => undefined);
      throw err;
    }
    client.state = state;
    client.faultSet = new Set(state.faults);
    if (state.hasLock) (client as { lock?: CableLock }).lock = client.makeLock();
    if (state.phaseRelay) (client as { phaseRelay?: PhaseRelay }).phaseRelay = client.makePhaseRelay(state.phaseRelay);
    return client;
  }

  private makeLock(): CableLock {
    return {
      lock: () => this.request({ t: 'lock', id: 0, op: 'lock' }).then(() => undefined),
      unlock: () => this.request({ t: 'lock', id: 0, op: 'unlock' }).then(() => undefined),
      isLocked: () => this.state.locked,
      onChange: (l) => void this.lockListeners.push(l),
    };
  }

  /** The core decides (and changes the pin) in its thread; the mirror follows its answer. */
  private makePhaseRelay(initial: NonNullable<CoreState['phaseRelay']>): PhaseRelay {
    const mirror = { ...initial };
    return {
      get: () => mirror.phases,
      set: async (phases) => {
        const r = (await this.request({ t: 'phases', id: 0, phases })) as PhaseRelayResult;
        if (r.ok) mirror.phases = phases;
        return r;
      },
      settleMs: initial.settleMs,
      cpInterrupt: initial.cpInterrupt,
    };
  }

  authorise(authorised: boolean): void {
    if (authorised === this.authorisedSent) return;
    this.authorisedSent = authorised;
    this.post({ t: 'authorise', authorised });
  }

  latch(kind: FaultKind): void {
    this.post({ t: 'latch', kind });
  }

  clearLatches(): FaultKind[] {
    // The answer comes back asynchronously; the mirror of the faults follows through 'fault' messages.
    void this.request({ t: 'clear-latches', id: 0 }).catch(() => undefined);
    return [...this.faultSet].filter((k) => k === 'welded' && this.state.feedback === true);
  }

  clearWeld(): boolean {
    return !this.clearLatches().includes('welded');
  }

  rcdSelfTest(): Promise<{ ok: boolean; reason?: string }> {
    return this.request({ t: 'rcd-test', id: 0 }) as Promise<{ ok: boolean; reason?: string }>;
  }

  health(): HealthResult {
    if (this.exited) return { ok: false, reason: `safety core ${this.exited}` };
    const silent = performance.now() - this.lastAliveMs;
    if (silent > WORKER_SILENT_MS) return { ok: false, reason: `safety core silent for ${Math.round(silent)} ms` };
    return this.state.health;
  }

  safe(): void {
    this.requested = false;
    // From this thread too: a stuck worker must not keep the coil energised.
    if (this.contactorValuePath) {
      try {
        writeFileSync(this.contactorValuePath, this.contactorSafeRaw);
      } catch (err) {
        this.log.fatal({ err: (err as Error).message }, 'safe(): could not write the contactor line');
      }
    }
    this.post({ t: 'safe' });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.closing = true;
    this.safe();
    await Promise.race([this.request({ t: 'close', id: 0 }).catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.worker.terminate().catch(() => undefined);
  }

  private post(m: ToCore): void {
    if (this.exited) return;
    this.worker.postMessage(m);
  }

  private request(m: Extract<ToCore, { id: number }>): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error(`safety core ${this.exited}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id });
    });
  }

  private onMessage(m: FromCore): void {
    switch (m.t) {
      case 'reading':
        this.state.reading = m.reading;
        for (const l of this.readingListeners) l(m.reading);
        break;
      case 'fault':
        if (m.active) this.faultSet.add(m.kind);
        else this.faultSet.delete(m.kind);
        for (const l of this.faultListeners) l(m.kind, m.active);
        break;
      case 'feedback':
        this.state.feedback = m.closed;
        for (const l of this.feedbackListeners) l(m.closed);
        break;
      case 'commanded':
        this.state.commanded = m.closed;
        this.setLocked(m.locked);
        break;
      case 'lock':
        this.setLocked(m.locked);
        break;
      case 'override':
        this.requested = false;
        for (const l of this.overrideListeners) l({ action: m.action, why: m.why });
        break;
      case 'alive':
        this.lastAliveMs = performance.now();
        this.state.health = m.health;
        this.setLocked(m.locked);
        break;
      case 'reply': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (!p) break;
        if (m.ok) p.resolve(m.value);
        else p.reject(new Error(m.error ?? 'failed'));
        break;
      }
      case 'log':
        this.relayLog(m.line);
        break;
      default:
        break;
    }
  }

  private setLocked(locked: boolean | undefined): void {
    if (locked === this.state.locked) return;
    this.state.locked = locked;
    if (locked !== undefined) for (const l of this.lockListeners) l(locked);
  }

  private relayLog(line: string): void {
    try {
      const { level, msg, time: _time, ...rest } = JSON.parse(line) as { level: number; msg?: string; time?: number };
      const name = level >= 60 ? 'fatal' : level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : level >= 20 ? 'debug' : 'trace';
      this.log[name](rest, msg ?? '');
    } catch {
      this.log.info(line);
    }
  }

  private onExit(why: string): void {
    if (this.exited) return;
    this.exited = why;
    for (const p of this.pending.values()) p.reject(new Error(`safety core ${why}`));
    this.pending.clear();
    if (this.closing) return;
    this.log.fatal({ why }, 'the safety-core worker is gone: outputs driven safe from the main thread');
    this.safe();
    // No core, no charging: the connector is Faulted and the watchdog (health) restarts the daemon.
    this.faultSet.add('other');
    for (const l of this.faultListeners) l('other', true);
  }
}
