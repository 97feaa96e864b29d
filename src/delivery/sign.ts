import { createHmac, randomBytes } from 'node:crypto';

/** Standard Webhooks v1.0.0 header names. */
export const HEADER_ID = 'webhook-id';
export const HEADER_TIMESTAMP = 'webhook-timestamp';
export const HEADER_SIGNATURE = 'webhook-signature';
/** Prefix of secrets as shown to users (Standard Webhooks, "Signature scheme"). */
export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 24;

/** A new subscription secret: `whsec_` + base64 of 24 random bytes. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/**
 * The `webhook-signature` value for a delivery: one `v1,<base64 HMAC-SHA256>` per secret,
 * space-separated, over `${msgId}.${timestampSeconds}.${body}` keyed with the base64-decoded
 * secret (Standard Webhooks spec, "Signature scheme"). Several secrets during rotation.
 * @param timestampSeconds UNIX seconds, the same value sent in `webhook-timestamp`.
 */
export function sign(secrets: readonly string[], msgId: string, timestampSeconds: number, body: string): string {
  const content = `${msgId}.${timestampSeconds}.${body}`;
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
      return `v1,${createHmac('sha256', key).update(content).digest('base64')}`;
    })
    .join(' ');
}
