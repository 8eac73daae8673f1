import { z } from 'zod';

/**
 * Small schema builders whose error messages read like advice to a technician.
 * The formatter (errors.ts) appends "(got X)" from the offending input.
 */
export function intBetween(min: number, max: number) {
  const msg = `must be a whole number between ${min} and ${max}`;
  return z
    .number({ error: `must be a number between ${min} and ${max}` })
    .int({ error: msg })
    .min(min, { error: `must be between ${min} and ${max}` })
    .max(max, { error: `must be between ${min} and ${max}` });
}

export function numberBetween(min: number, max: number) {
  return z
    .number({ error: `must be a number between ${min} and ${max}` })
    .min(min, { error: `must be between ${min} and ${max}` })
    .max(max, { error: `must be between ${min} and ${max}` });
}

export function nonEmptyString(what = 'a non-empty text') {
  return z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(' | ')}` });
}

/** host:port, e.g. 127.0.0.1:8080 or [::1]:8080 or 0.0.0.0:80 */
export const listenAddress = z
  .string({ error: 'must be host:port, e.g. 127.0.0.1:8080' })
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be host:port, e.g. 127.0.0.1:8080', abort: true })
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 0 && port <= 65535;
  }, { error: 'port must be between 0 and 65535' });

export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, port: Number(listen.slice(i + 1)) };
}
