import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage error: printed with the usage line, exit code 64 (EX_USAGE). */
export class UsageError extends Error {
  readonly exitCode = 64;
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${usage}`);
  }
}

export const DEFAULT_CONFIG = 'config/sim.yaml';
