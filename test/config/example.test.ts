import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { exampleConfigText, exampleWithEverythingOn } from '../support/example-config.js';

/**
 * config/evsed.example.yaml documents every key for technicians. Its active part must validate,
 * and so must its commented examples (Pi hardware, Modbus meter, ocpp, mqtt, tariff) once
 * uncommented: documentation that does not parse would send an installer the wrong way.
 */
describe('config/evsed.example.yaml', () => {
  const text = exampleConfigText();

  it('validates as shipped', () => {
    expect(() => parseConfig(text, 'evsed.example.yaml')).not.toThrow();
  });

  it('its commented Pi, Modbus, energy target, OCPP, MQTT and tariff examples validate once uncommented', () => {
    const cfg = parseConfig(exampleWithEverythingOn(), 'uncommented example');
    expect(cfg.connectors[0]!.hardware.driver).toBe('gpio');
    expect(cfg.connectors[0]!.meter.model).toBe('sdm630');
    expect(cfg.connectors[0]!.energyTargetWh).toBe(30_000);
    expect(cfg.ocpp?.keys).toEqual({ HeartbeatInterval: '300', MeterValueSampleInterval: '60', ReserveConnectorZeroSupported: 'false' }); // OCPP values are strings
    expect(cfg.mqtt?.topicPrefix).toBe('evsed');
    expect(cfg.tariff?.currency).toBe('EUR');
    expect(cfg.connectors[0]!.sessionLimits).toEqual({ energyWh: 30_000, durationS: 28_800, socPercent: 80 });
    expect(cfg.timers).toEqual([{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '06:00' }]);
    expect(cfg.site).toMatchObject({ fuseA: 35, marginA: 1, fallbackA: 6, gridMeter: { model: 'sdm630', unitId: 2 } });
  });
});
