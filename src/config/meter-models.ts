import { hardwareDataDir, hardwareModelNames } from './hardware-data.js';

/**
 * The meter register maps are data files (hardware/meters/<model>.json): their names are the
 * models a config may name. The maps themselves are read by meter/modbus/model.ts.
 */

/** hardware/meters, found from this module in src/ (tests) and dist/src/ (built). */
export function modelsDir(): string {
  return hardwareDataDir('meters');
}

/** Model names for the config schema: read at import so the file names are the source. */
export function modelNames(): string[] {
  return hardwareModelNames('meters');
}
