import { afterEach, describe, expect, it, vi } from 'vitest';
import { startStandaloneProof } from '../../../src/maintenance/release/trial-proof.js';
import type { InstallOutcome } from '../../../src/maintenance/release/types.js';
import { silentLogger } from '../../../src/log.js';

afterEach(() => {
  vi.useRealTimers();
});

function setup(outcome: InstallOutcome) {
  vi.useFakeTimers();
  const clock = { ms: 0, monoMs: () => clock.ms };
  const state = { healthy: true, confirmed: 0 };
  const proof = startStandaloneProof({
    installer: { outcome: () => outcome, confirm: async () => void state.confirmed++ },
    proofS: 300,
    health: () => (state.healthy ? { ok: true } : { ok: false, reason: 'connector 1: pilot loop silent' }),
    clock,
    log: silentLogger(),
    checkEveryMs: 5000,
  });
  const advance = async (s: number) => {
    for (let t = 0; t < s; t += 5) {
      clock.ms += 5000;
      await vi.advanceTimersByTimeAsync(5000);
    }
  };
  return { state, proof, advance };
}

describe('standalone proof of a release on trial', () => {
  it('confirms after proofS of healthy control loops, once', async () => {
    const { state, advance } = setup({ kind: 'trial', version: '1.1.0', previous: '1.0.0' });
    await advance(295);
    expect(state.confirmed).toBe(0);
    await advance(10);
    expect(state.confirmed).toBe(1);
    await advance(600);
    expect(state.confirmed).toBe(1);
  });

  it('a failed health check starts the wait again', async () => {
    const { state, advance } = setup({ kind: 'trial', version: '1.1.0', previous: '1.0.0' });
    await advance(200);
    state.healthy = false;
    await advance(10);
    state.healthy = true;
    await advance(250);
    expect(state.confirmed).toBe(0);
    await advance(60);
    expect(state.confirmed).toBe(1);
  });

  it('does nothing when no release is on trial, or once stopped', async () => {
    const none = setup({ kind: 'none' });
    await none.advance(1000);
    expect(none.state.confirmed).toBe(0);
    vi.useRealTimers();
    const stopped = setup({ kind: 'trial', version: '1.1.0', previous: '1.0.0' });
    stopped.proof.stop();
    await stopped.advance(1000);
    expect(stopped.state.confirmed).toBe(0);
  });
});
