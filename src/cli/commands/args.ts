import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage error: printed with a hint to --help, exit code 64 (EX_USAGE). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 64;
}

/**
 * node:util parseArgs for a command not yet in the table of ./index.ts (a command there gets its
 * options parsed by commander, with help). New commands belong in the table.
 */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${usage}`);
  }
}

export const DEFAULT_CONFIG = 'config/sim.yaml';
