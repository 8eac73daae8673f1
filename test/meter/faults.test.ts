import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadModels } from '../../src/meter/modbus/model.js';
import { MeterPoller } from '../../src/meter/poller.js';
import { UNSUPPORTED_REPROBE_READS } from '../../src/meter/modbus/meter.js';
import { silentLogger } from '../../src/log.js';
import { RegisterFile, loadKnownValues, setEnergyWh, encodeRaw } from './helpers/registers.js';
import { ModbusTcpServer, RtuTcpServer, freePort } from './helpers/servers.js';
import { meterFor, realClock } from './helpers/meters.js';
import { selfCheckReads } from '../../src/meter/modbus/self-check.js';
import { VENDOR_FIXTURES } from './fixtures/vendor-maps.js';

const sdm630 = loadModels().get('sdm630')!;
const em340 = loadModels().get('em340')!;

describe('bus faults over tcp-rtu', () => {
  const units = new Map<number, RegisterFile>();
  const server = new RtuTcpServer(units);
  let regs: RegisterFile;
  let expected: ReturnType<typeof loadKnownValues>['expected'];
  beforeAll(async () => {
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    regs = new RegisterFile();
    expected = loadKnownValues(sdm630, regs).expected;
    units.clear();
    units.set(1, regs);
    server.responder.faults = [];
  });
  const meter = (extra: object = {}) => meterFor({ model: 'sdm630', transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, timeoutMs: 400, ...extra });

  it('timeout: a plain error after the tries, a retry recovers from one silence', async () => {
    const m = await meter({ tries: 2 });
    try {
      server.responder.faults = [{ kind: 'silence' }, { kind: 'silence' }];
      await expect(m.read()).rejects.toThrow(`no answer from unit 1 on 127.0.0.1:${server.port} (RTU over TCP) after 2 tries (check the gateway's serial settings, A/B wiring, unit id)`);
      await expect(m.read()).rejects.toMatchObject({ kind: 'timeout' }).catch(() => undefined);
      server.responder.faults = [{ kind: 'silence' }];
      expect(await m.read()).toMatchObject(expected);
    } finally {
      await m.close();
    }
  });

  it('CRC error: counted as crc, retried, never decoded', async () => {
    const m = await meter({ tries: 3 });
    try {
      server.responder.faults = [{ kind: 'bad-crc' }, { kind: 'bad-crc' }, { kind: 'bad-crc' }];
      await expect(m.read()).rejects.toMatchObject({ kind: 'crc', message: expect.stringMatching(/^bad CRC in the answers of unit 1 .* after 3 tries/) });
      server.responder.faults = [{ kind: 'bad-crc' }];
      expect(await m.read()).toMatchObject(expected);
    } finally {
      await m.close();
    }
  });

  it('garbage bytes do not poison the next request', async () => {
    const m = await meter({ tries: 1 });
    try {
      server.responder.faults = [{ kind: 'garbage' }];
      await expect(m.read()).rejects.toThrow();
      expect(await m.read()).toEqual({ ...expected, monoMs: expect.any(Number) });
    } finally {
      await m.close();
    }
  });

  it('a late answer after a timeout is not taken as the next answer', async () => {
    const m = await meter({ tries: 1 });
    try {
      server.responder.faults = [{ kind: 'late', ms: 600 }];
      await expect(m.read()).rejects.toMatchObject({ kind: 'timeout' });
      setEnergyWh(sdm630, regs, 12_400_000);
      const s = await m.read();
      expect(s.energyImportWh).toBe(12_400_000);
    } finally {
      await m.close();
    }
  });

  it('exception on a single required value is reported at once (no retry); busy (6) is retried', async () => {
    const m = await meter({ tries: 3 });
    try {
      expect(await m.read()).toMatchObject(expected); // past the start-up self-check
      const before = server.responder.stats.requests;
      server.responder.faults = [{ kind: 'exception', code: 4 }];
      await expect(m.read()).rejects.toThrow(`unit 1 on 127.0.0.1:${server.port} (RTU over TCP) refused to read input registers 0..17: exception 4 slave device failure (is it really a Eastron SDM630 (v2, SDM630MCT)?)`);
      expect(server.responder.stats.requests - before).toBe(1);
      server.responder.faults = [{ kind: 'exception', code: 6 }];
      expect(await m.read()).toMatchObject(expected);
      const mid = server.responder.stats.requests;
      regs.refuse(4, 0x0000, 2); // a unit without voltage L1: a required value
      await expect(m.read()).rejects.toThrow(`unit 1 on 127.0.0.1:${server.port} (RTU over TCP) refused to read input registers 0..1: exception 2 illegal data address (is it really a Eastron SDM630 (v2, SDM630MCT)?)`);
      // 0..17 refused, split into single values; the first of them is refused too: no more requests, no retries.
      expect(server.responder.stats.requests - mid).toBe(2);
    } finally {
      await m.close();
    }
  });

  it('gateway gone and back: reads fail plainly, then resume on the same meter object', async () => {
    const m = await meter({ tries: 1 });
    try {
      expect(await m.read()).toMatchObject(expected);
      const port = server.port;
      await server.close();
      await expect(m.read()).rejects.toMatchObject({ kind: expect.stringMatching(/^(port|timeout)$/) });
      await expect(m.read()).rejects.toThrow(`cannot open 127.0.0.1:${port} (RTU over TCP)`);
      await server.listen(port);
      expect(await m.read()).toMatchObject(expected);
    } finally {
      await m.close();
    }
  });
});

describe('Modbus TCP faults (ServerTCP)', () => {
  it('slow answer times out, exception is plain, then reads recover', async () => {
    const units = new Map<number, RegisterFile>();
    const regs = new RegisterFile();
    const { expected } = loadKnownValues(em340, regs);
    units.set(1, regs);
    const server = new ModbusTcpServer(units);
    const port = await freePort();
    await server.listen(port);
    const m = await meterFor({ model: 'em340', transport: 'tcp', host: '127.0.0.1', port, timeoutMs: 400, tries: 1 });
    try {
      server.faults = ['slow:800'];
      await expect(m.read()).rejects.toThrow(`no answer from unit 1 on 127.0.0.1:${port} (Modbus TCP) after 1 try (check host, port and unit id)`);
      await new Promise((r) => setTimeout(r, 600));
      expect(await m.read()).toEqual({ ...expected, monoMs: expect.any(Number) });
      server.faults = ['exception:4'];
      await expect(m.read()).rejects.toThrow(/refused to read input registers 0\.\.41: exception 4 slave device failure/);
      expect(await m.read()).toEqual({ ...expected, monoMs: expect.any(Number) });
    } finally {
      await m.close();
      await server.close();
    }
  });
});

describe('session energy through the poller stays exact across faults', () => {
  for (const model of [sdm630, em340]) {
    it(`${model.model}: end minus start equals the register difference; a glitch is rejected and counted`, async () => {
      const units = new Map<number, RegisterFile>();
      const regs = new RegisterFile();
      loadKnownValues(model, regs, 5_000_000);
      units.set(1, regs);
      const server = new RtuTcpServer(units);
      await server.listen();
      const m = await meterFor({ model: model.model, transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, unitId: 1, timeoutMs: 400, tries: 1 });
      const poller = new MeterPoller(m, { connectorId: 1, intervalMs: 1000, staleAfterMs: 10_000, maxPowerW: 100_000_000, clock: realClock, log: silentLogger() });
      const health: string[] = [];
      poller.on('health', (s) => health.push(s.health));
      // What the register itself says, in Wh (float32 kWh registers are rounded to the nearest Wh).
      const registerWh = (wh: number) => (model.values.get('energyImport')!.type === 'float32' ? Math.round(Math.fround(wh / 1000) * 1000) : wh);
      try {
        const start = (await poller.readNow()).energyImportWh;
        expect(start).toBe(registerWh(5_000_000));
        const faults = [{ kind: 'silence' as const }, { kind: 'bad-crc' as const }, { kind: 'garbage' as const }, { kind: 'exception' as const, code: 4 }];
        let wh = 5_000_000;
        for (const f of faults) {
          wh += 100; // em340 counts in 0.1 kWh steps
          setEnergyWh(model, regs, wh);
          server.responder.faults = [f];
          const err = await poller.readNow().then(() => undefined, (e: Error) => e);
          expect(err, f.kind).toBeInstanceOf(Error);
          const got = await poller.readNow().then((s) => s.energyImportWh, (e: Error) => e.message);
          expect(got, `after ${f.kind}: ${err?.message}`).toBe(registerWh(wh));
        }
        // A glitching register: 10 MWh more for one answer. Rejected, counted, not recorded.
        const e = model.values.get('energyImport')!;
        const glitch = encodeRaw(e, e.type === 'float32' ? (wh + 10_000_000) / 1000 : Math.round((wh + 10_000_000) / 100));
        server.responder.faults = [{ kind: 'override', fc: e.fc, addr: e.address, words: glitch }];
        await expect(poller.readNow()).rejects.toThrow(/implausible meter reading: energy register jumped/);
        expect(poller.latest()!.energyImportWh).toBe(registerWh(wh));
        // The gateway disappears mid-session and comes back.
        const port = server.port;
        await server.close();
        await expect(poller.readNow()).rejects.toThrow();
        await expect(poller.readNow()).rejects.toThrow();
        await expect(poller.readNow()).rejects.toThrow();
        expect(poller.status().health).toBe('offline');
        wh += 300;
        setEnergyWh(model, regs, wh);
        await server.listen(port);
        const end = (await poller.readNow()).energyImportWh;
        expect(end - start).toBe(registerWh(wh) - registerWh(5_000_000));
        const st = poller.status();
        expect(st).toMatchObject({ health: 'ok', rejectedReads: 1, failures: 0 });
        expect(st.failedReads).toBe(7);
        expect(st.errorCounts.timeout! + (st.errorCounts.garbage ?? 0)).toBeGreaterThanOrEqual(2);
        expect(st.errorCounts.crc).toBe(1);
        expect(st.errorCounts.exception).toBe(1);
        expect(health).toEqual(['degraded', 'ok', 'degraded', 'ok', 'degraded', 'ok', 'degraded', 'ok', 'degraded', 'offline', 'ok']);
      } finally {
        await poller.stop();
        await m.close();
        await server.close();
      }
    });
  }
});

describe('a meter that refuses reads over registers it does not have (exception 2)', () => {
  const fixture = (model: string) => VENDOR_FIXTURES.find((f) => f.model === model)!;
  const registersOf = (model: string) => {
    const regs = new RegisterFile();
    for (const r of fixture(model).registers) regs.setWords(r.fc, r.address, r.words);
    return regs;
  };
  const valueOf = (model: string, q: string) => fixture(model).registers.find((r) => r.quantity === q)!.expected;

  it('a coalesced read refused for an unused register in its gap is split, and the split is kept', async () => {
    const regs = registersOf('sdm630');
    regs.refuse(4, 0x0040); // 30065: not a parameter of the SDM630 table, inside the 0x34..0x4B request
    const server = new RtuTcpServer(new Map([[1, regs]]));
    await server.listen();
    const m = await meterFor({ model: 'sdm630', transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, timeoutMs: 400, tries: 3 });
    try {
      expect(m.plan).toEqual([{ fc: 4, start: 0, count: 18 }, { fc: 4, start: 0x34, count: 24 }]);
      const s = await m.read();
      expect(s.energyImportWh).toBe(valueOf('sdm630', 'energyImport'));
      expect(s.energyExportWh).toBe(valueOf('sdm630', 'energyExport'));
      expect(s.powerW).toBe(valueOf('sdm630', 'power'));
      expect(s.frequencyHz).toBe(valueOf('sdm630', 'frequency'));
      // The self-check, 0..17, the refused 52..75 (not retried: exception 2 is final), then 52..53 and 70..75.
      const checks = selfCheckReads(m.model).length;
      expect(server.responder.stats.requests).toBe(checks + 4);
      expect(server.responder.stats.refused).toBe(1);
      expect(m.plan).toEqual([{ fc: 4, start: 0, count: 18 }, { fc: 4, start: 0x34, count: 2 }, { fc: 4, start: 0x46, count: 6 }]);
      expect(await m.read()).toEqual({ ...s, monoMs: expect.any(Number) });
      expect(server.responder.stats.requests).toBe(checks + 7);
      expect(server.responder.stats.refused).toBe(1);
    } finally {
      await m.close();
      await server.close();
    }
  });

  it('a split plan is tried coalesced again after UNSUPPORTED_REPROBE_READS reads (one refusal does not cost requests for ever)', async () => {
    const regs = registersOf('sdm630');
    regs.refuse(4, 0x0040);
    const server = new RtuTcpServer(new Map([[1, regs]]));
    await server.listen();
    const m = await meterFor({ model: 'sdm630', transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, timeoutMs: 400, tries: 1 });
    const coalesced = [{ fc: 4, start: 0, count: 18 }, { fc: 4, start: 0x34, count: 24 }];
    try {
      await m.read();
      expect(m.plan).toHaveLength(3);
      // Still refused at the re-probe: split again, one refused request per UNSUPPORTED_REPROBE_READS reads.
      for (let i = 1; i < UNSUPPORTED_REPROBE_READS; i++) await m.read();
      expect(server.responder.stats.refused).toBe(1);
      await m.read();
      expect(server.responder.stats.refused).toBe(2);
      expect(m.plan).toHaveLength(3);
      // The meter answers the whole range now: after the next re-probe the plan is coalesced again.
      regs.answerAll();
      for (let i = 0; i < UNSUPPORTED_REPROBE_READS; i++) await m.read();
      expect(m.plan).toEqual(coalesced);
      const before = server.responder.stats.requests;
      expect((await m.read()).energyImportWh).toBe(valueOf('sdm630', 'energyImport'));
      expect(server.responder.stats.requests - before).toBe(2);
    } finally {
      await m.close();
      await server.close();
    }
  }, 60_000);

  it('EM24 without the export counter (evcc#31736): export left out, import billed, not asked again every poll', async () => {
    const regs = registersOf('em24');
    regs.refuse(4, 0x005c, 2);
    const server = new RtuTcpServer(new Map([[1, regs]]));
    await server.listen();
    const m = await meterFor({ model: 'em24', transport: 'tcp-rtu', host: '127.0.0.1', port: server.port, timeoutMs: 400, tries: 3 });
    try {
      const planned = m.plan.length;
      const s = await m.read();
      expect(s.energyImportWh).toBe(valueOf('em24', 'energyImport'));
      expect(s.energyExportWh).toBeUndefined();
      expect(s.voltageV).toEqual([230.1, 231.2, 229.8]);
      const checks = selfCheckReads(m.model).length;
      expect(server.responder.stats.requests).toBe(checks + planned);
      expect(server.responder.stats.refused).toBe(1);
      expect(m.plan).toHaveLength(planned - 1);
      const again = await m.read();
      expect(again.energyImportWh).toBe(valueOf('em24', 'energyImport'));
      expect(server.responder.stats.requests).toBe(checks + planned + planned - 1);
      expect(server.responder.stats.refused).toBe(1);
    } finally {
      await m.close();
      await server.close();
    }
  });
});
