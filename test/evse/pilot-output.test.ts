import { describe, expect, it } from 'vitest';
import { SimHardware } from '../../src/sim/hardware.js';
import { dutyForCurrent } from '../../src/domain/pwm.js';

describe('pilot outputs in the sim driver', () => {
  it('5 % (digital communication): an EV without ISO 15118 waits in B and draws nothing', async () => {
    const hw = new SimHardware({ maxCurrentA: 16, phases: 3, voltageV: 230 });
    try {
      hw.ev.plug();
      hw.ev.ready();
      hw.pilot.setOutput({ mode: 'digital' });
      hw.contactor.set(true);
      expect(hw.ev.pilotState()).toBe('B');
      expect(hw.ev.currentA()).toBe(0);
      hw.pilot.setOutput({ mode: 'pwm', dutyPermille: dutyForCurrent(16) });
      expect(hw.ev.pilotState()).toBe('C');
      expect(hw.ev.currentA()).toBeGreaterThan(15);
    } finally {
      await hw.close();
    }
  });
});
