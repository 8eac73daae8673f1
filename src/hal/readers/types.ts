/**
 * Card readers at the station (issue 16): a USB reader that types like a keyboard, a PN532 over
 * UART, or the simulator's. A driver reports what the card carried; turning that into an idTag is
 * normalise.ts's job, and deciding what the idTag does is the station's (panel/readers.ts).
 */

/** What a reader got from one card: its UID bytes (PN532), or the text the reader typed (keyboard, sim). */
export type CardRead = { uid: Uint8Array } | { text: string };

export interface CardReaderEvents {
  /** One presentation of a card (a card held still is reported once). */
  card: [card: CardRead];
  /** Something went wrong but the reader is still there (a broken frame, a stray key, a timeout). */
  error: [err: Error];
  /** The device went away (unplugged, port closed, read failed): the owner re-opens it later. */
  gone: [err: Error];
}

export interface CardReader {
  /** Rejects when the device cannot be opened (missing, no permission); the owner retries. */
  open(): Promise<void>;
  close(): Promise<void>;
  on<E extends keyof CardReaderEvents>(e: E, l: (...a: CardReaderEvents[E]) => void): unknown;
  off<E extends keyof CardReaderEvents>(e: E, l: (...a: CardReaderEvents[E]) => void): unknown;
}

/** The simulated reader's control: a card is held to it. */
export interface SimulatedCardReader extends CardReader {
  present(idTag: string): void;
}
