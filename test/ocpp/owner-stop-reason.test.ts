import { afterEach, describe, expect, it } from 'vitest';
import { accepted, rig, waitFor, type Rig } from './harness.js';

let r: Rig;
afterEach(async () => {
  await r?.cleanup();
});

describe('a session ended by an owner limit, in OCPP 1.6', () => {
  for (const reason of ['EnergyLimitReached', 'TimeLimitReached', 'SOCLimitReached'] as const) {
    it(`${reason}: StopTransaction reason Other (1.6 has no such reason; the strict CSMS accepts it)`, async () => {
      r = await rig();
      await accepted(r);
      expect(await r.station.presentTag(1, 'TAG1')).toMatchObject({ status: 'Accepted' });
      await waitFor(() => r.csms.of('StartTransaction').length, 'start');
      await r.station.stopSession(1, reason);
      await waitFor(() => r.csms.of('StopTransaction').length, 'stop');
      expect(r.csms.of('StopTransaction')[0]).toMatchObject({ reason: 'Other' });
      // Delivered and answered: the queue is empty (a schema violation would leave it there).
      await waitFor(() => r.cp.queue.stats().length === 0, 'queue empty');
      expect(r.station.sessions.get(r.station.sessions.list({})[0]!.id)!.stopReason).toBe(reason);
    });
  }
});
