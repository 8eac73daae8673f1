import type { ServerOptions } from 'node:http';

/**
 * What the API server lets a client hold, with Node's own server limits doing the work. Nothing
 * that arrives over the network, with a token or without, may stall the event loop that also runs
 * the station: every connection the server accepts costs loop time to set up and to close, so the
 * number of connections is bounded (in all and per client) and a request that does not complete
 * is closed after seconds, checked every second so expiries are spread out instead of closed by
 * the thousand in one sweep (Node's default checks every 30 s).
 */
export const HTTP_LIMITS = {
  /** All open connections (server.maxConnections): beyond it Node closes new ones at accept, before any parsing. */
  maxConnections: 256,
  /** Open connections per client (an IPv4 address, an IPv6 /64): a browser needs about 6, a few tabs' event streams more. */
  maxConnectionsPerClient: 32,
  /** The whole header block must arrive within this (a slowloris is closed after it). */
  headersTimeoutMs: 5_000,
  /** The whole request, body included (bodies are at most 64 KiB). */
  requestTimeoutMs: 10_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** How often Node looks for expired requests. */
  connectionsCheckingIntervalMs: 1_000,
  /** Request line and headers; a browser sends 1-2 KiB. */
  maxHeaderSize: 8 * 1024,
  /** TCP keep-alive probes start after this idle time: a peer that vanished (laptop shut) frees its connection. */
  tcpKeepAliveInitialDelayMs: 60_000,
} as const;

export function httpServerOptions(): ServerOptions {
  return {
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    connectionsCheckingInterval: HTTP_LIMITS.connectionsCheckingIntervalMs,
    maxHeaderSize: HTTP_LIMITS.maxHeaderSize,
    keepAlive: true,
    keepAliveInitialDelay: HTTP_LIMITS.tcpKeepAliveInitialDelayMs,
    requireHostHeader: true,
  };
}
