import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { sameIdTag } from '../domain/tags.js';
import type { AuthResult, AuthStatus } from '../domain/types.js';
import type { Connector } from './connector.js';
import type { Authorizer, Reservation, TagOutcome } from './port.js';
import { matches, parentMayMatch } from './reservation-rules.js';

/** Tags listed in the config (auth.mode local). */
export class LocalListAuthorizer implements Authorizer {
  constructor(private readonly tags: Config['auth']['tags']) {}
  async authorize(idTag: string): Promise<AuthResult> {
    const t = this.tags.find((x) => sameIdTag(x.idTag, idTag));
    if (!t) return { status: 'Invalid', source: 'local' };
    return { status: t.enabled ? 'Accepted' : 'Blocked', source: 'local' };
  }
}

export interface AuthorizationDeps {
  auth: Config['auth'];
  connector(id: number): Connector | undefined;
  connectorIds(): number[];
  /** Who the connectors are kept for (reservations.ts). */
  reservations(): { requiredOn(connectorId: number): Reservation[] | null; usableOn(connectorId: number): Reservation[] };
  rejected(info: { connectorId: number; idTag: string; status: AuthStatus }): void;
  log: Logger;
}

/**
 * Who may start and stop a session: tags presented at a reader (the authoriser for auth.mode, or
 * the one OCPP installs), pre-authorised remote starts, and the cable kept locked for its owner.
 */
export class Authorization {
  private authorizer: Authorizer | null;

  constructor(private readonly d: AuthorizationDeps) {
    this.authorizer = d.auth.mode === 'local' ? new LocalListAuthorizer(d.auth.tags) : null;
  }

  setAuthorizer(a: Authorizer): void {
    this.authorizer = a;
  }

  /**
   * A tag presented at the connector's reader: stops the running session when it is the same tag,
   * else asks the authoriser and authorises the connector.
   */
  async presentTag(connectorId: number, idTag: string): Promise<TagOutcome> {
    const c = this.need(connectorId);
    const running = c.session();
    const hold = c.lockHeldFor();
    if (hold && !running) {
      // The cable was kept locked for its owner (OCPP StopTransactionOnInvalidId): the same tag, or
      // one with the same parentIdTag, unlocks it.
      let result: AuthResult | undefined;
      const same = sameIdTag(hold.idTag, idTag);
      if (!same && hold.parentIdTag && this.authorizer) result = await this.authorizer.authorize(idTag, connectorId);
      if (same || sameIdTag(result?.parentIdTag, hold.parentIdTag)) {
        await c.releaseLock();
        this.d.log.info({ connectorId, idTag }, 'cable unlocked for its owner');
        return { status: 'Accepted', source: result?.source ?? 'local', action: 'unlocked' };
      }
    }
    if (running && sameIdTag(running.idTag, idTag)) {
      c.stop('Local', idTag);
      return { status: 'Accepted', source: running.authSource, action: 'stopped' };
    }
    const required = running ? null : this.d.reservations().requiredOn(connectorId);
    if (!running) {
      // Nothing could start here (Unavailable, Faulted): refuse at once, without asking anyone
      // (no Authorize.req to the CSMS for a session that cannot happen).
      const snap = c.snapshot();
      if (!snap.available || snap.faults.length > 0) {
        this.d.log.info({ connectorId, idTag, available: snap.available, faults: snap.faults }, 'tag at a connector that cannot charge now: refused');
        return { status: 'Invalid', source: 'local', action: 'unavailable' };
      }
      // Kept for another tag, and no parent could make this one match: refused without asking anyone.
      if (required && !required.some((r) => matches(r, idTag)) && !parentMayMatch(required)) return this.refuseReserved(connectorId, idTag, 'local');
    }
    const result: AuthResult = this.authorizer
      ? await this.authorizer.authorize(idTag, connectorId)
      : { status: 'Accepted', source: this.d.auth.mode === 'free' ? 'free' : 'local' };
    if (result.status !== 'Accepted') {
      this.d.log.info({ connectorId, idTag, status: result.status }, 'tag refused');
      this.d.rejected({ connectorId, idTag, status: result.status });
      return { ...result, action: 'rejected' };
    }
    if (running) {
      // Another valid tag while charging: with the same parentIdTag as the running session's it may
      // stop it (OCPP 1.6 §4.1/§4.8); else ignore.
      if (sameIdTag(result.parentIdTag, this.authorizer?.parentIdTagOf?.(running.id))) {
        c.stop('Local', idTag);
        return { ...result, action: 'stopped' };
      }
      this.d.rejected({ connectorId, idTag, status: 'ConcurrentTx' });
      return { status: 'ConcurrentTx', source: result.source, action: 'rejected' };
    }
    // The reservation the session will use: the connector's own or the station's, for this tag or its parent.
    const reservation = this.d.reservations().usableOn(connectorId).find((r) => matches(r, idTag, result.parentIdTag));
    if (required && !required.some((r) => r === reservation)) return this.refuseReserved(connectorId, idTag, result.source);
    c.presentedAuth(idTag, result.source, reservation?.reservationId);
    return { ...result, action: c.snapshot().session ? 'started' : 'pending' };
  }

  /**
   * Pre-authorised start (e.g. OCPP RemoteStartTransaction). Picks the first free connector when
   * none is given. A connector kept for a reservation takes only its tag (the parent is not known
   * without asking: a remote start names the tag itself).
   */
  remoteStart(connectorId: number | undefined, idTag: string): boolean {
    const usable = (i: number) => {
      const snap = this.need(i).snapshot();
      const required = this.d.reservations().requiredOn(i);
      return !snap.session && !snap.auth && snap.available && snap.faults.length === 0 && (!required || required.some((r) => matches(r, idTag)));
    };
    const id = connectorId ?? this.d.connectorIds().find(usable);
    const c = id === undefined ? undefined : this.d.connector(id);
    if (!c || id === undefined) return false;
    const snap = c.snapshot();
    if (snap.session || !snap.available || snap.faults.length > 0) return false;
    const required = this.d.reservations().requiredOn(id);
    const reservation = this.d.reservations().usableOn(id).find((r) => matches(r, idTag));
    if (required && !required.some((r) => r === reservation)) {
      this.d.log.info({ connectorId: id, idTag }, 'remote start refused: the connector is kept for a reservation of another tag');
      return false;
    }
    c.presentedAuth(idTag, 'remote', reservation?.reservationId);
    return true;
  }

  private refuseReserved(connectorId: number, idTag: string, source: AuthResult['source']): TagOutcome {
    this.d.log.info({ connectorId, idTag }, 'tag refused: the connector is kept for a reservation of another tag');
    this.d.rejected({ connectorId, idTag, status: 'Invalid' });
    return { status: 'Invalid', source, action: 'rejected', reserved: true };
  }

  private need(id: number): Connector {
    const c = this.d.connector(id);
    if (!c) throw new Error(`no connector ${id}`);
    return c;
  }
}
