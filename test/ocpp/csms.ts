import { createServer, type AddressInfo } from 'node:net';
import rpc from 'ocpp-rpc';

const { RPCServer } = rpc;

export interface Received {
  action: string;
  params: any;
  identity: string;
}

type Responder = (params: any, identity: string) => any;

/** A free TCP port on 127.0.0.1 (for a CSMS that is started later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A CSMS on ocpp-rpc's RPCServer in strict mode over real WebSockets on 127.0.0.1. Records every
 * CALL it receives; answers with sensible defaults that a test can override per action.
 */
export class Csms {
  server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true, callTimeoutMs: 5000 });
  readonly received: Received[] = [];
  readonly clients = new Map<string, any>();
  readonly responders = new Map<string, Responder>();
  readonly auths: { identity: string; password?: string }[] = [];
  /** How each station's socket ended, as the CSMS saw it (1006: dropped without a close frame). */
  readonly closes: { identity: string; code: number; /** received.length when it closed */ after: number }[] = [];
  nextTxId = 100;
  http?: import('node:http').Server;

  constructor() {
    this.server.auth((accept: any, _reject: any, handshake: any) => {
      this.auths.push({ identity: handshake.identity, password: handshake.password?.toString('utf8') });
      accept({});
    });
    this.server.on('client', (client: any) => {
      this.clients.set(client.identity, client);
      client.on('close', ({ code }: { code: number }) => {
        this.closes.push({ identity: client.identity, code, after: this.received.length });
        if (this.clients.get(client.identity) === client) this.clients.delete(client.identity);
      });
      client.handle(({ method, params }: { method: string; params: any }) => {
        this.received.push({ action: method, params, identity: client.identity });
        const r = this.responders.get(method);
        if (r) return r(params, client.identity);
        return this.defaults(method, params);
      });
    });
  }

  defaults(method: string, params: any): any {
    const now = new Date().toISOString();
    switch (method) {
      case 'BootNotification':
        return { status: 'Accepted', currentTime: now, interval: 300 };
      case 'Heartbeat':
        return { currentTime: now };
      case 'StatusNotification':
      case 'MeterValues':
        return {};
      case 'Authorize':
        return { idTagInfo: { status: 'Accepted' } };
      case 'StartTransaction':
        return { transactionId: this.nextTxId++, idTagInfo: { status: 'Accepted' } };
      case 'StopTransaction':
        return params.idTag ? { idTagInfo: { status: 'Accepted' } } : {};
      default:
        return {};
    }
  }

  async listen(port = 0): Promise<number> {
    this.http = await this.server.listen(port, '127.0.0.1');
    return (this.http.address() as AddressInfo).port;
  }

  client(identity = 'CP-TEST'): any {
    return this.clients.get(identity);
  }

  /** CALL the station from the CSMS side. */
  async call(action: string, params: any, identity = 'CP-TEST'): Promise<any> {
    await waitFor(() => this.client(identity), `station ${identity} connected`);
    return this.client(identity).call(action, params);
  }

  of(action: string): any[] {
    return this.received.filter((r) => r.action === action).map((r) => r.params);
  }

  async close(): Promise<void> {
    await this.server.close({ force: true, awaitPending: false }).catch(() => undefined);
  }
}

/** Poll until `fn` returns something truthy (tests never assert timings; this only bounds the wait). */
export async function waitFor<T>(fn: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
