import { z } from 'zod';
import { crossKeys } from './cross-keys.js';
import { intBetween, listenAddress, parseListen } from './zod-helpers.js';
import { parsePasswordHash } from '../util/password-hash.js';

/** Loopback: 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/i.test(host);
}

/** A DNS name as it appears in a Host header, without port: evse.local, charger.fritz.box. */
const hostName = z
  .string({ error: 'must be a host name such as evse.local' })
  .max(253, { error: 'must be at most 253 characters' })
  .regex(/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/, {
    error: 'must be a host name without scheme, port or path, e.g. evse.local',
  });

/**
 * The `api` section. Safe by default in a browser and on a network: loopback only unless a token
 * is set or the network is declared trusted; Host names other than IP addresses and localhost
 * must be listed (DNS rebinding). docs/security.md says what each key protects.
 */
export const apiConfigSchema = z
  .strictObject({
    listen: listenAddress,
    /** Bearer token required on every request when set. */
    token: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
    /**
     * Host names the station is reached by (besides its IP addresses and localhost, always
     * allowed): a request with any other Host header is refused, so a web page whose name was
     * made to resolve to the station (DNS rebinding) cannot read or control it.
     */
    allowedHosts: z.array(hostName, { error: 'must be a list of host names, e.g. [evse.local]' }).default([]),
    /**
     * true: anyone who can reach api.listen may control the station without a token. Needed to
     * listen beyond localhost without api.token; only for a network where every device and person
     * is trusted.
     */
    trustedNetwork: z.boolean({ error: 'must be true or false' }).default(false),
    /**
     * The page's sign-in password, as a hash only (`evsed passwd` writes it). When set, every page
     * and API route needs the sign-in cookie or api.token (docs/security.md, "Signing in").
     */
    passwordHash: z
      .string({ error: 'must be the hash `evsed passwd` writes' })
      .superRefine((v, ctx) => {
        const parsed = parsePasswordHash(v);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      })
      .optional(),
    /** How long a sign-in lasts (it is kept in the daemon's memory: a restart signs everyone out). */
    signIn: z
      .strictObject({
        /** Ends after this many hours without a request. */
        idleHours: intBetween(1, 720).default(24),
        /** Ends this many days after the sign-in, in use or not. */
        maxDays: intBetween(1, 365).default(30),
        /** Mark the cookie Secure (only sent over https): set it behind a TLS reverse proxy. */
        secureCookie: z.boolean({ error: 'must be true or false' }).default(false),
      })
      .default({ idleHours: 24, maxDays: 30, secureCookie: false }),
  })
  .check(crossKeys((api, ctx) => {
    if (api.token !== undefined || api.passwordHash !== undefined || api.trustedNetwork) return;
    const { host } = parseListen(api.listen);
    if (!isLoopbackHost(host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['listen'],
        input: api.listen,
        message:
          'listens beyond localhost without a sign-in password or api.token, so anyone on the network could control the station: set a password for the page (`evsed passwd`) and/or api.token (16 characters or more) for scripts, listen on 127.0.0.1, or set api.trustedNetwork: true if everyone on this network may',
      });
    }
  }));

export type ApiConfig = z.infer<typeof apiConfigSchema>;
