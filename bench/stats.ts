/** Percentiles by nearest rank; p100 is the maximum. */
export function percentiles(values: number[], ps: number[]): Record<string, number> {
  const s = [...values].sort((a, b) => a - b);
  const out: Record<string, number> = {};
  for (const p of ps) {
    const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
    out[p === 100 ? 'max' : `p${p}`] = s[idx] ?? NaN;
  }
  return out;
}
