import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { loadModels } from '../../src/meter/modbus/model.js';
import { RegisterFile, loadKnownValues, setEnergyWh } from './helpers/registers.js';
import { RtuResponder } from './helpers/rtu.js';
import { meterFor } from './helpers/meters.js';
import { VENDOR_FIXTURES } from './fixtures/vendor-maps.js';
import { meterCommand } from '../../src/cli/commands/meter.js';

const hasSocat = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;

/** A pty pair: the test meter on one end, evsed's serial driver on the other. */
class PtyPair {
  private proc?: ChildProcess;
  private port?: SerialPort;
  /** Requests dropped because evsed's end was set to another baud rate than the meter's. */
  droppedAtWrongBaud = 0;
  /**
   * `meterBaud`: the test meter's line speed. A pty passes bytes whatever its speed, so the speed
   * evsed set on its end (termios, read with stty) is compared: at another speed a real meter
   * receives garbage and stays silent, and so does this one.
   */
  constructor(readonly dir: string, private readonly responder: RtuResponder, private readonly meterBaud?: number) {}

  /** The baud rate evsed's end is set to now. */
  evsedBaud(): number {
    return Number(String(spawnSync('stty', ['-F', this.evsedEnd, 'speed']).stdout).trim());
  }
  get meterEnd() { return join(this.dir, 'meter'); }
  get evsedEnd() { return join(this.dir, 'evsed'); }

  async up(): Promise<void> {
    this.proc = spawn('socat', [`pty,raw,echo=0,link=${this.meterEnd}`, `pty,raw,echo=0,link=${this.evsedEnd}`], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !(existsSync(this.meterEnd) && existsSync(this.evsedEnd)); i++) await new Promise((r) => setTimeout(r, 10));
    const port = new SerialPort({ path: this.meterEnd, baudRate: 9600, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    port.on('data', (d: Buffer) => {
      if (this.meterBaud !== undefined && this.evsedBaud() !== this.meterBaud) {
        this.droppedAtWrongBaud++;
        return;
      }
      this.responder.onData(d, (b) => port.write(b));
    });
    port.on('error', () => undefined);
    this.port = port;
  }

  /** The USB adapter is unplugged: both ptys vanish. */
  async down(): Promise<void> {
    const p = this.port;
    this.port = undefined;
    if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
    const proc = this.proc;
    this.proc = undefined;
    if (proc && proc.exitCode === null) {
      await new Promise<void>((r) => {
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      });
    }
  }
}

if (!hasSocat) console.log('SKIPPED: socat not installed: the serial pty tests (serial reads, USB unplug, meter scan across baud rates) did not run (apt-get install socat)');

describe.skipIf(!hasSocat)('serial RTU through a socat pty pair (connectRTUBuffered)', () => {
  const sdm630 = loadModels().get('sdm630')!;
  const regs = new RegisterFile();
  const { expected } = loadKnownValues(sdm630, regs);
  const responder = new RtuResponder(new Map([[1, regs]]));
  const dir = mkdtempSync(join(tmpdir(), 'evsed-pty-'));
  const pty = new PtyPair(dir, responder);
  beforeAll(async () => {
    await pty.up();
  });
  afterAll(async () => {
    await pty.down();
    rmSync(dir, { recursive: true, force: true });
  });
  const meter = (extra: object = {}) => meterFor({ model: 'sdm630', transport: 'serial', path: pty.evsedEnd, timeoutMs: 400, ...extra });

  it('reads every quantity exactly; a bad CRC and a late answer do not poison the line', async () => {
    const m = await meter({ tries: 1 });
    try {
      expect(await m.read()).toEqual({ ...expected, monoMs: expect.any(Number) });
      responder.faults = [{ kind: 'bad-crc' }];
      await expect(m.read()).rejects.toMatchObject({ kind: 'crc' });
      // Answer 150 ms after the 400 ms timeout: inside the quiet window, so flushed, not taken as the next answer.
      responder.faults = [{ kind: 'late', ms: 550 }];
      await expect(m.read()).rejects.toThrow(`no answer from unit 1 on ${pty.evsedEnd} at 9600 8N1 after 1 try (check A/B wiring, termination, unit id)`);
      setEnergyWh(sdm630, regs, 12_500_000);
      // The next answer takes 300 ms: without the quiet window the late frame would arrive while it is pending.
      responder.answerDelayMs = 300;
      expect((await m.read()).energyImportWh).toBe(12_500_000);
      responder.answerDelayMs = 2;
      expect(responder.stats.badRequestCrc).toBe(0);
    } finally {
      await m.close();
    }
  });

  it('USB adapter unplugged and plugged back: plain error, then the port is reopened', async () => {
    const m = await meter({ tries: 1 });
    try {
      expect((await m.read()).energyImportWh).toBe(12_500_000);
      await pty.down();
      await expect(m.read()).rejects.toThrow();
      await expect(m.read()).rejects.toThrow(/cannot open .*evsed at 9600 8N1: .* \(is the USB adapter plugged in\?\)/);
      setEnergyWh(sdm630, regs, 12_600_000);
      await pty.up();
      expect((await m.read()).energyImportWh).toBe(12_600_000);
    } finally {
      await m.close();
    }
  });
});

describe.skipIf(!hasSocat)('evsed meter scan over serial across baud rates (socat pty pair)', () => {
  // An SDM120 at its factory 2400 8N1, unit 1, serving the makers' register table.
  const fixture = VENDOR_FIXTURES.find((f) => f.model === 'sdm120')!;
  const regs = new RegisterFile();
  for (const r of fixture.registers) regs.setWords(r.fc, r.address, r.words);
  regs.refuse(3, 0xfc02); // no Eastron meter-code register on this test meter: look-alike maps cannot claim it
  const responder = new RtuResponder(new Map([[1, regs]]));
  const dir = mkdtempSync(join(tmpdir(), 'evsed-pty-scan-'));
  const pty = new PtyPair(dir, responder, 2400);
  let out: string[] = [];
  beforeAll(async () => {
    await pty.up();
    vi.spyOn(console, 'log').mockImplementation((...x: unknown[]) => void out.push(x.join(' ')));
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await pty.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the meter only at its own baud rate and names its model', async () => {
    out = [];
    const code = await meterCommand(['scan', '--transport', 'serial', '--path', pty.evsedEnd, '--baud-rates', '9600,2400', '--parity', 'none', '--unit-ids', '1-2', '--timeout-ms', '150']);
    const text = out.join('\n');
    expect(code, text).toBe(0);
    expect(text).toContain(`scanning ${pty.evsedEnd} at 9600 8N1, unit ids 1-2`);
    expect(text).toContain(`scanning ${pty.evsedEnd} at 2400 8N1, unit ids 1-2`);
    expect(text).toContain(`found:\n  ${pty.evsedEnd} at 2400 8N1 unit 1: sdm120`);
    expect(text).not.toMatch(/at 9600 8N1 unit \d/);
    expect(text).not.toMatch(/unit 2:/);
    // The probes at 9600 reached the meter's end and were ignored, as a meter at 2400 ignores them.
    expect(pty.droppedAtWrongBaud).toBeGreaterThan(0);
    expect(responder.stats.badRequestCrc).toBe(0);
  }, 30_000);

  it('no meter at the baud rates tried: plain message, exit 69', async () => {
    out = [];
    const code = await meterCommand(['scan', '--transport', 'serial', '--path', pty.evsedEnd, '--baud-rates', '9600,19200', '--parity', 'none', '--unit-ids', '1', '--timeout-ms', '150']);
    expect(code).toBe(69);
    expect(out.join('\n')).toContain('no meter answered (unit ids 1, 2 line setting(s)): check A/B wiring, termination and power of the meter');
  }, 30_000);
});
