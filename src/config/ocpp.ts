import { z } from 'zod';
import { crossKeys } from './cross-keys.js';
import { intBetween, nonEmptyString, numberBetween } from './zod-helpers.js';
import { keyDef } from './ocpp16-keys.js';

/**
 * The `ocpp` section (issue 3). Absent = standalone station.
 *
 * securityProfile (OCPP 1.6 security whitepaper): 0 = no auth (test benches only), 1 = Basic auth over
 * ws://, 2 = Basic auth over wss://, 3 = mutual TLS (client certificate) over wss://. Left out, it is
 * derived from what is configured (cert+key → 3, password → 1 or 2 by the URL scheme, else 0).
 */
const urlSchema = z
  .string({ error: 'must be the CSMS address, e.g. wss://csms.example.com/ocpp' })
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'ws:' || u.protocol === 'wss:') && !!u.host && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, { error: 'must be a ws:// or wss:// URL without ?query, e.g. wss://csms.example.com/ocpp (the station id is appended as the last path segment)' })
  .transform((s) => s.replace(/\/+$/, ''));

const keyValue = z.union([z.string(), z.number(), z.boolean()], { error: 'must be a text, number or true/false' });

export const ocppConfigSchema = z
  .strictObject({
    version: z.literal('1.6', { error: 'must be "1.6" (the OCPP version evsed speaks)' }),
    url: urlSchema,
    /** Basic-auth password (profiles 1/2). A CSMS may replace it later with ChangeConfiguration(AuthorizationKey). */
    password: z.string().min(1, { error: 'must not be empty (leave the key out for no password)' }).max(100, { error: 'must be at most 100 characters' }).optional(),
    caFile: nonEmptyString('a path to a PEM file with the CA that signed the CSMS certificate').optional(),
    clientCert: nonEmptyString('a path to the PEM client certificate (security profile 3)').optional(),
    clientKey: nonEmptyString('a path to the PEM private key of clientCert').optional(),
    securityProfile: intBetween(0, 3).optional(),
    /** How long to wait for the CSMS to answer a call; a timeout forces a reconnect. */
    callTimeoutS: intBetween(5, 300).default(30),
    /** Reconnect back-off (exponential ×2, ±25 % jitter) between these bounds. */
    reconnectMinS: numberBetween(0.05, 60).default(1),
    reconnectMaxS: numberBetween(0.1, 3600).default(300),
    /** Bounds of the durable transaction-message queue; when reached, intermediate MeterValues are thinned. */
    maxQueuedMessages: intBetween(100, 10_000_000).default(50_000),
    maxQueueBytes: intBetween(100_000, 2_000_000_000).default(50_000_000),
    /** The largest firmware bundle UpdateFirmware / SignedUpdateFirmware may download (MB). */
    firmwareMaxMB: intBetween(1, 4096).default(512),
    /** Initial values of OCPP configuration keys; a value the CSMS set later (persisted) wins. */
    keys: z.record(z.string(), keyValue).default({}),
  })
  .check(crossKeys((c, ctx) => {
    const wss = c.url.startsWith('wss:');
    const profile = c.securityProfile ?? deriveProfile(c.clientCert, c.password, wss);
    const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message, input: (c as Record<string, unknown>)[path] });
    if ((c.clientCert === undefined) !== (c.clientKey === undefined)) {
      fail(c.clientCert ? 'clientKey' : 'clientCert', 'clientCert and clientKey go together (mutual TLS needs both)');
    }
    if (profile >= 2 && !wss) fail('url', `securityProfile ${profile} needs a wss:// URL (TLS)`);
    if (profile === 1 && wss) fail('securityProfile', 'a wss:// URL with a password is securityProfile 2 (profile 1 is Basic auth over plain ws://)');
    if ((profile === 1 || profile === 2) && !c.password) fail('password', `securityProfile ${profile} needs a password (HTTP Basic auth)`);
    if (profile === 0 && c.password) fail('password', 'securityProfile 0 sends no password; use 1 (ws://) or 2 (wss://)');
    if (profile === 3 && !c.clientCert) fail('clientCert', 'securityProfile 3 (mutual TLS) needs clientCert and clientKey');
    if (profile === 3 && c.password) fail('password', 'securityProfile 3 authenticates with the client certificate; remove the password');
    if (c.reconnectMaxS < c.reconnectMinS) fail('reconnectMaxS', `must be at least reconnectMinS (${c.reconnectMinS})`);
    for (const [key, value] of Object.entries(c.keys)) {
      const def = keyDef(key);
      if (!def) {
        ctx.addIssue({ code: 'custom', path: ['keys', key], message: 'unknown OCPP configuration key (docs/ocpp.md lists the supported ones)', input: value });
        continue;
      }
      if (def.readonly && !def.installer) {
        ctx.addIssue({ code: 'custom', path: ['keys', key], message: 'is read-only (evsed derives it); remove it', input: value });
        continue;
      }
      if (key === 'SecurityProfile') {
        ctx.addIssue({ code: 'custom', path: ['keys', key], message: 'is set by ocpp.securityProfile (the CSMS may only raise it); move the value there', input: value });
        continue;
      }
      if (key === 'AuthorizationKey' && profile !== 1 && profile !== 2) {
        ctx.addIssue({ code: 'custom', path: ['keys', key], message: `is the Basic-auth password of security profiles 1 and 2; securityProfile ${profile} does not use it`, input: value });
        continue;
      }
      const problem = def.check(String(value));
      if (problem) ctx.addIssue({ code: 'custom', path: ['keys', key], message: problem, input: value });
    }
  }))
  .transform((c) => ({
    ...c,
    securityProfile: c.securityProfile ?? deriveProfile(c.clientCert, c.password, c.url.startsWith('wss:')),
    keys: Object.fromEntries(Object.entries(c.keys).map(([k, v]) => [k, String(v)])) as Record<string, string>,
  }));

function deriveProfile(cert: string | undefined, password: string | undefined, wss: boolean): number {
  if (cert) return 3;
  if (password) return wss ? 2 : 1;
  return 0;
}

export type OcppConfig = z.infer<typeof ocppConfigSchema>;
