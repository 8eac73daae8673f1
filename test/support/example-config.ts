import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './station.js';

/**
 * config/evsed.example.yaml with its commented examples switched on: the Pi hardware and Modbus
 * meter replace the sim connector's, and the ocpp, mqtt and tariff sections are active.
 * Alternatives that cannot be active together (profile 3 certificates instead of the password,
 * MQTT TLS with placeholder files) stay off.
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

export function exampleConfigText(): string {
  return readFileSync(join(ROOT, 'config/evsed.example.yaml'), 'utf8');
}

export function exampleWithEverythingOn(): string {
  const [head, hardwareAndMeter, optional] = exampleConfigText().split(SEPARATOR) as [string, string, string];
  let full = head.replace(/ {4}hardware:\n( {6}.*\n)+/, '').replace(/ {4}meter:\n( {6}.*\n)+/, '');
  const block = uncomment(hardwareAndMeter).map((l) => `  ${l}`).join('\n');
  full = full.replace(/ {4}stopTimeoutS: 6.*\n/, `    stopTimeoutS: 6\n${block}\n`);
  const opt = uncomment(optional).filter((l) => !/^\s+(clientCert|clientKey|tls):/.test(l));
  return `${full}\n${opt.join('\n')}\n`;
}
