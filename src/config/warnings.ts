import { statSync } from 'node:fs';
import type { Config } from './schema.js';
import { secretKeysIn, urlPassword } from './secrets.js';
import { isLoopbackHost } from './api.js';
import { parseListen } from './zod-helpers.js';

/** URL schemes of the mqtt section that carry no TLS. */
const PLAIN_MQTT = /^(mqtt|tcp|ws):/i;

/**
 * Settings that are valid but risky: `evsed config check` prints them (still exit 0) and `evsed run`
 * logs them at start, one line each naming the key and what to do. The one place for such advice:
 * what `run` warns about, `config check` shows too.
 */
export function configWarnings(config: Config, file?: string): string[] {
  const out: string[] = [];
  const api = config.api;
  if (api.token === undefined && api.passwordHash === undefined && !isLoopbackHost(parseListen(api.listen).host)) {
    // The schema refuses this unless api.trustedNetwork says it is meant.
    out.push(`api.trustedNetwork: the API listens beyond localhost (${api.listen}) without a sign-in password or api.token, so anyone on the network can control the station; set a password for the page (\`evsed passwd\`) and/or api.token (16 characters or more) unless everyone on this network may`);
  }
  const secrets = secretKeysIn(config);
  if (file && secrets.length && (fileMode(file) & 0o004) !== 0) {
    out.push(`${file}: every user of this machine can read it, and it holds ${secrets.join(', ')}; make it chmod 640, owned by root with group evsed (docs/install-pi.md)`);
  }
  // Not an error: the owner's tag list (learn mode, CSV import; kept in the store) authorises too.
  if (config.auth.mode === 'local' && config.auth.tags.filter((t) => t.enabled).length === 0) {
    out.push("auth.tags: auth.mode local with no enabled tag in the config: only cards of the owner's tag list can charge (learn one with `evsed tags learn --name NAME`, or import a list); add a tag here or use mode free");
  }
  const m = config.mqtt;
  if (m) {
    if (PLAIN_MQTT.test(m.url) && (m.password !== undefined || urlPassword(m.url) !== undefined)) {
      out.push(
        `mqtt.password: sent in clear text over ${m.url.slice(0, m.url.indexOf(':'))}:// (anyone on the network path can read it and then publish to the broker as this station); use mqtts:// (or wss://) with a tls section`,
      );
    }
    if (m.tls?.rejectUnauthorized === false) {
      out.push('mqtt.tls.rejectUnauthorized: false accepts any broker certificate, so anyone on the network path can pose as the broker and read the password; give mqtt.tls.caFile instead and remove this key');
    }
  }
  return out;
}

function fileMode(file: string): number {
  try {
    return statSync(file).mode;
  } catch {
    return 0;
  }
}
