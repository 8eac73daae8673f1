/** Shorter values are not scrubbed: replacing every "abc" would garble the text and protects nothing. */
const MIN_SECRET_LENGTH = 4;

/** A PEM private key block of any kind (PKCS#1, PKCS#8, EC, encrypted, OpenSSH). */
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g;

/**
 * Removes secrets from text that leaves the station (a diagnostics archive). Each secret is
 * matched in every form it is likely to have been written in: as is, JSON- and URL-encoded,
 * base64; an AuthorizationKey (hex) also decoded, as it goes on the wire, and inside the HTTP
 * Basic credentials `base64(identity:password)`. Any PEM private key block is removed whole, and
 * the base64 lines of the key files given are removed wherever they appear alone.
 */
export class Redactor {
  private readonly forms = new Set<string>();

  constructor(private readonly basicAuthUser?: string) {}

  add(value: string | undefined | null): this {
    if (!value || value.length < MIN_SECRET_LENGTH) return this;
    this.addForms(value);
    if (/^([0-9a-f]{2})+$/i.test(value)) {
      const raw = Buffer.from(value, 'hex');
      this.forms.add(value.toLowerCase());
      this.forms.add(value.toUpperCase());
      const decoded = raw.toString('latin1');
      if (decoded.length >= MIN_SECRET_LENGTH) this.addForms(decoded);
      this.forms.add(raw.toString('base64'));
      if (this.basicAuthUser) this.forms.add(Buffer.concat([Buffer.from(`${this.basicAuthUser}:`), raw]).toString('base64'));
    }
    return this;
  }

  /** A key file's contents: its base64 body lines are secrets on their own. */
  addPem(pem: string): this {
    for (const line of pem.split(/\r?\n/)) {
      const l = line.trim();
      if (l.length >= 16 && /^[A-Za-z0-9+/=]+$/.test(l)) this.forms.add(l);
    }
    return this;
  }

  scrub(text: string): string {
    let out = text.replace(PEM_PRIVATE_KEY, '[private key removed]');
    // longest first: a form inside a longer one must not break the longer one's match
    for (const form of [...this.forms].sort((a, b) => b.length - a.length)) if (out.includes(form)) out = out.split(form).join('***');
    return out;
  }

  private addForms(value: string): void {
    this.forms.add(value);
    this.forms.add(JSON.stringify(value).slice(1, -1));
    this.forms.add(encodeURIComponent(value));
    this.forms.add(Buffer.from(value, 'utf8').toString('base64'));
    if (this.basicAuthUser) this.forms.add(Buffer.from(`${this.basicAuthUser}:${value}`, 'utf8').toString('base64'));
  }
}
