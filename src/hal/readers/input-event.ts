/**
 * The Linux `struct input_event` as read() from /dev/input/event*: a timeval, then type (u16),
 * code (u16) and value (s32), in the machine's byte order (little-endian on every Pi). The
 * timeval's two longs make it 24 bytes for a 64-bit process and 16 bytes for a 32-bit one (armhf
 * Raspberry Pi OS, even on a 64-bit kernel: the kernel answers a 32-bit process in its layout).
 */

export const EV_SYN = 0;
export const EV_KEY = 1;
export const EV_MSC = 4;
/** The highest event type the kernel defines (EV_MAX); anything above it is a misread record. */
export const EV_MAX = 0x1f;
export const SYN_DROPPED = 3;

export type InputEventBytes = 16 | 24;

export interface InputEvent {
  type: number;
  code: number;
  value: number;
}

/** The record size of this process (Node's arch): 24 on 64-bit, 16 on 32-bit. */
export function nativeInputEventBytes(arch: string = process.arch): InputEventBytes {
  return ['arm', 'ia32', 'mips', 'mipsel', 'ppc'].includes(arch) ? 16 : 24;
}

/** Decode the whole records of `buf`; `rest` is what is left of an unfinished one. */
export function decodeInputEvents(buf: Buffer, size: InputEventBytes): { events: InputEvent[]; rest: Buffer } {
  const events: InputEvent[] = [];
  let off = 0;
  const head = size === 24 ? 16 : 8;
  for (; off + size <= buf.length; off += size) {
    events.push({ type: buf.readUInt16LE(off + head), code: buf.readUInt16LE(off + head + 2), value: buf.readInt32LE(off + head + 4) });
  }
  return { events, rest: buf.subarray(off) };
}

/** One record, as the kernel writes it (for fixtures and tests). */
export function encodeInputEvent(e: InputEvent & { sec?: number; usec?: number }, size: InputEventBytes): Buffer {
  const b = Buffer.alloc(size);
  const head = size === 24 ? 16 : 8;
  if (size === 24) {
    b.writeBigInt64LE(BigInt(e.sec ?? 0), 0);
    b.writeBigInt64LE(BigInt(e.usec ?? 0), 8);
  } else {
    b.writeInt32LE(e.sec ?? 0, 0);
    b.writeInt32LE(e.usec ?? 0, 4);
  }
  b.writeUInt16LE(e.type, head);
  b.writeUInt16LE(e.code, head + 2);
  b.writeInt32LE(e.value, head + 4);
  return b;
}
