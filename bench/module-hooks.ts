import type { MessagePort } from 'node:worker_threads';

/**
 * ESM resolve hook for bench/mem-probe.ts (tracing runs only): reports every bare specifier
 * (a package or a node: builtin) that a module under dist/src imports.
 */
let port: MessagePort | undefined;
let srcUrl = '';

export async function initialize(data: { port: MessagePort; srcUrl: string }): Promise<void> {
  port = data.port;
  srcUrl = data.srcUrl;
}

type Next = (specifier: string, context: { parentURL?: string }) => Promise<unknown>;

export async function resolve(specifier: string, context: { parentURL?: string }, next: Next): Promise<unknown> {
  const result = await next(specifier, context);
  const parent = context.parentURL;
  if (parent?.startsWith(srcUrl) && !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('file:')) {
    port?.postMessage({ kind: 'import', specifier, parent });
  }
  return result;
}
