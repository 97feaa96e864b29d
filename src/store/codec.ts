/**
 * How store text is written to disk. Identity by default; `BRIDGE_ENCRYPTION_KEY` swaps in an
 * AES-256-GCM codec. Encoded text must not contain a newline (journal lines are newline-separated).
 */
export interface Codec {
  /** `encode` returns its input unchanged, so text may be written in pieces without being joined first. */
  readonly identity?: boolean;
  encode(text: string): string;
  /** @throws when the text was not produced by this codec (wrong key, tampering). */
  decode(text: string): string;
}

export const plainCodec: Codec = { identity: true, encode: (t) => t, decode: (t) => t };

/**
 * Text given in pieces (their concatenation), encoded with `codec`: the pieces themselves for an
 * identity codec, so no large string is built; otherwise one piece, the joined text encoded.
 */
export function encodePieces(codec: Codec, pieces: readonly string[]): readonly string[] {
  return codec.identity ? pieces : [codec.encode(pieces.join(''))];
}

/**
 * The UTF-8 bytes of the concatenation of `pieces`, written piece by piece into one buffer: joining
 * them first would build one large string (V8 allocates strings past 128 KiB in their own pages, slowly).
 */
export function utf8Of(pieces: readonly string[]): Buffer {
  let length = 0;
  for (const p of pieces) length += Buffer.byteLength(p, 'utf8');
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const p of pieces) offset += out.write(p, offset, 'utf8');
  return out;
}
