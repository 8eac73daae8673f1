import { z } from 'zod';
import { intBetween, nonEmptyString, oneOf } from './zod-helpers.js';

/**
 * Card readers (issue 16): `readers:` lists station-wide readers, each serving one connector
 * (a station with one connector defaults to it); `connectors[].reader` is the shorthand for a
 * connector's own reader. A reader's device that is missing at start is not a config error (it
 * may be plugged in later): the reader is then in fault and opened again until it appears.
 */

/** How a UID becomes an idTag (src/hal/readers/normalise.ts). */
export const ID_TAG_FORMATS = ['hex', 'decimal', 'decimal10'] as const;
export type IdTagFormat = (typeof ID_TAG_FORMATS)[number];

export const KEYBOARD_LAYOUTS = ['us', 'de'] as const;
export type KeyboardLayout = (typeof KEYBOARD_LAYOUTS)[number];

const readerId = z
  .string({ error: 'must be a short name such as entrance or reader-1' })
  .regex(/^[A-Za-z0-9_-]{1,32}$/, { error: 'must be 1-32 letters, digits, _ or - (it names the reader in the API and MQTT topics)' });

const common = {
  id: readerId.optional(),
  /** The connector whose sessions this reader's cards start and stop. */
  connector: intBetween(1, 8).optional(),
  /** idTag from the UID (PN532): hex (default), decimal, or decimal10 (the last 4 bytes as 10 digits). */
  format: oneOf(ID_TAG_FORMATS).default('hex'),
  /** Reverse the UID's bytes before formatting (readers and backends disagree on the order). */
  reverse: z.boolean({ error: 'must be true or false' }).default(false),
  /**
   * The same card again within this time (ms) is the same presentation: some keyboard readers type
   * the id again every second while the card is held, which would stop the session it started. 0 = off.
   */
  sameCardGuardMs: intBetween(0, 10_000).default(2000),
};

const keyboardReaderSchema = z.strictObject({
  driver: z.literal('keyboard'),
  ...common,
  /** The reader's event device: use its stable /dev/input/by-id/usb-...-event-kbd link. */
  device: nonEmptyString('the reader\'s input device, e.g. /dev/input/by-id/usb-Sycreader_RFID-event-kbd'),
  /** The keyboard layout the reader types for. */
  layout: oneOf(KEYBOARD_LAYOUTS).default('us'),
  /** struct input_event size: 24 for a 64-bit evsed, 16 for 32-bit (armhf); default: this system's. */
  inputEventBytes: z.literal([16, 24], { error: 'must be 16 (32-bit system) or 24 (64-bit system); leave it out to use this system\'s' }).optional(),
  /** Take the device for evsed alone (EVIOCGRAB), so card numbers reach no console; false only to share it on purpose. */
  grab: z.boolean({ error: 'must be true or false' }).default(true),
});

const pn532ReaderSchema = z.strictObject({
  driver: z.literal('pn532'),
  ...common,
  /** The UART: /dev/serial0 on the Pi's header pins, or a USB adapter's /dev/serial/by-id/... link. */
  device: nonEmptyString('the serial port, e.g. /dev/serial0'),
  baudRate: z.literal([9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600], { error: 'must be a PN532 HSU speed; the factory setting is 115200' }).default(115200),
  /** Time between two polls for a card. */
  pollMs: intBetween(50, 5000).default(200),
  /** Polls without the card before it counts as taken away (and is read again when it comes back). */
  removeAfterPolls: intBetween(1, 50).default(3),
});

const simReaderSchema = z.strictObject({
  driver: z.literal('sim'),
  ...common,
});

export const readerConfigSchema = z.discriminatedUnion('driver', [keyboardReaderSchema, pn532ReaderSchema, simReaderSchema], {
  error: 'driver must be one of keyboard | pn532 | sim',
});
export type ReaderConfig = z.infer<typeof readerConfigSchema>;

/** A reader with its id and connector settled (shorthand and defaults applied). */
export type ResolvedReader = ReaderConfig & { id: string; connector: number };

interface ReaderSources {
  readers: ReaderConfig[];
  connectors: { id: number; reader?: ReaderConfig | undefined }[];
}

/** Every reader of the station: `readers:` first, then the connectors' own; ids default to reader-N / connector-N. */
export function stationReaders(cfg: ReaderSources): ResolvedReader[] {
  const out: ResolvedReader[] = [];
  const only = cfg.connectors.length === 1 ? cfg.connectors[0]!.id : undefined;
  cfg.readers.forEach((r, i) => out.push({ ...r, id: r.id ?? `reader-${i + 1}`, connector: r.connector ?? only ?? 0 }));
  for (const c of cfg.connectors) if (c.reader) out.push({ ...c.reader, id: c.reader.id ?? `connector-${c.id}`, connector: c.id });
  return out;
}

type Issue = { path: (string | number)[]; message: string; input?: unknown };

/** Cross-checks that need the whole config: which connector, unique ids and devices. */
export function readerIssues(cfg: ReaderSources): Issue[] {
  const issues: Issue[] = [];
  const ids = cfg.connectors.map((c) => c.id);
  cfg.readers.forEach((r, i) => {
    if (r.connector === undefined && ids.length > 1) {
      issues.push({ path: ['readers', i, 'connector'], message: `name the connector this reader serves (the station has connectors ${ids.join(', ')})` });
    } else if (r.connector !== undefined && !ids.includes(r.connector)) {
      issues.push({ path: ['readers', i, 'connector'], input: r.connector, message: `there is no connector ${r.connector} (connectors: ${ids.join(', ')})` });
    }
  });
  cfg.connectors.forEach((c, i) => {
    if (c.reader?.connector !== undefined && c.reader.connector !== c.id) {
      issues.push({ path: ['connectors', i, 'reader', 'connector'], input: c.reader.connector, message: `a connector's own reader serves that connector (${c.id}): leave connector out, or list the reader under readers:` });
    }
  });
  const where = (k: number) => {
    const n = cfg.readers.length;
    return k < n ? ['readers', k] : ['connectors', cfg.connectors.findIndex((c) => c.reader === sources[k]), 'reader'];
  };
  const sources: ReaderConfig[] = [...cfg.readers, ...cfg.connectors.flatMap((c) => (c.reader ? [c.reader] : []))];
  const resolved = stationReaders(cfg);
  const seenId = new Map<string, number>();
  const seenDevice = new Map<string, number>();
  resolved.forEach((r, k) => {
    const first = seenId.get(r.id);
    if (first !== undefined) issues.push({ path: [...where(k), 'id'], input: r.id, message: `duplicate reader id ${r.id} (already ${pathText(where(first))}): give each reader its own id` });
    else seenId.set(r.id, k);
    if (r.driver === 'sim') return;
    const dev = seenDevice.get(r.device);
    if (dev !== undefined) issues.push({ path: [...where(k), 'device'], input: r.device, message: `${r.device} is already ${pathText(where(dev))}'s device: one device, one reader` });
    else seenDevice.set(r.device, k);
  });
  return issues;
}

function pathText(p: (string | number)[]): string {
  return p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join('');
}
