import type { IncomingMessage } from 'node:http';

/** The sign-in cookie's name. */
export const SESSION_COOKIE = 'evsed_session';

/** The value of cookie `name` in the request's Cookie header(s), or undefined. */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

export interface CookieOptions {
  /** Seconds the browser keeps it; 0 deletes it. */
  maxAgeS: number;
  secure: boolean;
}

/**
 * A Set-Cookie value for the sign-in: not readable by scripts (HttpOnly), never sent with a
 * request another site starts (SameSite=Strict), for the whole station (Path=/), and Secure when
 * the page is served over https.
 */
export function sessionCookie(value: string, o: CookieOptions): string {
  return [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${o.maxAgeS}`, ...(o.secure ? ['Secure'] : [])].join('; ');
}
