import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

/** The problems a config text is rejected with (each names its key); fails when it is accepted. */
export function problems(text: string): string[] {
  try {
    parseConfig(text, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}
