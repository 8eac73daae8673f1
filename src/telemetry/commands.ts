import { BUTTON_COMMANDS, type ButtonCommand, type Topics } from './topics.js';
import { MAX_ENERGY_TARGET_WH } from '../domain/charging.js';
import { parseOwnerCommand, type OwnerCommand } from './owner.js';
import type { PvMode } from '../energy/pv.js';
import type { ChargingTimer } from '../config/timers.js';

/** IEC 61851: below 6 A there is no valid PWM offer; 0 means "suspend". */
export const MIN_OFFER_A = 6;


/** Longest lease of an MQTT limit (s), as the API's. */
export const MAX_LEASE_S = 3600;

export type Command =
  /** leaseS: the limit ends unless sent again within it (an energy manager's heartbeat). */
  | { kind: 'current_limit'; connectorId: number; amps: number; leaseS?: number }
  | OwnerCommand
  | { kind: 'button'; connectorId: number; action: ButtonCommand }
  /** energyWh null: no target for this session (also not the connector's default). */
  | { kind: 'target_energy'; connectorId: number; energyWh: number | null }
  | { kind: 'phases'; connectorId: number; phases: 1 | 3 }
  /** Station-wide (connectorId 0): src/telemetry/pv.ts parses it. */
  | { kind: 'pv_mode'; connectorId: 0; mode: PvMode }
  /** Station-wide (connectorId 0): telemetry/owner.ts parses it; null = the config's timers again. */
  | { kind: 'timers'; connectorId: 0; timers: ChargingTimer[] | null };

export type ParsedCommand = { ok: true; command: Command } | { ok: false; reason: string };

export interface CommandContext {
  topics: Topics;
  /** Connector id → its configured maximum current (A). */
  maxCurrentA: ReadonlyMap<number, number>;
}

const MAX_PAYLOAD = 64;

/**
 * Validate one incoming message on a command topic. Never throws: anything unexpected is a
 * reason to ignore the message, for the caller to log.
 */
export function parseCommand(ctx: CommandContext, topic: string, payload: Buffer | string, retained: boolean): ParsedCommand {
  const t = ctx.topics.parseCommandTopic(topic);
  if (!t) return { ok: false, reason: 'not a command topic' };
  const max = ctx.maxCurrentA.get(t.connectorId);
  if (max === undefined) return { ok: false, reason: `no connector ${t.connectorId}` };
  if (payload.length > MAX_PAYLOAD) return { ok: false, reason: `payload longer than ${MAX_PAYLOAD} bytes` };
  const text = (typeof payload === 'string' ? payload : payload.toString('utf8')).trim();
  // A retained command would fire again at every reconnect (a stale stop, a limit or target from
  // days ago): only live messages count.
  if (retained) return { ok: false, reason: 'retained command ignored (publish commands without the retain flag)' };

  if (t.kind === 'command') {
    const action = text.toLowerCase();
    if (!(BUTTON_COMMANDS as readonly string[]).includes(action)) {
      return { ok: false, reason: `unknown command ${JSON.stringify(text.slice(0, 20))} (expected ${BUTTON_COMMANDS.join(' | ')})` };
    }
    return { ok: true, command: { kind: 'button', connectorId: t.connectorId, action: action as ButtonCommand } };
  }

  if (t.kind === 'phases') {
    if (text !== '1' && text !== '3') return { ok: false, reason: `phases must be 1 or 3 (got ${JSON.stringify(text.slice(0, 20))})` };
    return { ok: true, command: { kind: 'phases', connectorId: t.connectorId, phases: text === '1' ? 1 : 3 } };
  }

  if (t.kind === 'target_energy') {
    // HA's number entity sends integers as "30000"; "30000.0" is the same number.
    if (!/^\d{1,7}(\.\d{1,3})?$/.test(text) || !Number.isInteger(Number(text))) {
      return { ok: false, reason: `energy target must be whole Wh, e.g. 30000 for 30 kWh, or 0 to remove it (got ${JSON.stringify(text.slice(0, 20))})` };
    }
    const wh = Number(text);
    if (wh > MAX_ENERGY_TARGET_WH) return { ok: false, reason: `energy target must be at most ${MAX_ENERGY_TARGET_WH} Wh (got ${text})` };
    return { ok: true, command: { kind: 'target_energy', connectorId: t.connectorId, energyWh: wh === 0 ? null : wh } };
  }

  if (t.kind !== 'current_limit') return parseOwnerCommand(t.connectorId, t.kind, text);

  // A plain number, or JSON with a lease: {"amps": 10, "leaseS": 60}.
  let ampsText = text;
  let leaseS: number | undefined;
  if (text.startsWith('{')) {
    let j: unknown;
    try {
      j = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'current limit JSON is not valid (send e.g. {"amps": 10, "leaseS": 60})' };
    }
    const o = j as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.amps !== 'number' || Object.keys(o).some((k) => k !== 'amps' && k !== 'leaseS')) {
      return { ok: false, reason: 'current limit JSON must be {"amps": <A>, "leaseS": <s>} (leaseS optional)' };
    }
    if (o.leaseS !== undefined && (typeof o.leaseS !== 'number' || !Number.isInteger(o.leaseS) || o.leaseS < 1 || o.leaseS > MAX_LEASE_S)) {
      return { ok: false, reason: `leaseS must be a whole number of seconds from 1 to ${MAX_LEASE_S}` };
    }
    leaseS = o.leaseS as number | undefined;
    ampsText = String(o.amps);
  }
  if (!/^\d{1,3}(\.\d{1,3})?$/.test(ampsText)) {
    return { ok: false, reason: `current limit must be a number of amperes, e.g. 16 (got ${JSON.stringify(text.slice(0, 20))})` };
  }
  const amps = Number(ampsText);
  if (amps !== 0 && (amps < MIN_OFFER_A || amps > max)) {
    return { ok: false, reason: `current limit must be 0 (suspend) or between ${MIN_OFFER_A} and ${max} A (got ${ampsText})` };
  }
  return { ok: true, command: { kind: 'current_limit', connectorId: t.connectorId, amps, ...(leaseS !== undefined ? { leaseS } : {}) } };
}
