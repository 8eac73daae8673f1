#!/usr/bin/env node
import { runProgram } from './program.js';

/** evsed command line: commands, options and help are in ./commands/index.ts, the parser in ./program.ts. */
runProgram(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A ConfigError (exit 78) and others that know their exit code carry it.
    const e = err as Error & { exitCode?: number };
    console.error(`evsed: ${e.message}`);
    process.exitCode = e.exitCode ?? 1;
  },
);
