import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { MqttPowerSourceConfig } from '../config/pv.js';
import type { MqttConfig } from '../config/mqtt.js';
import type { Logger } from '../log.js';
import { FreshValue, type GridPowerSource, type GridReading } from './grid-source.js';
import { parsePowerPayload } from './power-payload.js';

export interface MqttPowerSourceOptions {
  cfg: MqttPowerSourceConfig;
  /** The station's mqtt section: its broker (and credentials, TLS) when cfg.url is not given. */
  broker?: MqttConfig;
  clientId: string;
  monoMs: () => number;
  log: Logger;
}

/** Bad messages logged per minute at most (a wrong jsonPath would otherwise log every second). */
const BAD_LOG_PER_MIN = 5;

/**
 * Grid power from one MQTT topic. Its own client (energy/ does not reach into telemetry/), which
 * reconnects on its own every few seconds; retained messages are ignored: a retained value may be
 * hours old and would pass for a live surplus.
 */
export class MqttPowerSource implements GridPowerSource {
  private readonly fresh: FreshValue;
  private readonly listeners = new Set<(r: GridReading) => void>();
  private readonly client: MqttClient;
  private counts = { ok: 0, bad: 0, retainedIgnored: 0 };
  private lastError: string | null = null;
  private badWindow = { startMs: 0, logged: 0 };
  private connected = false;
  private warned = false;

  constructor(private readonly o: MqttPowerSourceOptions) {
    this.fresh = new FreshValue(o.cfg.staleAfterS * 1000);
    const fromBroker = o.cfg.url === undefined ? o.broker : undefined;
    const url = o.cfg.url ?? o.broker?.url;
    if (!url) throw new Error('pv.source.mqtt.url: no broker (give url or add an mqtt section)');
    const opts: IClientOptions = {
      clientId: o.clientId,
      username: o.cfg.username ?? fromBroker?.username,
      password: o.cfg.password ?? fromBroker?.password,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 5000,
      resubscribe: true,
    };
    const tls = fromBroker?.tls;
    if (tls) {
      const read = (f?: string) => (f ? readFileSync(f) : undefined);
      Object.assign(opts, { ca: read(tls.caFile), cert: read(tls.certFile), key: read(tls.keyFile), rejectUnauthorized: tls.rejectUnauthorized });
    }
    this.client = connect(url, opts);
    this.client.on('connect', () => {
      this.connected = true;
      this.warned = false;
      this.client.subscribe(o.cfg.topic, { qos: 0 }, (err) => {
        if (err) o.log.warn({ err: err.message, topic: o.cfg.topic }, 'PV: cannot subscribe to the grid power topic');
      });
      o.log.info({ topic: o.cfg.topic }, 'PV: grid power topic subscribed');
    });
    this.client.on('close', () => (this.connected = false));
    this.client.on('error', (err) => {
      this.lastError = err.message;
      // One warning per outage (connected again resets it); the retries every 5 s at debug level.
      if (this.warned) o.log.debug({ err: err.message }, 'PV: grid power broker error');
      else o.log.warn({ err: err.message, topic: o.cfg.topic }, 'PV: cannot reach the broker of the grid power topic; no surplus is assumed until it answers');
      this.warned = true;
    });
    this.client.on('message', (topic, payload, packet) => {
      if (topic !== o.cfg.topic) return;
      if (packet.retain) {
        this.counts.retainedIgnored++;
        return;
      }
      this.onPayload(payload);
    });
  }

  private onPayload(payload: Buffer): void {
    const parsed = parsePowerPayload(payload, this.o.cfg.jsonPath, this.o.cfg.invert);
    const now = this.o.monoMs();
    if (!parsed.ok) {
      this.counts.bad++;
      this.lastError = parsed.reason;
      if (now - this.badWindow.startMs > 60_000) this.badWindow = { startMs: now, logged: 0 };
      if (this.badWindow.logged++ < BAD_LOG_PER_MIN) this.o.log.warn({ topic: this.o.cfg.topic, reason: parsed.reason }, 'PV: grid power message ignored');
      return;
    }
    this.counts.ok++;
    const r = { powerW: parsed.powerW, atMs: now };
    this.fresh.set(r);
    for (const l of this.listeners) l(r);
  }

  latest(nowMs: number): GridReading | null {
    return this.fresh.latest(nowMs);
  }

  onReading(listener: (r: GridReading) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(nowMs: number): Record<string, unknown> {
    const r = this.fresh.latest(nowMs);
    return { kind: 'mqtt', topic: this.o.cfg.topic, connected: this.connected, gridW: r?.powerW ?? null, ageS: this.fresh.ageS(nowMs), stale: r === null, messages: { ...this.counts }, lastError: this.lastError };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.client.endAsync(true).catch(() => undefined);
  }
}
