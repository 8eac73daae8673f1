/**
 * Who a connection comes from, for per-client limits: an IPv4 address, or an IPv6 /64 (one host
 * can use a whole /64, so a per-address limit would not bound it). Behind a reverse proxy every
 * request is the proxy's.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const groups = expandIpv6(address.replace(/%.*$/, ''));
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros; null if malformed. */
function expandIpv6(address: string): string[] | null {
  let text = address.toLowerCase();
  // A trailing dotted IPv4 part (::ffff:1.2.3.4 was handled; others are rare but valid) becomes two groups.
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) return null;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => parseInt(g, 16).toString(16));
}

/** Open connections per client, bounded: the count a client may hold at once. */
export class ClientConnections {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerClient: number) {}

  /** Counts a new connection of `key`; false (nothing counted) when that client already holds the maximum. */
  admit(key: string): boolean {
    const n = this.open.get(key) ?? 0;
    if (n >= this.maxPerClient) return false;
    this.open.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = (this.open.get(key) ?? 0) - 1;
    if (n > 0) this.open.set(key, n);
    else this.open.delete(key);
  }

  count(key: string): number {
    return this.open.get(key) ?? 0;
  }
}
