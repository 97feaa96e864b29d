import type { Prng } from './prng.js';

/**
 * Default first id: just under 10^18, so an account of a few dozen records already mixes 18- and
 * 19-digit ids. Cliniko ids are int64 strings (Cliniko API docs, "Requests"); a client that
 * sorts or compares them as strings or JS numbers breaks here, as it would in production.
 */
export const DEFAULT_FIRST_ID = 999_999_999_999_990_001n;

/** Hands out monotonically increasing int64 ids as strings, with realistic random gaps. */
export class IdSequence {
  private current: bigint | undefined;

  /** The first id handed out is `first`; later ones follow with gaps. */
  constructor(
    private readonly first: bigint,
    private readonly rng: Prng,
  ) {}

  next(): string {
    // Gaps, because real ids are shared across tables and never dense.
    this.current = this.current === undefined ? this.first : this.current + BigInt(this.rng.int(1, 997));
    return this.current.toString();
  }
}

const CANONICAL = /^(?:0|[1-9]\d*)$/;

/**
 * Numeric comparison of int64 id strings. Canonical non-negative decimals compare by length, then
 * lexically, which is exactly BigInt order without allocating BigInts in a sort comparator.
 */
export function compareIds(a: string, b: string): number {
  if (CANONICAL.test(a) && CANONICAL.test(b)) {
    if (a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
