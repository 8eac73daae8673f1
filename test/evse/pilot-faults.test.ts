import { describe, expect, it } from 'vitest';
import { ConnectorStateMachine, type SmAction } from '../../src/evse/state-machine.js';

const pilots = (a: SmAction[]) => a.filter((x) => x.type === 'pilot').map((x) => (x as { output: { mode: string } }).output.mode);

function charging() {
  const sm = new ConnectorStateMachine();
  sm.handle({ type: 'offer', amps: 16 }, 0);
  sm.handle({ type: 'pilot', state: 'B', diodeOk: true, diodeChecked: true }, 0);
  sm.handle({ type: 'authorize', idTag: 'T', source: 'local' }, 0);
  sm.handle({ type: 'session-started' }, 10);
  sm.handle({ type: 'pilot', state: 'C', diodeOk: true, diodeChecked: true }, 20);
  expect(sm.snapshot().contactor).toBe(true);
  return sm;
}

describe('faults revealed by the pilot reading', () => {
  it('S7: a diode failure while charging opens at once, then state F for 300 ms, then X1', () => {
    const sm = charging();
    const out = sm.handle({ type: 'pilot', state: 'C', diodeOk: false, diodeChecked: true }, 1000);
    expect(out.filter((a) => a.type !== 'log')[0]).toMatchObject({ type: 'contactor', closed: false });
    expect(pilots(out)).toEqual(['f']);
    expect(pilots(sm.handle({ type: 'tick' }, 1300))).toEqual(['x1']);
    expect(sm.snapshot().faults).toEqual(['diode']);
  });

  it('our own F read back just after we stopped driving it is not a fault; later it is', () => {
    const sm = charging();
    sm.handle({ type: 'fault', kind: 'rcd', active: true }, 1000); // F until 1300
    sm.handle({ type: 'fault', kind: 'rcd', active: false }, 1100);
    sm.handle({ type: 'tick' }, 1300); // X1 now
    sm.handle({ type: 'pilot', state: 'F', diodeOk: false, diodeChecked: true }, 1350); // debounced sensing catches up late
    expect(sm.snapshot().faults).toEqual(['rcd']);
    sm.handle({ type: 'pilot', state: 'B', diodeOk: true, diodeChecked: true }, 1400);
    sm.handle({ type: 'pilot', state: 'E', diodeOk: false, diodeChecked: true }, 2500); // a real short, well after
    expect(sm.snapshot().faults).toEqual(['rcd', 'pilot']);
  });
});
