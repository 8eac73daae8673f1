import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { ROOT } from '../support/station.js';

/**
 * config/evsed.example.yaml documents every key for technicians. Its active part must validate,
 * and so must its commented examples (Pi hardware, Modbus meter, ocpp, mqtt, tariff) once
 * uncommented: documentation that does not parse would send an installer the wrong way.
 */
const SEPARATOR = '# ---------------------------------------------------------------------------------------------------';

function uncomment(block: string): string[] {
  const out: string[] = [];
  for (const line of block.split('\n')) {
    if (!line.startsWith('# ')) continue;
    const body = line.slice(2);
    if (!/^[a-z][a-zA-Z]*:|^\s+[A-Za-z][a-zA-Z]*:|^\s+- /.test(body)) continue; // prose
    out.push(body.replace(/\s+#.*$/, ''));
  }
  return out;
}

describe('config/evsed.example.yaml', () => {
  const text = readFileSync(join(ROOT, 'config/evsed.example.yaml'), 'utf8');

  it('validates as shipped', () => {
    expect(() => parseConfig(text, 'evsed.example.yaml')).not.toThrow();
  });

  it('its commented Pi, Modbus, OCPP, MQTT and tariff examples validate once uncommented', () => {
    const [head, hardwareAndMeter, optional] = text.split(SEPARATOR) as [string, string, string];
    let full = head.replace(/ {4}hardware:\n( {6}.*\n)+/, '').replace(/ {4}meter:\n( {6}.*\n)+/, '');
    const block = uncomment(hardwareAndMeter).map((l) => `  ${l}`).join('\n');
    full = full.replace(/ {4}stopTimeoutS: 6.*\n/, `    stopTimeoutS: 6\n${block}\n`);
    // Alternatives shown side by side cannot all be active: profile 3 (client cert) replaces the
    // password, and the MQTT TLS line names placeholder files.
    const opt = uncomment(optional)
      .filter((l) => !/^\s+(clientCert|clientKey|tls):/.test(l))
      .join('\n');
    const cfg = parseConfig(`${full}\n${opt}\n`, 'uncommented example');
    expect(cfg.connectors[0]!.hardware.driver).toBe('gpio');
    expect(cfg.connectors[0]!.meter.model).toBe('sdm630');
    expect(cfg.ocpp?.keys).toEqual({ HeartbeatInterval: '300', MeterValueSampleInterval: '60' }); // OCPP values are strings
    expect(cfg.mqtt?.topicPrefix).toBe('evsed');
    expect(cfg.tariff?.currency).toBe('EUR');
  });
});
