/**
 * Delay before reconnect attempt `attempt` (0 = first after a loss): 1 s, 2 s, 4 s ... up to 30 s,
 * each spread by up to ±20 % so that many stations do not hammer a restarted broker in step.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random, baseMs = 1000, maxMs = 30_000): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 20));
  return Math.round(raw * (0.8 + 0.4 * random()));
}
