import type { ResolvedReader } from '../../config/readers.js';
import { KeyboardCardReader } from './keyboard.js';
import { Pn532CardReader } from './pn532.js';
import { SimCardReader } from './sim.js';
import type { CardReader } from './types.js';

/** The driver for a configured reader (not opened). */
export function createCardReader(cfg: ResolvedReader): CardReader {
  switch (cfg.driver) {
    case 'keyboard':
      return new KeyboardCardReader({ device: cfg.device, layout: cfg.layout, inputEventBytes: cfg.inputEventBytes, grab: cfg.grab });
    case 'pn532':
      return new Pn532CardReader({ device: cfg.device, baudRate: cfg.baudRate, pollMs: cfg.pollMs, removeAfterPolls: cfg.removeAfterPolls });
    case 'sim':
      return new SimCardReader();
  }
}
