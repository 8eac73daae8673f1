import type { SessionHooks } from '../store/sessions.js';

/**
 * Where the OCPP layer installs its session hooks (SessionStore.addHooks): they run inside the
 * session's own SQLite transaction, so a StartTransaction/StopTransaction is queued atomically
 * with the session it reports.
 */
export interface SessionHookRegistrar {
  addHooks(hooks: SessionHooks): void;
}
