/**
 * Orders record ids as their source does: numeric ids (Cliniko's are 64-bit integers sent as
 * strings) by value, which for non-negative integers without leading zeros is by length then text;
 * any other ids by length then text, which is still a total order.
 */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
