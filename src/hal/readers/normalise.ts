import type { CardRead } from './types.js';
import type { IdTagFormat } from '../../config/readers.js';

export { ID_TAG_FORMATS, type IdTagFormat } from '../../config/readers.js';

/** OCPP 1.6 IdToken: at most 20 characters. */
export const MAX_ID_TAG_LENGTH = 20;

/**
 * How a UID becomes an idTag. Readers and backends disagree on byte order and on hex versus
 * decimal, so the installer picks what the backend (or the cards' printed numbers) expects.
 * - `hex`: uppercase hex, no separators (04A2B3C4D5E680).
 * - `decimal`: the whole UID as one unsigned decimal number.
 * - `decimal10`: the last 4 bytes as a 10-digit zero-padded decimal (how many 125 kHz readers
 *   and card prints show an EM4100 / Mifare 4-byte id).
 */
export interface NormaliseOptions {
  format: IdTagFormat;
  /** Reverse the UID's bytes first (a reader or backend that reads them the other way round). */
  reverse: boolean;
}

export const DEFAULT_NORMALISE: NormaliseOptions = { format: 'hex', reverse: false };

export class IdTagError extends Error {}

/** The idTag of a card read; throws IdTagError when it cannot be one (empty, over 20 characters). */
export function normaliseCard(card: CardRead, o: NormaliseOptions = DEFAULT_NORMALISE): string {
  const idTag = 'uid' in card ? fromUid(card.uid, o) : fromText(card.text);
  if (!idTag) throw new IdTagError('the card gave an empty id');
  if (idTag.length > MAX_ID_TAG_LENGTH) {
    throw new IdTagError(`the card id ${idTag} has ${idTag.length} characters, more than OCPP's ${MAX_ID_TAG_LENGTH}: choose another format for this reader (e.g. format: decimal10)`);
  }
  return idTag;
}

function fromUid(uid: Uint8Array, o: NormaliseOptions): string {
  const bytes = o.reverse ? [...uid].reverse() : [...uid];
  if (!bytes.length) return '';
  switch (o.format) {
    case 'hex':
      return bytes.map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
    case 'decimal':
      return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n).toString(10);
    case 'decimal10':
      return bytes
        .slice(-4)
        .reduce((n, b) => n * 256 + b, 0)
        .toString(10)
        .padStart(10, '0');
  }
}

/**
 * A reader that types its own text (keyboard readers, the simulator) has already chosen the
 * format (set on the reader itself, often by DIP switch or its maker's tool). Hex is uppercased
 * and hex bytes separated by : - or spaces are joined (04:A2:B3 -> 04A2B3); any other text is
 * kept as typed (its digits cannot tell hex from decimal, and a simulated tag may be TAG-1).
 */
function fromText(text: string): string {
  const t = text.trim();
  if (/^[0-9A-Fa-f]{2}([:\- ][0-9A-Fa-f]{2})+$/.test(t)) return t.replace(/[:\- ]/g, '').toUpperCase();
  if (/^[0-9A-Fa-f]+$/.test(t)) return t.toUpperCase();
  return t;
}
