import type { StationEvents, StationPort, TagOutcome } from '../evse/port.js';
import type { ConnectorStatus } from '../domain/types.js';
import { describePattern, type LightPattern, type Sound } from '../domain/signals.js';
import { signalPatterns, type SignalEvent, type SignalsConfig } from '../config/signals.js';
import type { Buzzer, StatusLight } from '../hal/signals/types.js';
import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import { Subscriptions } from '../util/subscriptions.js';
import type { TagRead } from './readers.js';

/** What the signals need of the readers (ReaderService): what each card did. */
export interface CardOutcomes {
  on(e: 'tag outcome', l: (read: TagRead, outcome: TagOutcome) => void): unknown;
  off(e: 'tag outcome', l: (read: TagRead, outcome: TagOutcome) => void): unknown;
}

export interface SignalsStatus {
  connectorId: number;
  /** The connector status the light stands for. */
  state: ConnectorStatus;
  /** A card answer showing over the state's pattern, else null. */
  feedback: SignalEvent | null;
  light: { driver: StatusLight['driver']; pattern: LightPattern; text: string };
  buzzer: { driver: Buzzer['driver']; lastSound: Sound | null; lastSoundAgoMs: number | null };
}

export interface StatusSignalsOptions {
  station: StationPort;
  cfg: SignalsConfig;
  light: StatusLight;
  buzzer: Buzzer;
  /** The card readers: an accepted card (and one at a connector that cannot charge) is signalled from here. */
  readers?: CardOutcomes;
  log: Logger;
  /** Feedback timing (tests pass a FakeClock); default the station's clock. */
  clock?: Pick<Clock, 'setTimeout' | 'monoMs'>;
}

/**
 * The station's state as a light and sounds (issue 16): the light shows one connector's status
 * with the pattern configured for it; a card answer (accepted, refused) blinks its own pattern for
 * `feedbackMs` over it and sounds its sound. A refusal comes from the station ('auth-rejected':
 * refused by the authoriser, or another card while charging) or from a reader whose connector
 * cannot charge now; an acceptance from a reader's card that started, stopped, is waiting for the
 * EV, or unlocked the cable.
 */
export class StatusSignals {
  private readonly patterns: Record<ConnectorStatus | SignalEvent, LightPattern>;
  private readonly subs = new Subscriptions();
  private readonly clock: Pick<Clock, 'setTimeout' | 'monoMs'>;
  readonly connectorId: number;
  private state: ConnectorStatus = 'Unavailable';
  private feedback: { event: SignalEvent; timer: { cancel(): void } } | null = null;

  constructor(private readonly o: StatusSignalsOptions) {
    this.patterns = signalPatterns(o.cfg);
    this.clock = o.clock ?? o.station.clock;
    this.connectorId = o.cfg.connector ?? o.station.connectorIds()[0]!;
  }

  start(): void {
    const on = this.subs.events<StationEvents>(this.o.station);
    on('status', (view) => {
      if (view.id !== this.connectorId) return;
      this.state = view.status;
      this.render();
    });
    on('auth-rejected', (info) => {
      if (info.connectorId === this.connectorId) this.answer('refused');
    });
    if (this.o.readers) {
      this.subs.on(this.o.readers, 'tag outcome', (read: TagRead, outcome: TagOutcome) => {
        if (read.connectorId !== this.connectorId) return;
        // 'rejected' was signalled by the station's auth-rejected already.
        if (outcome.action === 'unavailable') this.answer('refused');
        else if (outcome.action !== 'rejected') this.answer('accepted');
      });
    }
    this.state = this.o.station.connectorView(this.connectorId)?.status ?? 'Unavailable';
    this.render();
  }

  stop(): void {
    this.subs.clear();
    this.feedback?.timer.cancel();
    this.feedback = null;
    this.o.light.close();
    this.o.buzzer.close();
  }

  /** A card answer: its pattern for feedbackMs, then the state's again; its sound at once. */
  answer(event: SignalEvent): void {
    this.feedback?.timer.cancel();
    this.feedback = {
      event,
      timer: this.clock.setTimeout(() => {
        this.feedback = null;
        this.render();
      }, this.o.cfg.feedbackMs),
    };
    this.render();
    this.o.buzzer.play(this.o.cfg.sounds[event]);
    this.o.log.debug({ connectorId: this.connectorId, event }, 'card answer signalled');
  }

  status(): SignalsStatus {
    const pattern = this.o.light.current();
    const last = this.o.buzzer.last();
    return {
      connectorId: this.connectorId,
      state: this.state,
      feedback: this.feedback?.event ?? null,
      light: { driver: this.o.light.driver, pattern, text: describePattern(pattern) },
      buzzer: { driver: this.o.buzzer.driver, lastSound: last?.sound ?? null, lastSoundAgoMs: last ? Math.round(this.clock.monoMs() - last.monoMs) : null },
    };
  }

  private render(): void {
    this.o.light.show(this.patterns[this.feedback?.event ?? this.state]);
  }
}
