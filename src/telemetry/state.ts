import type { ConnectorView, SessionExtras, StationView } from '../evse/port.js';
import { currencyExponent, formatMinor } from '../domain/money.js';
import { OFF, OFFLINE, ON, ONLINE, UNKNOWN, type ConnectorTopic, type ReaderTopic } from './topics.js';

/** The final numbers of the last session on a connector, shown until the next one starts. */
export interface FinalSession {
  energyWh: number;
  durationS: number;
  chargingS: number;
  idleS: number;
  costMinor?: number;
  currency?: string;
}

export interface ConnectorStateInput {
  view: ConnectorView;
  phases: 1 | 3;
  /** The current limit set over MQTT, or the connector's maximum when none is set. */
  setpointA: number;
  /** Live cost and time to finish (billing), when connected. */
  extras?: SessionExtras;
  lastSession?: FinalSession | null;
  /** The energy target in force (Wh, null = none); undefined when targets are not available: not published. */
  targetEnergyWh?: number | null;
  /** The tag's name (the owner's list, the config), when it has one. */
  tagName?: (idTag: string) => string | null | undefined;
}

/**
 * Topic leaf → payload for one connector. A leaf that maps to null is left as it is on the broker:
 * used for meter values while the meter is stale (the meter/availability topic says so) and for
 * session values before the first session.
 */
export function connectorState(input: ConnectorStateInput): Map<ConnectorTopic, string | null> {
  const { view, extras } = input;
  const m = view.meter;
  const fresh = !m.stale && m.health !== 'offline' && m.energyWh !== null;
  const out = new Map<ConnectorTopic, string | null>();
  const put = (k: ConnectorTopic, v: string | null) => out.set(k, v);

  put('state', view.status);
  put('pilot', view.pilot);
  put('plugged', onOff(view.pilot === 'B' || view.pilot === 'C' || view.pilot === 'D'));
  put('charging', onOff(view.status === 'Charging'));
  put('contactor', onOff(view.contactorClosed));
  put('available', onOff(view.available));
  put('paused', onOff(view.paused));
  put('fault', onOff(view.faults.length > 0 || view.status === 'Faulted'));
  put('faults', JSON.stringify(view.faults));
  put('current_limit', num(view.currentLimitA, 1));
  put('current_limit/source', view.limitSource);
  put('current_limit/setpoint', num(input.setpointA, 1));
  put('phases', String(view.phases.active));
  // Not the tag: MQTT carries no tag ids (the dashboard, behind the API's access rules, names it).
  put('reserved', onOff(!!view.reservation));
  put('reserved/until', view.reservation ? view.reservation.expiresAt : UNKNOWN);

  put('meter/availability', fresh ? ONLINE : OFFLINE);
  put('meter/health', m.health);
  put('energy', fresh ? num(m.energyWh, 0) : null);
  put('power', fresh ? num(m.powerW, 0) : null);
  put('frequency', fresh ? num(m.frequencyHz, 2) : null);
  const phases = ['l1', 'l2', 'l3'] as const;
  phases.forEach((l, i) => {
    const used = i < input.phases;
    put(`voltage/${l}`, fresh && used ? num(m.voltageV[i], 1) : null);
    put(`current/${l}`, fresh && used ? num(m.currentA[i], 2) : null);
    put(`power/${l}`, fresh && used ? num(m.powerPhaseW[i], 0) : null);
  });

  const s = view.session;
  put('session/active', onOff(s !== null));
  // Who charges now: `none` without a session (an ended session's user is not the current one; an
  // empty retained payload would delete the topic on the broker).
  put('session/user', s ? userText(s.idTag, input.tagName) : NO_USER);
  // 0 = no target, as on the command topic (and Home Assistant's number entity).
  put('session/target_energy', input.targetEnergyWh === undefined ? null : String(input.targetEnergyWh ?? 0));
  if (s) {
    put('session/energy', fresh ? num(s.energyWh, 0) : null);
    put('session/duration', String(s.durationS));
    put('session/charging_time', String(s.chargingS));
    put('session/idle_time', String(s.idleS));
    putCost(put, extras?.costMinor, extras?.currency);
    put('session/eta', extras?.etaS === undefined || extras.etaS === null || !Number.isFinite(extras.etaS) ? UNKNOWN : String(Math.max(0, Math.round(extras.etaS))));
  } else {
    const f = input.lastSession;
    put('session/energy', f ? String(f.energyWh) : null);
    put('session/duration', f ? String(f.durationS) : null);
    put('session/charging_time', f ? String(f.chargingS) : null);
    put('session/idle_time', f ? String(f.idleS) : null);
    putCost(put, f?.costMinor, f?.currency);
    put('session/eta', UNKNOWN);
  }
  return out;
}

function putCost(put: (k: ConnectorTopic, v: string | null) => void, costMinor: number | undefined, currency: string | undefined): void {
  if (costMinor === undefined || !Number.isInteger(costMinor) || !currency) {
    put('session/cost', null);
    put('session/currency', null);
    return;
  }
  put('session/cost', formatMinor(costMinor, currencyExponent(currency) ?? 2));
  put('session/currency', currency);
}

/** A card reader as telemetry sees it (src/panel/readers.ts ReaderStatus). */
export interface ReaderStateInput {
  id: string;
  state: 'opening' | 'ok' | 'fault' | 'closed';
  fault: string | null;
}

/** Topic leaf -> payload for one reader: a fault of the reader is its problem, never the connector's. */
export function readerState(r: ReaderStateInput): Map<ReaderTopic, string> {
  return new Map<ReaderTopic, string>([
    ['problem', onOff(r.state === 'fault')],
    ['state', r.state],
    ['fault', r.fault ?? ''],
  ]);
}

/** Station-level topics: info (JSON) and clock quality. */
export function stationInfo(view: StationView): { info: string; clock: string } {
  return {
    info: JSON.stringify({
      id: view.id,
      vendor: view.vendor,
      model: view.model,
      serialNumber: view.serialNumber ?? null,
      firmwareVersion: view.firmwareVersion,
      connectors: view.connectors.map((c) => c.id),
    }),
    clock: view.clock.quality,
  };
}

/** session/user without a session. */
export const NO_USER = 'none';

function userText(idTag: string | null, tagName: ConnectorStateInput['tagName']): string {
  if (idTag === null) return NO_USER;
  let name: string | null | undefined;
  try {
    name = tagName?.(idTag);
  } catch {
    name = undefined;
  }
  return (name || idTag).slice(0, 255);
}

function onOff(b: boolean): string {
  return b ? ON : OFF;
}

/** A number as plain decimal text (no exponent, no trailing zeros); null for a missing or non-finite value. */
function num(v: number | null | undefined, decimals: number): string | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** decimals;
  const r = Math.round(v * f) / f;
  return String(Object.is(r, -0) ? 0 : r);
}
