import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusBus } from '../../src/hal/modbus/bus.js';
import { RtuSlaveLine, type RtuUnit } from '../../src/sim/modbus-rtu-slave.js';

/**
 * The shared Modbus line's writes and its urgent lane, over RTU frames on a real socket (the
 * transport a transparent RS-485 gateway gives; the serial path is covered over socat ptys in
 * pilot-board.test.ts and test/meter/serial.test.ts).
 */
class Registers implements RtuUnit {
  readonly regs = new Map<number, number>();
  readonly log: string[] = [];
  read(_fc: 3 | 4, address: number, count: number) {
    this.log.push(`read ${address}`);
    return Array.from({ length: count }, (_, i) => this.regs.get(address + i) ?? 0);
  }
  write(address: number, words: number[]) {
    if (address >= 5000) return { exception: 2 };
    this.log.push(`write ${address}`);
    words.forEach((w, i) => this.regs.set(address + i, w));
    return 'ok' as const;
  }
}

describe('ModbusBus writes (FC16) and urgent requests', () => {
  const unit = new Registers();
  const line = new RtuSlaveLine([[7, unit]]);
  line.answerDelayMs = 20;
  let server: net.Server;
  let port = 0;
  beforeAll(async () => {
    server = net.createServer((s) => {
      s.on('data', (d) => line.onData(d, (b) => void (!s.destroyed && s.write(b))));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('writes registers and reads them back; a refused write is an exception, the line stays usable', async () => {
    const bus = new ModbusBus({ transport: 'tcp-rtu', host: '127.0.0.1', port, timeoutMs: 500 });
    try {
      await bus.write(7, 1000, [16, 0, 3]);
      expect((await bus.read(7, 3, 1000, 3)).words).toEqual([16, 0, 3]);
      await expect(bus.write(7, 5000, [1])).rejects.toMatchObject({ kind: 'exception', modbusCode: 2 });
      expect((await bus.read(7, 3, 1000, 1)).words).toEqual([16]);
    } finally {
      await bus.close();
    }
  });

  it('an urgent write goes after the request in flight and before every waiting one', async () => {
    const bus = new ModbusBus({ transport: 'tcp-rtu', host: '127.0.0.1', port, timeoutMs: 500 });
    try {
      await bus.read(7, 3, 1, 1); // connected
      unit.log.length = 0;
      const reads = [bus.read(7, 3, 1, 1), bus.read(7, 3, 2, 1), bus.read(7, 3, 3, 1)];
      await new Promise((r) => setTimeout(r, 5)); // the first read is on the wire
      const urgent = bus.write(7, 1004, [1], { urgent: true });
      await Promise.all([...reads, urgent]);
      expect(unit.log).toEqual(['read 1', 'write 1004', 'read 2', 'read 3']);
    } finally {
      await bus.close();
    }
  });
});
