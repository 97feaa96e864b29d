import type { AdminDeps } from '../http/context.js';
import type { Caller, Credentials, Principal } from '../services/principal.js';
import type { Session, SessionStore } from './session.js';

/** What the console's pages need: the admin API's deps, the credentials check and the sessions. */
export interface ConsoleDeps extends AdminDeps {
  credentials: Credentials;
  sessions: SessionStore;
}

/** Set by the session middleware on every signed-in request. */
export interface ConsoleVars {
  session: Session;
  principal: Principal;
  caller: Caller;
  requestId: string;
}

export type ConsoleEnv = { Variables: ConsoleVars };

/** Where the console is mounted. */
export const BASE = '/console';
