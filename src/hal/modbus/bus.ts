import { createRequire } from 'node:module';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import type { Logger } from '../../log.js';
import type { MeterTransport } from '../../config/meter.js';

/**
 * One physical Modbus line (an RS-485 adapter, or one gateway/meter socket) with one FIFO request
 * queue. RTU has no transaction ids and modbus-serial's RTU ports remember only one pending
 * request, so every request on a line goes through this queue, unit id set inside it; requests
 * of several devices on the same line (meters, a pilot board) never interleave. An urgent request
 * (a pilot board told to stop charging) goes before every waiting one, after the one in flight.
 *
 * After a timeout or a broken answer the line is left silent (as long as the timeout) and the
 * port's receive buffer is emptied before the next request, so a late or partial frame cannot be
 * taken as the answer to the next request; over TCP the connection is also rebuilt, which rules
 * it out completely. On serial, after `reopenAfterFailures` consecutive failures, or when the port
 * closes (USB adapter unplugged), the port is reopened on the next request.
 */

export interface BusSpec {
  transport: MeterTransport;
  path?: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  dataBits?: number;
  stopBits?: number;
  host?: string;
  port?: number;
  /** Answer timeout per request (modbus-serial has none by default). */
  timeoutMs: number;
}

export type ModbusErrorKind = 'timeout' | 'crc' | 'garbage' | 'exception' | 'port';

export class ModbusError extends Error {
  constructor(readonly kind: ModbusErrorKind, message: string, readonly modbusCode?: number) {
    super(message);
  }
}

export interface BusOptions {
  log?: Logger;
  reopenAfterFailures?: number;
  /** Silence after a failed request before the next one (default: the timeout after a timeout, else 100 ms). */
  quietAfterErrorMs?: number;
  connectTimeoutMs?: number;
}

// modbus-serial is CommonJS whose typings declare an ES default export; load it the CommonJS way.
const ModbusClient = createRequire(import.meta.url)('modbus-serial') as { new (): ModbusRTU };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Bits per RTU character: start + data + parity + stop bits. */
export function bitsPerChar(dataBits: number, parity: 'none' | 'even' | 'odd', stopBits: number): number {
  return 1 + dataBits + (parity === 'none' ? 0 : 1) + stopBits;
}

export function describeBus(s: Pick<BusSpec, 'transport' | 'path' | 'baudRate' | 'parity' | 'dataBits' | 'stopBits' | 'host' | 'port'>): string {
  if (s.transport === 'serial') {
    const p = (s.parity ?? 'none')[0]!.toUpperCase();
    return `${s.path} at ${s.baudRate ?? 9600} ${s.dataBits ?? 8}${p}${s.stopBits ?? 1}`;
  }
  return `${s.host}:${s.port} (${s.transport === 'tcp' ? 'Modbus TCP' : 'RTU over TCP'})`;
}

export function busKey(s: BusSpec): string {
  return s.transport === 'serial' ? `serial:${s.path}` : `${s.transport}:${s.host}:${s.port}`;
}

function classify(err: unknown): ModbusError {
  const e = err as { message?: string; errno?: string; modbusCode?: number; name?: string };
  const msg = e?.message ?? String(err);
  if (typeof e?.modbusCode === 'number') return new ModbusError('exception', msg, e.modbusCode);
  if (e?.errno === 'ETIMEDOUT' || msg === 'Timed out') return new ModbusError('timeout', 'no answer');
  if (msg === 'CRC error') return new ModbusError('crc', 'bad CRC');
  if (/Data length error|Unexpected data error/.test(msg)) return new ModbusError('garbage', msg);
  if (msg === 'Port Not Open' || e?.name === 'PortNotOpenError') return new ModbusError('port', 'port not open');
  return new ModbusError('port', msg);
}

export class ModbusBus {
  readonly description: string;
  private client?: ModbusRTU;
  private readonly jobs: (() => Promise<void>)[] = [];
  private readonly urgentJobs: (() => Promise<void>)[] = [];
  private pumping = false;
  private lastEndMs = 0;
  private quietUntilMs = 0;
  private consecutiveFailures = 0;
  private closed = false;
  /** Requests and reopenings since start (bench and diagnostics). */
  readonly counters = { requests: 0, failures: 0, opens: 0 };

  constructor(readonly spec: BusSpec, private readonly opts: BusOptions = {}) {
    this.description = describeBus(spec);
  }

  /** Silent interval between frames: 3.5 characters, fixed 1.75 ms above 19200 Bd; none over Modbus TCP. */
  private interFrameMs(): number {
    if (this.spec.transport === 'tcp') return 0;
    const baud = this.spec.baudRate ?? 9600;
    if (this.spec.transport === 'tcp-rtu' || baud > 19200) return 2;
    const bits = bitsPerChar(this.spec.dataBits ?? 8, this.spec.parity ?? 'none', this.spec.stopBits ?? 1);
    return Math.ceil((3.5 * bits * 1000) / baud);
  }

  /** Run `fn` alone on the line: after the request in flight and, unless urgent, after every waiting one. */
  private enqueue<T>(fn: () => Promise<T>, urgent = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job = () => fn().then(resolve, reject);
      (urgent ? this.urgentJobs : this.jobs).push(job);
      queueMicrotask(() => void this.pump());
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let job = this.urgentJobs.shift() ?? this.jobs.shift(); job; job = this.urgentJobs.shift() ?? this.jobs.shift()) await job();
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Read `count` registers with FC03/FC04 from one unit. Resolves with the words and the
   * monotonic time the answer arrived; rejects with a ModbusError.
   */
  read(unitId: number, fc: 3 | 4, start: number, count: number, opts: { spacingMs?: number } = {}): Promise<{ words: number[]; monoMs: number }> {
    return this.request(unitId, opts, false, async (client) => {
      const res: { data: number[] } = await this.guarded<{ data: number[] }>(fc === 3 ? client.readHoldingRegisters(start, count) : client.readInputRegisters(start, count));
      if (!Array.isArray(res.data) || res.data.length !== count) throw new ModbusError('garbage', `expected ${count} registers, got ${res.data?.length}`);
      return res.data;
    });
  }

  /**
   * Write holding registers from `start` with FC16 (write multiple registers) to one unit.
   * `urgent`: sent before every waiting request (after the one in flight). Resolves with the
   * monotonic time the answer arrived; rejects with a ModbusError.
   */
  write(unitId: number, start: number, words: number[], opts: { spacingMs?: number; urgent?: boolean } = {}): Promise<{ monoMs: number }> {
    return this.request(unitId, opts, opts.urgent === true, async (client) => {
      const res: { address?: number; length?: number } = await this.guarded<{ address?: number; length?: number }>(client.writeRegisters(start, words));
      if (res?.address !== undefined && (res.address !== start || res.length !== words.length)) {
        throw new ModbusError('garbage', `write echo names registers ${res.address} x ${res.length}, not ${start} x ${words.length}`);
      }
      return undefined;
    }).then(({ monoMs }) => ({ monoMs }));
  }

  private request<T>(unitId: number, opts: { spacingMs?: number }, urgent: boolean, send: (client: ModbusRTU) => Promise<T>): Promise<{ words: T; monoMs: number }> {
    return this.enqueue(async () => {
      if (this.closed) throw new ModbusError('port', 'bus closed');
      const client = await this.ensureOpen();
      const wait = Math.max(this.lastEndMs + Math.max(opts.spacingMs ?? 0, this.interFrameMs()), this.quietUntilMs) - performance.now();
      if (wait > 0) await sleep(wait);
      this.flushReceiveBuffer(client);
      client.setID(unitId);
      client.setTimeout(this.spec.timeoutMs);
      this.counters.requests++;
      try {
        const words = await send(client);
        this.consecutiveFailures = 0;
        this.lastEndMs = performance.now();
        return { words, monoMs: this.lastEndMs };
      } catch (err) {
        const e = err instanceof ModbusError ? err : classify(err);
        this.lastEndMs = performance.now();
        if (e.kind === 'exception') {
          // A well-formed answer: the line is fine.
          this.consecutiveFailures = 0;
          throw e;
        }
        this.counters.failures++;
        this.consecutiveFailures++;
        // A late answer must land (and be flushed) before the next request: RTU has no
        // transaction id, so one arriving after it would be taken as its answer.
        const quiet = this.opts.quietAfterErrorMs ?? (e.kind === 'timeout' ? Math.max(100, this.spec.timeoutMs) : 100);
        this.quietUntilMs = this.lastEndMs + quiet;
        // Over TCP a fresh connection is cheap and guarantees no late frame reaches the next request.
        const overTcp = this.spec.transport !== 'serial';
        if (overTcp || e.kind === 'port' || !client.isOpen || this.consecutiveFailures >= (this.opts.reopenAfterFailures ?? 3)) {
          await this.dropClient();
        }
        throw e;
      }
    }, urgent);
  }

  /** modbus-serial's own timeout normally settles the request; this is the backstop if it never does. */
  private guarded<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const backstop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ModbusError('timeout', 'no answer')), this.spec.timeoutMs + 1000);
    });
    return Promise.race([p, backstop]).finally(() => clearTimeout(timer));
  }

  /** RTU ports keep unmatched bytes across requests; start every request with an empty buffer. */
  private flushReceiveBuffer(client: ModbusRTU): void {
    const port = (client as unknown as { _port?: { _buffer?: Buffer } })._port;
    if (port && Buffer.isBuffer(port._buffer)) port._buffer = Buffer.alloc(0);
  }

  private async ensureOpen(): Promise<ModbusRTU> {
    if (this.client?.isOpen) return this.client;
    await this.dropClient();
    const client = new ModbusClient();
    // modbus-serial re-emits port errors; an unhandled 'error' event would crash the daemon.
    (client as unknown as NodeJS.EventEmitter).on('error', (err: Error) => this.opts.log?.debug({ bus: this.description, err: err?.message }, 'modbus port error'));
    const s = this.spec;
    let connecting: Promise<void>;
    if (s.transport === 'serial') {
      connecting = client.connectRTUBuffered(s.path!, {
        baudRate: s.baudRate ?? 9600,
        parity: s.parity ?? 'none',
        dataBits: s.dataBits ?? 8,
        stopBits: s.stopBits ?? 1,
      });
    } else if (s.transport === 'tcp-rtu') {
      // Raw RTU frames (with CRC) over the socket: what transparent RS-485 gateways speak.
      connecting = client.connectTelnet(s.host!, { port: s.port! });
    } else {
      connecting = client.connectTCP(s.host!, { port: s.port ?? 502 });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('connection timed out')), this.opts.connectTimeoutMs ?? Math.max(1000, s.timeoutMs));
    });
    try {
      await Promise.race([connecting, timeout]);
    } catch (err) {
      connecting.catch(() => undefined);
      this.client = client;
      await this.dropClient();
      const why = String((err as Error)?.message ?? err).replace(/^Error: /, '').replace(/, cannot open .*$/, '');
      throw new ModbusError('port', `cannot open ${this.description}: ${why}`);
    } finally {
      clearTimeout(timer);
    }
    this.counters.opens++;
    this.client = client;
    this.consecutiveFailures = 0;
    return client;
  }

  private async dropClient(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 500);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      try {
        if (this.spec.transport === 'serial') c.close(done);
        else c.destroy(done);
      } catch {
        done();
      }
    });
  }

  /** Close the line after the queued requests have run. */
  async close(): Promise<void> {
    await this.enqueue(async () => {
      this.closed = true;
      await this.dropClient();
    }).catch(() => undefined);
  }
}

/** One bus per line, shared by every meter on it (several unit ids on one RS-485 port). */
const buses = new Map<string, { bus: ModbusBus; users: number }>();

export interface BusHandle {
  bus: ModbusBus;
  release(): Promise<void>;
}

export function acquireBus(spec: BusSpec, opts: BusOptions = {}): BusHandle {
  const key = busKey(spec);
  let entry = buses.get(key);
  if (entry) {
    const a = entry.bus.spec;
    if (spec.transport === 'serial' && describeBus(a) !== describeBus(spec)) {
      throw new Error(`devices on ${spec.path} disagree on the line settings: ${describeBus(a)} vs ${describeBus(spec)} (all meters and pilot boards on one RS-485 bus must use the same baud rate, parity and stop bits)`);
    }
  } else {
    entry = { bus: new ModbusBus(spec, opts), users: 0 };
    buses.set(key, entry);
  }
  entry.users++;
  const e = entry;
  let released = false;
  return {
    bus: e.bus,
    async release() {
      if (released) return;
      released = true;
      e.users--;
      if (e.users === 0) {
        buses.delete(key);
        await e.bus.close();
      }
    },
  };
}
