import type { Subscription } from '../store/schema.js';

/** The description a hook gets, so lists show what it is. */
export const HOOK_DESCRIPTION = 'rest hook';

/**
 * Whether a subscription is a REST hook (`POST /v1/hooks`, Zapier): `kind: "hook"`, set at creation
 * and never changed. A hook is otherwise an ordinary subscription; the one difference is that a
 * 410 Gone from its target removes it (the Zap was turned off) instead of disabling it.
 */
export function isHook(sub: Pick<Subscription, 'kind'>): boolean {
  return sub.kind === 'hook';
}
