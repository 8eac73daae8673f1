import net from 'node:net';
import { createRequire } from 'node:module';
import { loadModels } from '../src/meter/modbus/model.js';
import { planForModel, rtuBusTimeMs, bitsPerChar } from '../src/meter/modbus/plan.js';
import { acquireBus } from '../src/hal/modbus/bus.js';
import { ModbusMeter } from '../src/meter/modbus/meter.js';

const crc16 = createRequire(import.meta.url)('modbus-serial/utils/crc16') as (b: Buffer) => number;

/** A minimal RTU-over-TCP slave answering every FC03/FC04 read with zeros (energy 0 Wh is valid). */
async function zeroSlave(): Promise<{ port: number; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        const req = buf.subarray(0, 8);
        buf = buf.subarray(8);
        requests++;
        const count = req.readUInt16BE(4);
        const body = Buffer.alloc(3 + 2 * count);
        body[0] = req[0]!;
        body[1] = req[1]!;
        body[2] = 2 * count;
        const out = Buffer.alloc(body.length + 2);
        body.copy(out);
        out.writeUInt16LE(crc16(body), body.length);
        s.write(out);
      }
    });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Per model: requests per full snapshot (goal 1, at most 2; the EM24's 11 words per request need 6), registers moved, computed RTU bus
 * time per snapshot at 9600 8N1 and at the model's factory line setting (wire time + 2 x t3.5 per
 * request; the meter's turnaround is not published and not included), plus the driver's own
 * time per snapshot over a loopback RTU-over-TCP socket (no bus time in it).
 */
export async function benchMeter(opts: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const snapshots = opts.quick ? 50 : 300;
  const slave = await zeroSlave();
  const perModel: Record<string, unknown> = {};
  try {
    for (const model of loadModels().values()) {
      const plan = planForModel(model);
      const regs = plan.reduce((a, b) => a + b.count, 0);
      const bus9600 = plan.reduce((a, b) => a + rtuBusTimeMs(b.count, 9600, 10), 0);
      const d = model.defaults;
      const busDefault = plan.reduce((a, b) => a + rtuBusTimeMs(b.count, d.baudRate, bitsPerChar(d.dataBits, d.parity, d.stopBits)), 0);
      const spacing = model.quirks.minRequestSpacingMs * plan.length;

      const handle = acquireBus({ transport: 'tcp-rtu', host: '127.0.0.1', port: slave.port, timeoutMs: 1000 });
      // The zero-filled slave has no model code: the start-up self-check (once per meter, not per snapshot) is left out.
      const meter = new ModbusMeter(model, handle, { unitId: d.unitId, tries: 1, selfCheck: false });
      const before = slave.requests();
      await meter.read();
      const measuredRequests = slave.requests() - before;
      const t0 = performance.now();
      for (let i = 0; i < snapshots; i++) await meter.read();
      const loopbackMs = (performance.now() - t0) / snapshots;
      await meter.close();

      perModel[model.model] = {
        requestsPerSnapshot: plan.length,
        requestsMeasured: measuredRequests,
        registersPerSnapshot: regs,
        busMsPerSnapshotAt9600_8N1: Math.round(bus9600 * 10) / 10,
        busMsPerSnapshotAtFactorySetting: { line: `${d.baudRate} ${d.dataBits}${d.parity[0]!.toUpperCase()}${d.stopBits}`, ms: Math.round(busDefault * 10) / 10 },
        minSpacingMsPerSnapshot: spacing,
        loopbackMsPerSnapshot: Math.round(loopbackMs * 1000) / 1000,
      };
    }
  } finally {
    await slave.close();
  }
  const counts = Object.values(perModel).map((m) => (m as { requestsPerSnapshot: number }).requestsPerSnapshot);
  return {
    goal: 'requests per full snapshot: 1, at most 2, unless the maker limits words per request (Carlo Gavazzi EM24: 11)',
    maxRequestsPerSnapshot: Math.max(...counts),
    snapshotsTimedPerModel: snapshots,
    note: 'bus time = (13 + 2N) chars + 2 x t3.5 per request, meter turnaround not included',
    models: perModel,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchMeter({ quick: process.argv.includes('--quick') }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
