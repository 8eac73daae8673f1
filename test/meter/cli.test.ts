import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { meterCommand } from '../../src/cli/commands/meter.js';
import { loadModels } from '../../src/meter/modbus/model.js';
import { RegisterFile, loadKnownValues } from './helpers/registers.js';
import { RtuTcpServer } from './helpers/servers.js';

describe('evsed meter read / scan (against the RTU-over-TCP test meter)', () => {
  const units = new Map<number, RegisterFile>();
  const server = new RtuTcpServer(units);
  let out: string[] = [];
  let err: string[] = [];
  beforeAll(async () => {
    const a = new RegisterFile();
    loadKnownValues(loadModels().get('sdm630')!, a);
    a.setWords(3, 0xfc02, [0x0070]); // Eastron meter code: SDM630
    const b = new RegisterFile();
    loadKnownValues(loadModels().get('em340')!, b, 777_700);
    units.set(1, a);
    units.set(2, b);
    await server.listen();
    vi.spyOn(console, 'log').mockImplementation((...x: unknown[]) => void out.push(x.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...x: unknown[]) => void err.push(x.join(' ')));
  });
  afterEach(() => {
    out = [];
    err = [];
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await server.close();
  });
  const conn = () => ['--transport', 'tcp-rtu', '--host', '127.0.0.1', '--port', String(server.port)];

  it('read prints energy, power, per-phase values and frequency', async () => {
    expect(await meterCommand(['read', '--model', 'sdm630', ...conn()])).toBe(0);
    const text = out.join('\n');
    expect(text).toContain(`Eastron SDM630 (v2, SDM630MCT) (sdm630), unit 1 on 127.0.0.1:${server.port} (RTU over TCP)`);
    expect(text).toContain('energy import 12345.678 kWh (12345678 Wh)');
    expect(text).toMatch(/voltage\s+230\.1\s+231\.2\s+229\.8\s+V/);
    expect(text).toMatch(/current\s+16\.012\s+15\.987\s+0\.500\s+A/);
    expect(text).toContain('frequency     50.02 Hz');
  });

  it('read --watch --count 2 --json prints one JSON line per reading', async () => {
    expect(await meterCommand(['read', '--model', 'em340', '--unit-id', '2', ...conn(), '--watch', '--count', '2', '--interval-ms', '10', '--json'])).toBe(0);
    expect(out).toHaveLength(2);
    expect(JSON.parse(out[1]!)).toMatchObject({ model: 'em340', unitId: 2, energyImportWh: 777_700 });
  });

  it('no answer: plain message and exit 69', async () => {
    expect(await meterCommand(['read', '--model', 'sdm630', '--unit-id', '9', '--timeout-ms', '100', ...conn()])).toBe(69);
    expect(err.join('\n')).toContain(`evsed meter read: no answer from unit 9 on 127.0.0.1:${server.port} (RTU over TCP) after 3 tries (check the gateway's serial settings, A/B wiring, unit id)`);
  });

  it('read checks the meter first: an SDM630 set to the M energy prefix is named with the register and the fix, exit 78, no reading', async () => {
    const a = units.get(1)!;
    a.setWords(3, 0x001e, [0x3f80, 0x0000]); // 1.0 = M
    try {
      expect(await meterCommand(['read', '--model', 'sdm630', ...conn()])).toBe(78);
      expect(out.join('\n')).not.toContain('energy import');
      expect(err.join('\n')).toContain(`evsed meter read: unit 1 on 127.0.0.1:${server.port} (RTU over TCP) energy units prefix (holding 40031, wire 0x001E) reads 1 = M (MWh): every energy register would read 1000 times too small, this map needs 0 = k (kWh); fix: set the energy units prefix back to k`);
      err = [];
      expect(await meterCommand(['read', '--model', 'sdm630', ...conn(), '--watch', '--count', '2', '--interval-ms', '10'])).toBe(78);
      expect(err.filter((l) => l.includes('energy units prefix'))).toHaveLength(2);
    } finally {
      a.setWords(3, 0x001e, [0, 0]);
    }
  });

  it('read with the wrong model: the model code names the right one (EM340 read as EM24), exit 78', async () => {
    expect(await meterCommand(['read', '--model', 'em24', '--unit-id', '2', ...conn()])).toBe(78);
    expect(err.join('\n')).toMatch(/evsed meter read: unit 2 on .* is not a Carlo Gavazzi EM24 .* reads 0x014B \(331\) = Carlo Gavazzi EM340 .*; fix: set meter\.model: em340/);
  });

  it('a PRO380 is read at its factory line 9600 8E1 (Inepro: even parity by default)', async () => {
    expect(await meterCommand(['read', '--model', 'pro380', '--transport', 'serial', '--path', '/dev/evsed-no-such-adapter', '--timeout-ms', '100'])).toBe(69);
    expect(err.join('\n')).toContain('cannot open /dev/evsed-no-such-adapter at 9600 8E1');
  });

  it('bad options: the config advice, as flags, exit 64', async () => {
    expect(await meterCommand(['read', '--model', 'sdm630', '--transport', 'serial', '--path', '/dev/null', '--baud-rate', '9601'])).toBe(64);
    expect(err.join('\n')).toContain('--baud-rate: must be one of 1200 | 2400 | 4800 | 9600 | 19200 | 38400 | 57600 | 115200 (got 9601)');
    expect(await meterCommand(['read', '--model', 'sdm999', ...conn()])).toBe(64);
    expect(err.join('\n')).toMatch(/--model: must be one of abb-b23 \| .*wm3m4c \(got "sdm999"\)/);
  });

  it('scan finds which unit ids answer and as which models', async () => {
    expect(await meterCommand(['scan', ...conn(), '--unit-ids', '1-3', '--timeout-ms', '100'])).toBe(0);
    const text = out.join('\n');
    expect(text).toContain(`127.0.0.1:${server.port} (RTU over TCP) unit 1: sdm630`);
    expect(text).toContain(`127.0.0.1:${server.port} (RTU over TCP) unit 2: em340`);
    expect(text).not.toMatch(/unit 3:/);
  });
});
