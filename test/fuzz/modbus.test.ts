import net from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModel } from '../../src/meter/modbus/model.js';
import { acquireBus, type BusHandle } from '../../src/hal/modbus/bus.js';
import { ModbusMeter } from '../../src/meter/modbus/meter.js';
import type { MeterSnapshot } from '../../src/hal/types.js';
import { RegisterFile, loadKnownValues } from '../meter/helpers/registers.js';
import { withCrc } from '../meter/helpers/rtu.js';
import { Findings, Rng, banner, fuzzCount, fuzzSeed, mutateBytes, randomBytes, secondsSince, summary } from './prng.js';

/**
 * Modbus response fuzzing: an RTU-over-TCP server (what a transparent RS-485 gateway presents)
 * answers the real ModbusMeter (transport tcp-rtu) with random and mutated RTU frames: bad CRC,
 * wrong unit or function, truncated, exception codes, wrong byte counts, garbage, split or doubled
 * frames, silence, random register contents. read() either rejects with an Error or returns a
 * valid snapshot; once good frames return the meter reads exact values again; no unhandled
 * rejection or exception.
 */
const crc16 = createRequire(import.meta.url)('modbus-serial/utils/crc16') as (b: Buffer) => number;
const MODEL = 'sdm630';

type Mode = 'good' | 'bad-crc' | 'wrong-unit' | 'wrong-fc' | 'exception' | 'truncated' | 'trailing' | 'bad-count' | 'garbage' | 'mutated' | 'mutated-crc-fixed' | 'split' | 'double' | 'silence' | 'random-registers';
const MODES: Mode[] = ['good', 'good', 'good', 'bad-crc', 'wrong-unit', 'wrong-fc', 'exception', 'truncated', 'trailing', 'bad-count', 'garbage', 'mutated', 'mutated-crc-fixed', 'split', 'double', 'silence', 'random-registers'];

function answer(regs: RegisterFile, req: Buffer, mode: Mode, rng: Rng): Buffer[] {
  const unit = req[0]!;
  const fc = req[1]!;
  const addr = req.readUInt16BE(2);
  const count = req.readUInt16BE(4);
  const body = Buffer.alloc(3 + 2 * count);
  body[0] = unit;
  body[1] = fc;
  body[2] = 2 * count;
  for (let i = 0; i < count; i++) body.writeUInt16BE(mode === 'random-registers' ? rng.int(65536) : regs.get(fc, addr + i), 3 + 2 * i);
  const good = withCrc(body);
  switch (mode) {
    case 'good':
    case 'random-registers':
      return [good];
    case 'bad-crc': {
      const b = Buffer.from(good);
      b[b.length - 1 - rng.int(2)]! ^= 1 + rng.int(255);
      return [b];
    }
    case 'wrong-unit':
      body[0] = (unit + 1 + rng.int(254)) & 0xff;
      return [withCrc(body)];
    case 'wrong-fc':
      body[1] = rng.pick([1, 2, 5, 6, 16, 0x83, 0x84, 0, 255, fc === 3 ? 4 : 3]);
      return [withCrc(body)];
    case 'exception':
      return [withCrc(Buffer.from([unit, fc | 0x80, rng.pick([1, 2, 3, 4, 5, 6, 10, 11, 0, 255])]))];
    case 'truncated':
      return [good.subarray(0, rng.int(good.length))];
    case 'trailing':
      return [Buffer.concat([good, randomBytes(rng, rng.range(1, 8))])];
    case 'bad-count':
      body[2] = rng.pick([0, 1, body[2]! - 2, body[2]! + 2, 255]) & 0xff;
      return [withCrc(body)];
    case 'garbage':
      return [randomBytes(rng, rng.range(1, 300))];
    case 'mutated':
      return [mutateBytes(rng, good)];
    case 'mutated-crc-fixed': {
      const m = mutateBytes(rng, good.subarray(0, good.length - 2));
      return [withCrc(m)];
    }
    case 'split': {
      const at = rng.range(1, good.length - 1);
      return [good.subarray(0, at), good.subarray(at)];
    }
    case 'double':
      return [good, good];
    case 'silence':
      return [];
  }
}

class FuzzGateway {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** The mode of each next request; empty = good. */
  plan: Mode[] = [];
  requests = 0;
  badRequests = 0;

  constructor(private readonly regs: RegisterFile, private readonly rng: Rng) {}

  async listen(): Promise<void> {
    this.server = net.createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 8) {
          const req = buf.subarray(0, 8);
          buf = buf.subarray(8);
          if (req.readUInt16LE(6) !== crc16(req.subarray(0, 6))) {
            this.badRequests++;
            buf = Buffer.alloc(0);
            return;
          }
          this.requests++;
          const parts = answer(this.regs, Buffer.from(req), this.plan.shift() ?? 'good', this.rng);
          let delay = 1;
          for (const p of parts) {
            setTimeout(() => { if (!s.destroyed) s.write(p); }, delay);
            delay += 3;
          }
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function invalidSnapshot(s: MeterSnapshot, phases: number): string | null {
  if (!Number.isSafeInteger(s.energyImportWh) || s.energyImportWh < 0) return `energyImportWh ${s.energyImportWh}`;
  if (typeof s.powerW !== 'number') return `powerW ${String(s.powerW)}`;
  for (const k of ['voltageV', 'currentA', 'powerPhaseW'] as const) {
    if (!Array.isArray(s[k]) || s[k].length !== phases || s[k].some((x) => typeof x !== 'number')) return `${k} ${JSON.stringify(s[k])}`;
  }
  if (!Number.isFinite(s.monoMs)) return `monoMs ${s.monoMs}`;
  return null;
}

describe('Modbus response fuzzing: real ModbusMeter over tcp-rtu against a lying gateway', () => {
  const model = getModel(MODEL);
  const regs = new RegisterFile();
  const { expected } = loadKnownValues(model, regs);
  const seed = fuzzSeed();
  const rng = new Rng(seed);
  const gw = new FuzzGateway(regs, rng.fork());
  let handle: BusHandle;
  let meter: ModbusMeter;
  const unhandled: string[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(String((e as Error)?.stack ?? e));

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    await gw.listen();
    handle = acquireBus({ transport: 'tcp-rtu', host: '127.0.0.1', port: gw.port, timeoutMs: 80 }, { quietAfterErrorMs: 5, connectTimeoutMs: 1000 });
    meter = new ModbusMeter(model, handle, { unitId: model.defaults.unitId, tries: 1 });
  });

  afterAll(async () => {
    await meter?.close();
    await gw.close();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it('read() rejects with an Error or returns a valid snapshot; exact again once frames are good; nothing unhandled', async () => {
    const t0 = performance.now();
    const cases = fuzzCount(500, 10_000);
    banner('Modbus responses', seed, cases);
    const found = new Findings();
    const tally = { ok: 0, rejected: 0, goodReadsAfter: 0 };
    const kinds = new Map<string, number>();
    for (let i = 0; i < cases; i++) {
      const plan = Array.from({ length: meter.plan.length }, () => (rng.chance(0.03) ? 'silence' : rng.pick(MODES.filter((m) => m !== 'silence'))));
      gw.plan = [...plan];
      const example = `case ${i}: plan ${plan.join(',')}`;
      try {
        const snap = await meter.read();
        tally.ok++;
        const bad = invalidSnapshot(snap, model.phases);
        if (bad) found.add(`invalid snapshot: ${bad}`, example);
      } catch (err) {
        tally.rejected++;
        if (!(err instanceof Error)) found.add(`rejected with a non-Error: ${String(err)}`, example);
        else kinds.set((err as { kind?: string }).kind ?? err.constructor.name, (kinds.get((err as { kind?: string }).kind ?? err.constructor.name) ?? 0) + 1);
      }
      gw.plan = [];
      if (i % 10 === 9) {
        // Good frames again: the meter must read exact values (one retry allowed for a late frame still in flight).
        let snap: MeterSnapshot | undefined;
        for (let t = 0; t < 2 && !snap; t++) snap = await meter.read().catch(() => undefined);
        if (!snap) found.add('meter does not recover when good frames return', example);
        else if (JSON.stringify({ ...snap, monoMs: 0 }) !== JSON.stringify({ ...expected, monoMs: 0 })) found.add('wrong values after recovery', `${example}: ${JSON.stringify(snap)}`);
        else tally.goodReadsAfter++;
      }
    }
    const final = await meter.read();
    const recoveriesDue = Math.floor(cases / 10);
    summary('modbus-fuzz', { seed, cases, snapshots: tally.ok, rejected: tally.rejected, rejectedByKind: Object.fromEntries([...kinds].sort((a, b) => b[1] - a[1])), recoveriesChecked: tally.goodReadsAfter, recoveriesDue, gatewayRequests: gw.requests, requestsWithBadCrc: gw.badRequests, busOpens: handle.bus.counters.opens, unhandled: unhandled.length, findings: found.total(), durationS: secondsSince(t0) });
    console.log(`[fuzz] Modbus responses: ${JSON.stringify(tally)}, rejections by kind ${JSON.stringify(Object.fromEntries(kinds))}, requests ${gw.requests}, requests with bad CRC at the gateway ${gw.badRequests}, bus opens ${handle.bus.counters.opens}`);
    expect(final).toEqual({ ...expected, monoMs: expect.any(Number) });
    expect(unhandled).toEqual([]);
    expect(found.report(), `seed ${seed}`).toEqual([]);
  }, 1_800_000);
});
