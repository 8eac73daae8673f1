import { PilotBoardSim } from '../../src/sim/pilot-board-sim.js';
import { RtuSlaveLine, type RtuUnit } from '../../src/sim/modbus-rtu-slave.js';
import { loadModels } from '../../src/meter/modbus/model.js';
import { RegisterFile, loadKnownValues, setEnergyWh } from '../meter/helpers/registers.js';
import { SocatPtyPair } from '../support/pty.js';

/**
 * One RS-485 line as the pilot-board tests use it: a simulated EVSE DIN board (unit 1) and an
 * SDM630 (unit 2) served on a socat pty pair standing in for the USB adapter. The meter's energy
 * register follows what the board's relay lets the simulated EV draw.
 */

const sdm630 = loadModels().get('sdm630')!;
export const LINE_START_WH = 100_000;

/** The SDM630's registers as a unit on the simulated line (reads only, as the driver needs). */
export class MeterUnit implements RtuUnit {
  readonly regs = new RegisterFile();
  read(fc: 3 | 4, address: number, count: number) {
    return Array.from({ length: count }, (_, i) => this.regs.get(fc, address + i));
  }
  write() {
    return { exception: 1 };
  }
}

export interface PilotBoardLine {
  pty: SocatPtyPair;
  board: PilotBoardSim;
  meter: MeterUnit;
  line: RtuSlaveLine;
  /** A station config (YAML) with one connector on this line: the board at unit 1, the meter at unit 2. */
  yaml(dataDir: string): string;
  dispose(): Promise<void>;
}

export async function pilotBoardLine(): Promise<PilotBoardLine> {
  const pty = new SocatPtyPair();
  await pty.up();
  const board = new PilotBoardSim({ ev: { maxCurrentA: 16, phases: 3 } });
  const meter = new MeterUnit();
  loadKnownValues(sdm630, meter.regs, LINE_START_WH);
  // The meter integrates what the EV draws through the board's relay.
  let wh = LINE_START_WH;
  let last = performance.now();
  const integrate = setInterval(() => {
    const now = performance.now();
    wh += (board.ev.currentA() * 3 * 230 * (now - last)) / 3_600_000;
    last = now;
    setEnergyWh(sdm630, meter.regs, Math.floor(wh));
  }, 50);
  const line = new RtuSlaveLine([[1, board], [2, meter]]);
  const served = await line.openSerial(pty.deviceEnd);
  const yaml = (dataDir: string) => `station: { id: CP-BOARD, vendor: evsed, model: test }
storage: { dir: ${JSON.stringify(dataDir)}, flushIntervalS: 1, sampleIntervalS: 1 }
auth: { mode: local, tags: [{ idTag: TAG-1 }] }
api: { listen: 127.0.0.1:0 }
clock: { trust: always }
# The test process also runs vitest, socat's other end and the simulated board and meter: a stall
# there is not the subject here (test/supervision covers the stall fault).
supervision: { stallThresholdMs: 10000 }
connectors:
  - id: 1
    maxCurrentA: 16
    phases: 3
    hardware: { driver: pilot-board, model: evse-din, path: ${pty.evsedEnd}, unitId: 1, pollMs: 50, timeoutMs: 150, requestGapMs: 2, offlineAfterPolls: 3 }
    meter: { model: sdm630, transport: serial, path: ${pty.evsedEnd}, unitId: 2, baudRate: 9600, parity: none, stopBits: 1, pollIntervalMs: 200, timeoutMs: 150, tries: 1 }
`;
  return {
    pty,
    board,
    meter,
    line,
    yaml,
    async dispose() {
      await served.close();
      clearInterval(integrate);
      board.dispose();
      await pty.dispose();
    },
  };
}
