import rpc from 'ocpp-rpc';
import { Csms } from '../ocpp/csms.js';

const { createRPCError } = rpc;

export const TX_ACTIONS = ['StartTransaction', 'StopTransaction', 'MeterValues'] as const;
/** Everything the station delivers from its durable queue: the transaction messages and the critical security events. */
export const QUEUED_ACTIONS = [...TX_ACTIONS, 'SecurityEventNotification'] as const;

/** One message of the station's durable queue as the CSMS received it. */
export interface TxMsg {
  /** receipt order over the whole run (all server instances) */
  seq: number;
  action: string;
  params: any;
  /**
   * Payload identity: the canonical JSON of the whole payload. OCPP 1.6 has no idempotency key, and
   * evsed resends a message it cannot know was answered with the identical payload (same timestamps,
   * meter values and transactionId), so two receipts with the same key are one message.
   */
  key: string;
  /** the CSMS processed it (recorded it and produced a reply; the reply may not have reached the station) */
  processed: boolean;
}

export type Override = (params: any) => any;

/**
 * The CSMS fixture of test/ocpp (ocpp-rpc RPCServer, strict mode) made unreliable: it can be taken
 * down (connections dropped, then refused) and brought up again on the same port, hold its replies
 * back or answer slowly. It keeps one log across all its server instances and behaves like a CSMS that
 * deduplicates by payload identity: a StartTransaction received again with the identical payload gets
 * the transactionId it got the first time.
 */
export class FlakyCsms {
  readonly log: TxMsg[] = [];
  readonly overrides = new Map<string, Override>();
  /** ms to wait before answering a transaction message (slow CSMS) */
  replyDelayMs = 0;
  /** every server instance so far (the last one is up when `isUp`) */
  readonly instances: Csms[] = [];
  private current?: Csms;
  private seq = 0;
  private nextTxId = 1;
  private readonly txIds = new Map<string, number>();
  private holding = false;
  private releaseHeld: (() => void)[] = [];

  constructor(readonly port: number) {}

  get isUp(): boolean {
    return this.current !== undefined;
  }

  get server(): Csms | undefined {
    return this.current;
  }

  async up(): Promise<void> {
    if (this.current) return;
    const c = new Csms();
    for (const action of [...QUEUED_ACTIONS, 'Authorize']) c.responders.set(action, (params) => this.respond(c, action, params));
    await c.listen(this.port);
    this.instances.push(c);
    this.current = c;
  }

  /** Close the server: open connections are dropped, new ones refused until `up()`. */
  async down(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    await c?.close();
  }

  /** Replies to transaction messages are held back until `release()` (or forever, if the server goes down). */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const r of this.releaseHeld.splice(0)) r();
  }

  /** Every CALL any instance received (BootNotification, StatusNotification, ...), in order per instance. */
  allReceived(action?: string): any[] {
    return this.instances.flatMap((c) => c.received).filter((r) => action === undefined || r.action === action).map((r) => r.params);
  }

  /** The transactionId the CSMS gave to the StartTransaction with this payload identity. */
  txIdOf(startKey: string): number | undefined {
    return this.txIds.get(startKey);
  }

  /** Distinct messages (by payload identity) of an action, first receipt first. */
  distinct(action: string, filter: (m: TxMsg) => boolean = () => true): TxMsg[] {
    const seen = new Map<string, TxMsg>();
    for (const m of this.log) {
      if (m.action !== action || !filter(m)) continue;
      const had = seen.get(m.key);
      if (!had) seen.set(m.key, { ...m });
      else if (m.processed) had.processed = true;
    }
    return [...seen.values()];
  }

  /** Records a message as if received and processed (for the self-test of the ledger comparison). Returns the reply. */
  record(action: string, params: any): any {
    const key = JSON.stringify(params);
    this.log.push({ seq: ++this.seq, action, params, key, processed: true });
    return this.defaultReply(action, params, key);
  }

  private async respond(instance: Csms, action: string, params: any): Promise<any> {
    if (action === 'Authorize') {
      const o = this.overrides.get(action);
      return o ? o(params) : { idTagInfo: { status: 'Accepted' } };
    }
    const m: TxMsg = { seq: ++this.seq, action, params, key: JSON.stringify(params), processed: false };
    this.log.push(m);
    while (this.holding) await new Promise<void>((r) => this.releaseHeld.push(r));
    if (this.replyDelayMs > 0) await new Promise((r) => setTimeout(r, this.replyDelayMs));
    if (this.current !== instance) return new Promise(() => undefined); // went down meanwhile: no reply
    const o = this.overrides.get(action);
    const reply = o ? o(params) : this.defaultReply(action, params, m.key);
    m.processed = true;
    return reply;
  }

  private defaultReply(action: string, params: any, key: string): any {
    if (action === 'StartTransaction') {
      let id = this.txIds.get(key);
      if (id === undefined) {
        id = this.nextTxId++;
        this.txIds.set(key, id);
      }
      return { transactionId: id, idTagInfo: { status: 'Accepted' } };
    }
    if (action === 'StopTransaction') return params.idTag ? { idTagInfo: { status: 'Accepted' } } : {};
    return {};
  }

  /** For overrides: a StartTransaction reply with this status, keeping payload-identity ids. */
  startReply(params: any, status: string): any {
    const key = JSON.stringify(params);
    let id = this.txIds.get(key);
    if (id === undefined) {
      id = this.nextTxId++;
      this.txIds.set(key, id);
    }
    return { transactionId: id, idTagInfo: { status } };
  }

  static callError(code: string, message: string): unknown {
    return createRPCError(code, message);
  }

  async close(): Promise<void> {
    this.release();
    await this.down();
  }
}
