import net from 'node:net';
import { createRequire } from 'node:module';
import { RtuResponder } from './rtu.js';
import type { RegisterFile } from './registers.js';

/** Our own RTU-over-TCP test meter (what a transparent RS-485/Ethernet gateway presents). */
export class RtuTcpServer {
  readonly responder: RtuResponder;
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  port = 0;

  constructor(units: Map<number, RegisterFile>) {
    this.responder = new RtuResponder(units);
  }

  async listen(port = 0): Promise<number> {
    this.server = net.createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      s.on('data', (d) => this.responder.onData(d, (b) => { if (!s.destroyed) s.write(b); }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** The gateway disappears: listener and every connection gone. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }
}

interface ServerTcpLike { close(cb: () => void): void; on(ev: string, cb: (...a: unknown[]) => void): void }
const { ServerTCP } = createRequire(import.meta.url)('modbus-serial') as { ServerTCP: new (vector: object, opts: object) => ServerTcpLike };

/** modbus-serial's Modbus TCP server serving the register file (for transport `tcp`). */
export class ModbusTcpServer {
  private server?: ServerTcpLike;
  /** Scripted: 'exception:<code>' or 'slow:<ms>' applied to the next requests. */
  faults: string[] = [];
  requests = 0;

  constructor(private readonly units: Map<number, RegisterFile>) {}

  /** Callback form (4 parameters): ServerTCP only waits for asynchronous answers that way. */
  private multi(fc: number) {
    return (addr: number, len: number, unitId: number, cb: (err: unknown, values?: number[]) => void) => {
      this.requests++;
      const regs = this.units.get(unitId);
      const fault = this.faults.shift();
      // ServerTCP reads values[i] even on an error (input registers), so always pass an array.
      const zeros = new Array<number>(len).fill(0);
      if (!regs) return cb({ modbusErrorCode: 0x0b }, zeros);
      if (fault?.startsWith('exception:')) return cb({ modbusErrorCode: Number(fault.slice(10)) }, zeros);
      if (regs.refuses(fc, addr, len)) return cb({ modbusErrorCode: 0x02 }, zeros);
      const words = Array.from({ length: len }, (_, i) => regs.get(fc, addr + i));
      if (fault?.startsWith('slow:')) return void setTimeout(() => cb(null, words), Number(fault.slice(5)));
      cb(null, words);
    };
  }

  async listen(port: number): Promise<void> {
    const vector = {
      getMultipleInputRegisters: this.multi(4),
      getMultipleHoldingRegisters: this.multi(3),
      getInputRegister: (a: number, u: number) => this.units.get(u)?.get(4, a) ?? 0,
      getHoldingRegister: (a: number, u: number) => this.units.get(u)?.get(3, a) ?? 0,
      getCoil: () => false,
      setRegister: () => undefined,
      setCoil: () => undefined,
    };
    this.server = new ServerTCP(vector, { host: '127.0.0.1', port, unitID: 255 });
    await new Promise<void>((resolve, reject) => {
      this.server!.on('initialized', () => resolve());
      this.server!.on('serverError', (e) => reject(e));
      this.server!.on('socketError', () => undefined);
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}
