import { distance } from 'fastest-levenshtein';

/**
 * The candidate a misspelt name most likely meant: the nearest by edit distance, when it is near
 * enough to be a typo (at most a third of the name's length, and at most 3 edits); else `undefined`.
 * @example didYouMean('evnt_types', ['url', 'event_types']) // 'event_types'
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= limit ? best : undefined;
}
