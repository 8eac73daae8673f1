import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Config } from '../config/schema.js';
import type { Service } from '../util/service.js';
import type { SessionExtrasProvider, StationEvents, StationPort } from '../evse/port.js';
import { FIRMWARE_VERSION } from '../domain/version.js';
import { withTimeout } from '../hal/clock.js';
import type { Logger } from '../log.js';
import { wholeSeconds, type SessionRecord } from '../store/sessions.js';
import { Backoff, type BackoffOptions } from '../util/backoff.js';
import { Subscriptions } from '../util/subscriptions.js';
import type { EnergyTargets } from '../billing/live.js';
import { Coalescer } from './coalescer.js';
import { parseCommand, type Command, type CommandContext, type ParsedCommand } from './commands.js';
import type { MqttConfig } from '../config/mqtt.js';
import { discoveryMessages, haDevice } from './discovery.js';
import type { PvControl } from '../energy/pv-service.js';
import { parsePvMode, pvDiscovery, pvState, PvTopics } from './pv.js';
import { connectorState, readerState, stationInfo, type FinalSession, type ReaderStateInput } from './state.js';
import { OFFLINE, ONLINE, Topics } from './topics.js';
import { InboundThrottle } from './inbound.js';
import type { OwnerControls } from '../energy/owner.js';
import { executeOwnerCommand, ownerState, parseTimersCommand, timersState, timersTopics } from './owner.js';
import { siteState, siteTopic } from './site.js';
import type { SiteStatus } from '../energy/load-service.js';
import type { LearnResult } from '../panel/learn.js';
import { billingState, type StationCosts } from './billing.js';

/** Reconnects to the broker: 1 s, 2 s, 4 s ... up to 30 s, each ±20 %. */
export const MQTT_RECONNECT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };

export interface MqttContext {
  config: Config;
  station: StationPort;
  log: Logger;
  /** Live cost and time to finish per connector (the daemon passes LiveSessionInfo.provider(), src/billing/live.ts). */
  liveExtras?: SessionExtrasProvider;
  /** The energy target per connector (the daemon passes LiveSessionInfo.energyTargets()); without it there is no target topic or command. */
  energyTargets?: EnergyTargets;
  /** Owner limits, timers, charge now (src/energy); without it there are no such topics, commands or entities. */
  owner?: OwnerControls;
  /** The card readers (the daemon passes its ReaderService): state topics and a problem entity each. */
  readers?: ReaderSource;
  /** PV surplus charging (a pv section): its topics, its mode command and Home Assistant entities. */
  pv?: PvControl;
  /** Load management's status (the daemon passes LoadService.status()); without it there are no site topics. */
  site?: () => SiteStatus | undefined;
  /** Learn mode (src/panel/learn.ts TagLearner): with mqtt.commands, a command topic starts it. */
  learner?: TagLearnSource;
  /** A tag's name (the owner's list, then the config's), for session/user. */
  tagName?: (idTag: string) => string | null | undefined;
  /** The price now and the lifetime cost (with a tariff; LiveSessionInfo.stationCosts()): tariff/price, cost/total. */
  costs?: () => StationCosts | null;
  /** The station page, once the API listens (Home Assistant's configuration_url). */
  configurationUrl?: () => string | undefined;
  /** The newest session of a connector in the store (SessionStore.latestOn): its final numbers are published from the start. */
  latestSession?: (connectorId: number) => SessionRecord | undefined;
}

/** What MQTT needs of learn mode. */
export interface TagLearnSource {
  learn(name: string, opts?: { connectorId?: number }): Promise<LearnResult>;
}

/** The longest learn command payload (a name of 80 characters in JSON with a connector). */
const MAX_LEARN_PAYLOAD = 256;

/** What MQTT needs of the readers (src/panel/readers.ts ReaderService). */
export interface ReaderSource {
  status(): ReaderStateInput[];
  on(e: 'status', l: (s: ReaderStateInput) => void): unknown;
  off(e: 'status', l: (s: ReaderStateInput) => void): unknown;
}

export interface MqttService extends Service {
  /** true while connected to the broker. */
  connected(): boolean;
}

/** Bad command messages logged per minute at most; the rest are counted. */
const BAD_COMMAND_LOG_PER_MIN = 10;
/**
 * Home Assistant's `online`: discovery is republished this long after the first one (a burst is
 * over by then), and at most once per interval however many arrive: a storm costs one republish.
 */
export const HA_ONLINE_DELAY_MS = 1000;
export const HA_ONLINE_INTERVAL_MS = 10_000;
/** Commands per topic: the first at once, a burst after it once more per interval with its last value. */
export const COMMAND_INTERVAL_MS = 500;

/**
 * Publish the station to an MQTT broker (retained state, Home Assistant discovery) and, with
 * mqtt.commands, accept commands. Returns at once: the connection is made in the background and
 * re-made forever with backoff, so a broker that is down never delays or stops charging.
 */
export async function startMqtt(ctx: MqttContext): Promise<MqttService> {
  if (!ctx.config.mqtt) throw new Error('startMqtt: the config has no mqtt section');
  const bridge = new MqttBridge(ctx, ctx.config.mqtt);
  bridge.start();
  return bridge;
}

class MqttBridge implements MqttService {
  private readonly topics: Topics;
  private readonly pvTopics: PvTopics;
  private readonly coalescer: Coalescer;
  private readonly log: Logger;
  private readonly connectors: { id: number; phases: 1 | 3; maxCurrentA: number; phaseRelay: boolean }[];
  private readonly commandCtx: CommandContext;
  private readonly lastSession = new Map<number, FinalSession>();
  private readonly lastSessionId = new Map<number, number>();
  private readonly subs = new Subscriptions();
  private readonly backoff = new Backoff(MQTT_RECONNECT_BACKOFF);
  private client?: MqttClient;
  private tick?: NodeJS.Timeout;
  private flushTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private isConnected = false;
  private everConnected = false;
  private outageLogged = false;
  private stopping = false;
  private badCommands = { windowStartMs: 0, logged: 0, suppressed: 0 };
  private readonly haOnline = new InboundThrottle<true>({ intervalMs: HA_ONLINE_INTERVAL_MS, leading: false, delayMs: HA_ONLINE_DELAY_MS });
  private readonly commandThrottle = new InboundThrottle<Command>({ intervalMs: COMMAND_INTERVAL_MS, leading: true });
  private inboundTimer?: NodeJS.Timeout;

  constructor(
    private readonly ctx: MqttContext,
    private readonly cfg: MqttConfig,
  ) {
    this.log = ctx.log;
    this.topics = new Topics(cfg.topicPrefix, ctx.station.info.id);
    this.pvTopics = new PvTopics(this.topics);
    this.coalescer = new Coalescer(cfg.publishIntervalS * 1000);
    this.connectors = ctx.config.connectors.map((c) => ({ id: c.id, phases: c.phases, maxCurrentA: c.maxCurrentA, phaseRelay: c.hardware.driver !== 'pilot-board' && c.hardware.phaseRelay !== undefined && c.hardware.phaseRelay !== false }));
    this.commandCtx = { topics: this.topics, maxCurrentA: new Map(this.connectors.map((c) => [c.id, c.maxCurrentA])) };
  }

  start(): void {
    const cfg = this.cfg;
    const opts: IClientOptions = {
      clientId: cfg.clientId ?? `evsed-${this.ctx.station.info.id}`,
      username: cfg.username,
      password: cfg.password,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      // Reconnects are ours (with backoff); nothing stale is queued while offline: state is republished on connect.
      reconnectPeriod: 0,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: this.topics.availability, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    };
    if (cfg.tls) {
      const read = (key: 'caFile' | 'certFile' | 'keyFile') => {
        const file = cfg.tls![key];
        if (!file) return undefined;
        try {
          return readFileSync(file);
        } catch (err) {
          throw new Error(`mqtt.tls.${key}: cannot read ${file}: ${(err as Error).message}`);
        }
      };
      opts.ca = read('caFile');
      opts.cert = read('certFile');
      opts.key = read('keyFile');
      opts.rejectUnauthorized = cfg.tls.rejectUnauthorized;
    }

    const client = connect(cfg.url, opts);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (err) => this.onError(err));
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));

    // The last session's final numbers from the store, so a broker that lost its retained values
    // (or a new station's first start after a restart) has every session topic from the start.
    for (const c of this.connectors) {
      try {
        const rec = this.ctx.latestSession?.(c.id);
        if (rec?.status === 'completed') this.rememberFinal(rec);
      } catch (err) {
        this.log.debug({ err: (err as Error).message, connectorId: c.id }, 'MQTT: last session not read');
      }
    }
    const on = this.subs.events<StationEvents>(this.ctx.station);
    const refreshSoon = () => this.update();
    for (const name of ['status', 'sample', 'session-started', 'fault'] as const) on(name, refreshSoon);
    on('session-stopped', (rec) => {
      this.rememberFinal(rec);
      this.update();
    });
    // A provisional meterStop replaced by the register: the final numbers shown are the exact ones.
    on('session-corrected', (rec) => {
      if (rec.status === 'completed' && this.lastSessionId.get(rec.connectorId) === rec.id) this.rememberFinal(rec);
      this.update();
    });
    if (this.ctx.readers) this.subs.on(this.ctx.readers, 'status', refreshSoon);
    if (this.ctx.pv) this.subs.add(this.ctx.pv.onChange(refreshSoon));
    this.tick = setInterval(() => this.update(), this.cfg.publishIntervalS * 1000);
    this.tick.unref();
    this.log.info({ url: redactUrl(cfg.url), prefix: this.topics.base, homeAssistant: cfg.homeAssistant, commands: cfg.commands }, 'MQTT: connecting in the background');
  }

  connected(): boolean {
    return this.isConnected;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.subs.clear();
    clearInterval(this.tick);
    clearTimeout(this.flushTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.inboundTimer);
    const client = this.client;
    if (!client) return;
    if (this.isConnected) {
      // Send what is pending, then say goodbye properly (a clean disconnect suppresses the last will).
      this.refresh();
      this.publishPending();
      await withTimeout(client.publishAsync(this.topics.availability, OFFLINE, { qos: 1, retain: true }), 2000).catch(() => undefined);
      await withTimeout(client.endAsync(), 2000).catch(() => client.end(true));
    } else {
      client.end(true);
    }
    this.isConnected = false;
  }

  private onConnect(): void {
    const client = this.client!;
    this.isConnected = true;
    this.backoff.reset();
    this.log.info({ url: redactUrl(this.cfg.url), reconnected: this.everConnected }, 'MQTT: connected');
    this.everConnected = true;
    this.outageLogged = false;
    client.publish(this.topics.availability, ONLINE, { qos: 1, retain: true });
    const subs: string[] = [];
    if (this.cfg.homeAssistant) subs.push(`${this.cfg.discoveryPrefix}/status`);
    if (this.cfg.commands) subs.push(...this.topics.commandFilters);
    if (this.cfg.commands && this.ctx.pv) subs.push(this.pvTopics.modeSet);
    if (this.cfg.commands && this.ctx.owner) subs.push(timersTopics(this.topics).set);
    if (this.cfg.commands && this.ctx.learner) subs.push(this.topics.tagsLearn);
    if (subs.length) {
      client.subscribe(subs, { qos: 1 }, (err) => {
        if (err && !this.stopping) this.log.warn({ err: err.message }, 'MQTT: subscribe failed');
      });
    }
    this.announce();
    // A broker that restarted (or another client) may have lost or replaced the retained values.
    this.coalescer.resendAll();
    this.update();
  }

  private onClose(): void {
    const wasConnected = this.isConnected;
    this.isConnected = false;
    if (this.stopping) return;
    if (wasConnected) this.log.warn('MQTT: connection to the broker lost; reconnecting');
    clearTimeout(this.reconnectTimer);
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopping) this.client?.reconnect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private onError(err: Error): void {
    if (this.stopping) return;
    // One warning per outage; the retries are at debug level so a broker that is away does not flood the journal.
    if (!this.outageLogged) {
      this.outageLogged = true;
      this.log.warn({ err: err.message, url: redactUrl(this.cfg.url) }, 'MQTT: cannot reach the broker; charging is unaffected, retrying with backoff');
    } else {
      this.log.debug({ err: err.message }, 'MQTT: connect attempt failed');
    }
  }

  /**
   * Anyone who can publish to the broker reaches this: every message costs little (a length check,
   * a parse) and whatever it asks for goes through a throttle (inbound.ts), so a storm costs a
   * bounded amount of work.
   */
  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    try {
      if (topic === `${this.cfg.discoveryPrefix}/status`) {
        // Only "online" matters: anything longer is something else, not worth decoding.
        if (payload.length <= 16 && payload.toString('utf8').trim() === 'online') {
          this.haOnline.offer('online', true, performance.now());
          this.scheduleInbound();
        }
        return;
      }
      if (!this.cfg.commands) return;
      if (topic === this.topics.tagsLearn) {
        this.learnCommand(payload, retained);
        return;
      }
      const parsed =
        this.ctx.pv && topic === this.pvTopics.modeSet
          ? pvCommand(payload, retained)
          : this.ctx.owner && topic === timersTopics(this.topics).set
            ? timersCommand(payload, retained, this.connectors.map((c) => c.id))
            : parseCommand(this.commandCtx, topic, payload, retained);
      if (!parsed.ok) {
        this.badCommand(topic, parsed.reason);
        return;
      }
      const offer = this.commandThrottle.offer(topic, parsed.command, performance.now());
      if (offer.act === 'now') this.execute(offer.value);
      else if (offer.act === 'later') this.scheduleInbound();
      else this.badCommand(topic, 'too many command topics at once');
    } catch (err) {
      this.log.error({ err: (err as Error).message, topic }, 'MQTT: message handling failed; ignored');
    }
  }

  /** Runs what the throttles held back once it is due. */
  private scheduleInbound(): void {
    const dues = [this.haOnline.nextDueMs(), this.commandThrottle.nextDueMs()].filter((d): d is number => d !== null);
    clearTimeout(this.inboundTimer);
    this.inboundTimer = undefined;
    if (!dues.length || this.stopping) return;
    this.inboundTimer = setTimeout(() => this.runInbound(), Math.max(0, Math.min(...dues) - performance.now()) + 1);
    this.inboundTimer.unref();
  }

  private runInbound(): void {
    const now = performance.now();
    for (const { count } of this.haOnline.take(now)) {
      this.log.info({ messages: count }, 'MQTT: Home Assistant came online; announcing again');
      this.announce();
      this.coalescer.resendAll();
      this.update();
    }
    for (const { value } of this.commandThrottle.take(now)) {
      try {
        this.execute(value);
      } catch (err) {
        this.log.error({ err: (err as Error).message, connectorId: value.connectorId }, 'MQTT: command failed');
      }
    }
    this.scheduleInbound();
  }

  private execute(cmd: Command): void {
    const { station } = this.ctx;
    const id = cmd.connectorId;
    if (cmd.kind === 'pv_mode') {
      this.ctx.pv?.setMode(cmd.mode, 'mqtt');
    } else if (cmd.kind === 'timers') {
      this.ctx.owner?.timers.set(cmd.timers);
      this.log.info({ timers: cmd.timers }, 'MQTT: charging timers set');
    } else if (cmd.kind === 'current_limit') {
      const max = this.commandCtx.maxCurrentA.get(id)!;
      // The connector's maximum is no limit at all: drop the claim rather than pin it.
      if (cmd.amps >= max) station.clearClaim('mqtt', id);
      else station.setClaim({ source: 'mqtt', connectorId: id, maxA: cmd.amps, ...(cmd.leaseS !== undefined ? { leaseMs: cmd.leaseS * 1000 } : {}) });
      // A lease is renewed by every message: logged at debug so a manager's heartbeat does not fill the journal.
      this.log[cmd.leaseS !== undefined ? 'debug' : 'info']({ connectorId: id, amps: cmd.amps, leaseS: cmd.leaseS }, 'MQTT: current limit set');
    } else if (cmd.kind === 'phases') {
      // The switch takes the stop, the pause and the settle time; its progress shows on the phases topic.
      void station.setPhases(id, cmd.phases, 'mqtt').then(
        (result) => {
          if (result === 'Accepted') this.log.info({ connectorId: id, phases: cmd.phases }, 'MQTT: phases switched');
          else this.log.warn({ connectorId: id, phases: cmd.phases, result }, 'MQTT: phase switch not done');
          this.update();
        },
        (err) => this.log.error({ connectorId: id, err: (err as Error).message }, 'MQTT: phase switch failed'),
      );
    } else if (cmd.kind === 'target_energy') {
      if (!this.ctx.energyTargets) {
        this.badCommand(this.topics.targetEnergySet(id), 'energy targets are not available');
        return;
      }
      this.ctx.energyTargets.setEnergyWh(id, cmd.energyWh);
      this.log.info({ connectorId: id, energyWh: cmd.energyWh }, 'MQTT: energy target set');
    } else if (cmd.kind === 'owner_limit' || cmd.kind === 'target_mode' || cmd.kind === 'charge_now') {
      const refused = this.ctx.owner ? executeOwnerCommand(this.ctx.owner, cmd) : 'owner limits are not available';
      if (refused) this.badCommand(`${this.topics.base}/connector/${id}`, refused);
      else this.log.info({ command: cmd }, 'MQTT: owner setting');
    } else {
      const ok =
        cmd.action === 'pause' ? station.pause(id) : cmd.action === 'resume' ? station.resume(id) : undefined;
      if (cmd.action === 'stop') {
        void station.stopSession(id, 'Remote').then(
          (stopped) => this.log.info({ connectorId: id, stopped }, 'MQTT: stop requested'),
          (err) => this.log.error({ connectorId: id, err: (err as Error).message }, 'MQTT: stop failed'),
        );
      } else {
        this.log.info({ connectorId: id, action: cmd.action, ok }, 'MQTT: command');
      }
    }
    this.update();
  }

  /**
   * Learn mode from MQTT: the payload is the name (or JSON {"name", "connector"}). The answer goes
   * to tags/learn/result: waiting at once, then learned, timeout, busy or no-reader.
   */
  private learnCommand(payload: Buffer, retained: boolean): void {
    const topic = this.topics.tagsLearn;
    const answer = (body: Record<string, unknown>) => this.client?.publish(this.topics.tagsLearnResult, JSON.stringify(body), { qos: 1, retain: false });
    const invalid = (reason: string) => {
      this.badCommand(topic, reason);
      answer({ result: 'invalid', error: reason });
    };
    if (!this.ctx.learner) return;
    if (retained) return this.badCommand(topic, 'retained command ignored (publish commands without the retain flag)');
    if (payload.length > MAX_LEARN_PAYLOAD) return invalid(`payload longer than ${MAX_LEARN_PAYLOAD} bytes`);
    const text = payload.toString('utf8').trim();
    let name: unknown = text;
    let connectorId: unknown;
    if (text.startsWith('{')) {
      try {
        const j = JSON.parse(text) as Record<string, unknown>;
        name = j.name;
        connectorId = j.connector;
      } catch {
        return invalid('not valid JSON: send the name as text, or {"name": "...", "connector": 1}');
      }
    }
    if (typeof name !== 'string' || !name.trim() || name.length > 80) return invalid('the name must be a text of 1 to 80 characters');
    if (connectorId !== undefined && !(typeof connectorId === 'number' && Number.isInteger(connectorId))) return invalid('connector must be a connector id');
    answer({ result: 'waiting', name: name.trim() });
    this.ctx.learner.learn(name, { connectorId: connectorId as number | undefined }).then(
      (r) => {
        this.log.info({ result: r.result }, 'MQTT: learn mode ended');
        answer(r);
      },
      (err) => {
        this.log.error({ err: (err as Error).message }, 'MQTT: learn mode failed');
        answer({ result: 'invalid', error: (err as Error).message });
      },
    );
  }

  private badCommand(topic: string, reason: string): void {
    const now = performance.now();
    const b = this.badCommands;
    if (now - b.windowStartMs > 60_000) {
      if (b.suppressed) this.log.warn({ suppressed: b.suppressed }, 'MQTT: more invalid commands were ignored');
      this.badCommands = { windowStartMs: now, logged: 0, suppressed: 0 };
    }
    if (this.badCommands.logged < BAD_COMMAND_LOG_PER_MIN) {
      this.badCommands.logged++;
      this.log.warn({ topic, reason }, 'MQTT: invalid command ignored');
    } else {
      this.badCommands.suppressed++;
    }
  }

  /** Publish (or refresh) Home Assistant discovery. */
  private announce(): void {
    if (!this.cfg.homeAssistant || !this.isConnected) return;
    const sc = this.ctx.station.info;
    this.urlAnnounced = this.pageUrl();
    const msgs = discoveryMessages({
      topics: this.topics,
      discoveryPrefix: this.cfg.discoveryPrefix,
      station: sc,
      configurationUrl: this.urlAnnounced,
      connectors: this.connectors,
      commands: this.cfg.commands,
      energyTarget: this.ctx.energyTargets !== undefined,
      ...(this.ctx.owner ? { owner: { targetStops: this.announcedModes() } } : {}),
      currency: this.ctx.config.tariff?.currency,
      version: FIRMWARE_VERSION,
      readers: this.ctx.readers?.status().map((r) => ({ id: r.id })),
      site: this.ctx.site !== undefined,
    });
    msgs.push(...pvDiscovery({ enabled: this.ctx.pv !== undefined, topics: this.topics, discoveryPrefix: this.cfg.discoveryPrefix, stationId: sc.id, commands: this.cfg.commands, device: haDevice(sc, this.urlAnnounced), origin: { name: 'evsed', sw_version: FIRMWARE_VERSION } }));
    for (const m of msgs) this.client!.publish(m.topic, m.payload, { qos: 1, retain: true });
  }

  /** Read the station, then publish what changed (within the rate limit). */
  private update(): void {
    if (this.stopping) return;
    try {
      this.refresh();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'MQTT: reading the station failed');
      return;
    }
    this.publishPending();
  }

  private refresh(): void {
    const view = this.ctx.station.view();
    const info = stationInfo(view);
    this.coalescer.set(this.topics.info, info.info);
    this.coalescer.set(this.topics.clock, info.clock);
    if (this.ctx.pv) for (const [topic, payload] of pvState(this.pvTopics, this.ctx.pv.status())) this.coalescer.set(topic, payload);
    if (this.ctx.owner) this.coalescer.set(timersTopics(this.topics).state, timersState(this.ctx.owner));
    const costs = this.stationCosts();
    if (costs) for (const [topic, payload] of billingState(this.topics, costs)) this.coalescer.set(topic, payload);
    for (const cv of view.connectors) {
      const c = this.connectors.find((x) => x.id === cv.id);
      if (!c) continue;
      const claim = this.ctx.station.claims(cv.id).find((x) => x.source === 'mqtt' && x.connectorId === cv.id);
      const state = connectorState({
        view: cv,
        phases: c.phases,
        setpointA: claim ? claim.maxA : c.maxCurrentA,
        extras: cv.session ? this.extras(cv.id, cv.session.id) : undefined,
        lastSession: this.lastSession.get(cv.id) ?? null,
        targetEnergyWh: this.targetEnergyWh(cv.id),
        tagName: this.ctx.tagName,
      });
      for (const [leaf, payload] of state) if (payload !== null) this.coalescer.set(this.topics.connector(cv.id, leaf), payload);
      if (this.ctx.owner) for (const [leaf, payload] of ownerState(this.ctx.owner, cv.id)) this.coalescer.set(this.topics.connector(cv.id, leaf), payload);
    }
    const site = this.ctx.site?.();
    if (site) for (const [leaf, payload] of siteState(site)) if (payload !== null) this.coalescer.set(siteTopic(this.topics, leaf), payload);
    for (const r of this.ctx.readers?.status() ?? []) {
      for (const [leaf, payload] of readerState(r)) this.coalescer.set(this.topics.reader(r.id, leaf), payload);
    }
    // The energy target's entity is named for what it does (a target, or a limit that stops): announce again when that changes.
    if (this.ctx.owner && this.modesAnnounced !== null && this.modeKey() !== this.modesAnnounced) this.announce();
    // The page's URL is known once the API listens (MQTT may connect first).
    else if (this.urlAnnounced !== null && this.pageUrl() !== this.urlAnnounced) this.announce();
  }

  private modesAnnounced: string | null = null;
  /** The configuration_url last announced (undefined: none yet); null before the first announcement. */
  private urlAnnounced: string | undefined | null = null;

  private pageUrl(): string | undefined {
    try {
      return this.ctx.configurationUrl?.();
    } catch {
      return undefined;
    }
  }

  private stationCosts(): StationCosts | null {
    if (!this.ctx.costs) return null;
    try {
      return this.ctx.costs();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'MQTT: station costs failed');
      return null;
    }
  }

  private modeKey(): string {
    return this.connectors.map((c) => this.ctx.owner!.limits.targetMode(c.id)).join(',');
  }

  private announcedModes(): Map<number, boolean> {
    this.modesAnnounced = this.modeKey();
    return new Map(this.connectors.map((c) => [c.id, this.ctx.owner!.limits.targetMode(c.id) === 'stop']));
  }

  private targetEnergyWh(connectorId: number): number | null | undefined {
    if (!this.ctx.energyTargets) return undefined;
    try {
      return this.ctx.energyTargets.energyWh(connectorId);
    } catch (err) {
      this.log.debug({ err: (err as Error).message, connectorId }, 'MQTT: energy target failed');
      return undefined;
    }
  }

  private extras(connectorId: number, sessionId: number) {
    if (!this.ctx.liveExtras) return undefined;
    try {
      return this.ctx.liveExtras(connectorId, sessionId);
    } catch (err) {
      this.log.debug({ err: (err as Error).message, connectorId }, 'MQTT: live extras failed');
      return undefined;
    }
  }

  private rememberFinal(rec: SessionRecord): void {
    const x = this.extras(rec.connectorId, rec.id);
    const { durationS, chargingS, idleS } = wholeSeconds(rec);
    this.lastSessionId.set(rec.connectorId, rec.id);
    this.lastSession.set(rec.connectorId, {
      energyWh: rec.energyWh ?? 0,
      durationS,
      chargingS,
      idleS,
      costMinor: x?.costMinor,
      currency: x?.currency,
    });
  }

  private publishPending(): void {
    if (!this.isConnected || !this.client) return;
    const now = performance.now();
    for (const [topic, payload] of this.coalescer.take(now)) this.client.publish(topic, payload, { qos: 0, retain: true });
    const due = this.coalescer.nextDueMs();
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (due !== null) {
      this.flushTimer = setTimeout(() => this.update(), Math.max(0, due - now) + 1);
      this.flushTimer.unref();
    }
  }
}

function timersCommand(payload: Buffer, retained: boolean, connectorIds: number[]): ParsedCommand {
  const t = parseTimersCommand(payload, retained, connectorIds);
  return t.ok ? { ok: true, command: { kind: 'timers', connectorId: 0, timers: t.timers } } : t;
}

function pvCommand(payload: Buffer, retained: boolean): ParsedCommand {
  const p = parsePvMode(payload, retained);
  return p.ok ? { ok: true, command: { kind: 'pv_mode', connectorId: 0, mode: p.mode } } : p;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
