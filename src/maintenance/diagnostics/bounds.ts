/** A part of the archive after its bounds were applied. */
export interface BoundedPart {
  name: string;
  text: string;
  /** Bytes of the original text left out (0 when it fitted). */
  droppedBytes: number;
}

/**
 * `text` cut to at most `maxBytes` (UTF-8) at line boundaries, with a note saying what was left
 * out. `keep: 'tail'` keeps the newest lines (logs: the end of the window matters most), 'head'
 * the first ones. The note counts toward the bound; a bound too small for it yields the note alone.
 */
export function capText(name: string, text: string, maxBytes: number, keep: 'head' | 'tail' = 'tail'): BoundedPart {
  const size = Buffer.byteLength(text);
  if (size <= maxBytes) return { name, text, droppedBytes: 0 };
  const lines = text.split('\n');
  const note = (dropped: number, n: number) => keep === 'tail'
    ? `[evsed: ${n} earlier line(s), ${dropped} bytes, left out: this part is bounded to ${maxBytes} bytes]\n`
    : `[evsed: ${n} later line(s), ${dropped} bytes, left out: this part is bounded to ${maxBytes} bytes]\n`;
  const budget = maxBytes - Buffer.byteLength(note(size, lines.length));
  const kept: string[] = [];
  let used = 0;
  const order = keep === 'tail' ? [...lines].reverse() : lines;
  for (const line of order) {
    const b = Buffer.byteLength(line) + 1;
    if (used + b > budget) break;
    kept.push(line);
    used += b;
  }
  if (keep === 'tail') kept.reverse();
  const body = kept.join('\n');
  const dropped = size - Buffer.byteLength(body);
  const n = lines.length - kept.length;
  const out = keep === 'tail' ? note(dropped, n) + body : `${body}${body && !body.endsWith('\n') ? '\n' : ''}${note(dropped, n)}`;
  return { name, text: Buffer.byteLength(out) <= maxBytes ? out : note(dropped, n).slice(0, maxBytes), droppedBytes: dropped };
}

/**
 * Every part bounded by `partMaxBytes`, and all of them together by `totalMaxBytes`: a part gets
 * what the parts before it left (the small fixed parts come first, the logs last).
 */
export function fitParts(parts: readonly { name: string; text: string; keep?: 'head' | 'tail' }[], partMaxBytes: number, totalMaxBytes: number): BoundedPart[] {
  let left = totalMaxBytes;
  return parts.map((p) => {
    const b = capText(p.name, p.text, Math.max(0, Math.min(partMaxBytes, left)), p.keep);
    left -= Buffer.byteLength(b.text);
    return b;
  });
}
