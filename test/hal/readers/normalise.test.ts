import { describe, expect, it } from 'vitest';
import { normaliseCard } from '../../../src/hal/readers/normalise.js';

const uid = (hex: string) => ({ uid: Uint8Array.from(Buffer.from(hex, 'hex')) });

describe('idTag from a card', () => {
  it('default: uppercase hex without separators, for UIDs of 4, 7 and 10 bytes', () => {
    expect(normaliseCard(uid('deadbeef'))).toBe('DEADBEEF');
    expect(normaliseCard(uid('04a2b3c4d5e680'))).toBe('04A2B3C4D5E680');
    expect(normaliseCard(uid('0102030405060708090a'))).toBe('0102030405060708090A');
  });

  it('reversed byte order', () => {
    expect(normaliseCard(uid('deadbeef'), { format: 'hex', reverse: true })).toBe('EFBEADDE');
  });

  it('decimal formats: the whole UID, and the 10-digit form of the last 4 bytes', () => {
    expect(normaliseCard(uid('00bc614e'), { format: 'decimal', reverse: false })).toBe('12345678');
    expect(normaliseCard(uid('00bc614e'), { format: 'decimal10', reverse: false })).toBe('0012345678');
    expect(normaliseCard(uid('4e61bc00'), { format: 'decimal10', reverse: true })).toBe('0012345678');
    expect(normaliseCard(uid('04a2b3c4d5e680'), { format: 'decimal', reverse: false })).toBe('1304792892040832');
  });

  it('an id over 20 characters is refused with the fix, never cut', () => {
    // 10 bytes as decimal: 2^80 - 1 has 25 digits
    expect(() => normaliseCard(uid('ffffffffffffffffffff'), { format: 'decimal', reverse: false })).toThrow(/25 characters, more than OCPP's 20: choose another format/);
    expect(() => normaliseCard({ text: 'A'.repeat(21) })).toThrow(/more than OCPP's 20/);
    expect(() => normaliseCard({ text: '  ' })).toThrow(/empty/);
  });

  it('text typed by a reader: hex uppercased, separated hex bytes joined, anything else kept', () => {
    expect(normaliseCard({ text: '04a2b3c4' })).toBe('04A2B3C4');
    expect(normaliseCard({ text: '04:a2:b3:c4' })).toBe('04A2B3C4');
    expect(normaliseCard({ text: '04-A2-B3-C4' })).toBe('04A2B3C4');
    expect(normaliseCard({ text: '0012345678' })).toBe('0012345678');
    expect(normaliseCard({ text: 'TAG-1' })).toBe('TAG-1');
  });
});
