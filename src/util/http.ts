/**
 * Small HTTP helpers shared by the source clients and the delivery sender.
 */

/**
 * Parses `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
 * @returns ms from `now`, or null when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * Reads at most `maxBytes` of a response body and destroys the stream, so a 50 MB answer costs
 * `maxBytes` of memory. A body that breaks midway yields what arrived.
 */
export async function readLimited(body: AsyncIterable<Buffer> & { destroy(): unknown }, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxBytes) break;
    }
  } catch {
    // the status decides the outcome; a broken body adds nothing
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}
