import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A signed-in console user. Held in memory only: a restart signs everyone out. */
export interface Session {
  /** Opaque, 32 random bytes: the only thing the cookie holds (never the token). */
  id: string;
  /** The API key signed in with; null for the admin token. Re-read on every request, so a deleted key's sessions end at once. */
  keyId: string | null;
  /** The CSRF token every form of this session carries. */
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
  /** Shown once on the next page, then dropped (post/redirect/get), e.g. a new secret. */
  flash: Flash | null;
}

/** A one-time message for the next page: a notice, an error, or a secret to show once. */
export interface Flash {
  kind: 'notice' | 'error';
  message: string;
  /** A secret to show once with a copy button (a new subscription's, a rotated one). */
  secret?: string;
}

/** Defaults: sign-out after 30 min idle and at the latest 12 h after sign-in. */
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 12 * 3_600_000;
/** Oldest sessions are dropped beyond this, so memory stays bounded. */
const MAX_SESSIONS = 1_000;

/**
 * The console's sessions: in memory, keyed by an opaque random id, expiring after `idleMs` without a
 * request and `maxMs` after sign-in.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly opts: { idleMs?: number; maxMs?: number; now?: () => number } = {}) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Starts a session for the admin token (`keyId` null) or an API key. */
  create(keyId: string | null): Session {
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const now = this.now();
    const session: Session = { id: token(), keyId, csrf: token(), createdAt: now, lastSeenAt: now, flash: null };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, its idle timer restarted; null when unknown or expired. */
  get(id: string | undefined): Session | null {
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    if (this.expired(s)) {
      this.sessions.delete(id);
      return null;
    }
    s.lastSeenAt = this.now();
    return s;
  }

  /** Whether a session is still live, without restarting its idle timer (the Live stream asks every second). */
  alive(id: string): boolean {
    const s = this.sessions.get(id);
    return !!s && !this.expired(s);
  }

  private expired(s: Session): boolean {
    const now = this.now();
    return now - s.lastSeenAt > (this.opts.idleMs ?? SESSION_IDLE_MS) || now - s.createdAt > (this.opts.maxMs ?? SESSION_MAX_MS);
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  private sweep(): void {
    for (const [id, s] of this.sessions) if (this.expired(s)) this.sessions.delete(id);
  }
}

/** Whether a submitted CSRF token is the session's, compared in constant time. */
export function csrfMatches(session: Session, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

function token(): string {
  return randomBytes(32).toString('base64url');
}
