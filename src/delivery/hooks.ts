import type { Subscription } from '../store/schema.js';

/**
 * What marks a subscription as a REST hook (`POST /v1/hooks`, Zapier): its `description`. A hook is
 * otherwise an ordinary subscription; the one difference is that a 410 Gone from its target removes
 * it (the Zap was turned off) instead of disabling it.
 */
export const HOOK_DESCRIPTION = 'rest hook';

export function isHook(sub: Pick<Subscription, 'description'>): boolean {
  return sub.description === HOOK_DESCRIPTION;
}
