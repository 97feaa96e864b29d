/**
 * How store text is written to disk. Identity by default; `BRIDGE_ENCRYPTION_KEY` swaps in an
 * AES-256-GCM codec. Encoded text must not contain a newline (journal lines are newline-separated).
 */
export interface Codec {
  encode(text: string): string;
  /** @throws when the text was not produced by this codec (wrong key, tampering). */
  decode(text: string): string;
}

export const plainCodec: Codec = { encode: (t) => t, decode: (t) => t };
