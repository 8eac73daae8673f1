import { EventEmitter } from 'node:events';
import type { CardReaderEvents, SimulatedCardReader } from './types.js';

/** The simulator's reader (driver sim): a card is "held to it" through the API or a test. */
export class SimCardReader extends EventEmitter<CardReaderEvents> implements SimulatedCardReader {
  private opened = false;

  async open(): Promise<void> {
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  present(idTag: string): void {
    if (!this.opened) throw new Error('the simulated reader is not open');
    this.emit('card', { text: idTag });
  }
}
