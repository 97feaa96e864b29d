import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Codec } from './codec.js';

/** Prefix of every encrypted file and journal line: a plain store never starts with it. */
export const ENCRYPTED_PREFIX = 'enc1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The key does not open the store (wrong key, or the store was written without encryption / with another key). */
export class StoreKeyError extends Error {
  override name = 'StoreKeyError';
}

/**
 * AES-256-GCM with a random 96-bit nonce per write (issue "Patient data", Encryption at rest):
 * `enc1:` + base64(nonce ‖ ciphertext ‖ tag). GCM authenticates, so a wrong key or a tampered file
 * fails to decode instead of yielding garbage.
 * @param key 32 bytes (`BRIDGE_ENCRYPTION_KEY`, base64 in configuration).
 */
export function aesGcmCodec(key: Buffer): Codec {
  if (key.length !== 32) throw new Error('the encryption key must be 32 bytes');
  return {
    encode(text) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return ENCRYPTED_PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
    },
    decode(text) {
      if (!text.startsWith(ENCRYPTED_PREFIX)) {
        throw new StoreKeyError(
          'the store is not encrypted but BRIDGE_ENCRYPTION_KEY is set: run `npm run store -- encrypt` first, or unset the key',
        );
      }
      const raw = Buffer.from(text.slice(ENCRYPTED_PREFIX.length), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new StoreKeyError('BRIDGE_ENCRYPTION_KEY does not decrypt the store (wrong key, or the file was altered)');
      }
    },
  };
}

/** The plain codec, refusing encrypted text with a clear message instead of a JSON error. */
export const plainStrictCodec: Codec = {
  identity: true,
  encode: (t) => t,
  decode(text) {
    if (text.startsWith(ENCRYPTED_PREFIX)) throw new StoreKeyError('the store is encrypted: set BRIDGE_ENCRYPTION_KEY to its key');
    return text;
  },
};

/** The codec for a key from configuration: AES-256-GCM when set, plain otherwise. */
export function codecFor(key: Buffer | null): Codec {
  return key ? aesGcmCodec(key) : plainStrictCodec;
}
