import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';
import { addressRange } from './ssrf.js';

/** What one HTTP attempt produced. `error` classes: `timeout`, `connection`, `unsafe_address`, `redirect`, `http_status`. */
export interface AttemptOutcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  errorMessage: string | null;
  durationMs: number;
  responseExcerpt: string | null;
}

export interface SenderOptions {
  timeoutMs: number;
  /** Global cap on attempts in flight, across receivers. */
  concurrency: number;
  allowPrivate: boolean;
  userAgent: string;
}

/** Response bytes kept per attempt; the rest is discarded without being buffered. */
export const RESPONSE_EXCERPT_BYTES = 4096;

/**
 * POSTs signed deliveries with one shared keep-alive undici Agent. Redirects are never followed
 * (a 3xx is a failure). Unless private URLs are allowed, the address is checked after DNS
 * resolution, inside the connection's own lookup, so the checked address is the one connected to.
 */
export class Sender {
  private readonly agent: Agent;

  constructor(private readonly options: SenderOptions) {
    this.agent = new Agent({
      keepAliveTimeout: 10_000,
      connections: options.concurrency,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: options.timeoutMs, ...(options.allowPrivate ? {} : { lookup: guardedLookup }) },
    });
  }

  /** One attempt; never throws. `headers` must include the `webhook-*` headers. */
  async post(url: string, body: string, headers: Record<string, string>): Promise<AttemptOutcome> {
    const started = performance.now();
    const done = (o: Omit<AttemptOutcome, 'durationMs'>): AttemptOutcome => ({ ...o, durationMs: Math.round(performance.now() - started) });

    if (!this.options.allowPrivate) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      if (ipaddr.isValid(host) && addressRange(host) !== 'unicast') {
        return done({ ok: false, statusCode: null, error: 'unsafe_address', errorMessage: `${host} is not a public address`, responseExcerpt: null });
      }
    }

    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        body,
        headers: { 'content-type': 'application/json', 'user-agent': this.options.userAgent, ...headers },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const responseExcerpt = await readExcerpt(res.body);
      const { statusCode } = res;
      if (statusCode >= 200 && statusCode < 300) return done({ ok: true, statusCode, error: null, errorMessage: null, responseExcerpt });
      const error = statusCode >= 300 && statusCode < 400 ? 'redirect' : 'http_status';
      return done({ ok: false, statusCode, error, errorMessage: `receiver answered ${statusCode}`, responseExcerpt });
    } catch (err) {
      const e = err as Error & { code?: string };
      const error =
        e.name === 'TimeoutError' || e.name === 'AbortError' || /Timeout/.test(e.name) || e.code === 'UND_ERR_HEADERS_TIMEOUT'
          ? 'timeout'
          : e.code === 'UNSAFE_ADDRESS' || (e.cause as { code?: string } | undefined)?.code === 'UNSAFE_ADDRESS'
            ? 'unsafe_address'
            : 'connection';
      return done({ ok: false, statusCode: null, error, errorMessage: e.message, responseExcerpt: null });
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= RESPONSE_EXCERPT_BYTES) break;
    }
  } catch {
    // a receiver that breaks its body after the status line: the status decides the outcome
  } finally {
    body.destroy();
  }
  if (size === 0) return null;
  return Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
}

/** `net.connect` lookup that refuses non-public addresses (SSRF guard at send time, no second lookup). */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const unsafe = addresses.find((a) => addressRange(a.address) !== 'unicast');
    if (unsafe) {
      const e = Object.assign(new Error(`${hostname} resolves to ${unsafe.address}, which is not a public address`), { code: 'UNSAFE_ADDRESS' });
      return callback(e, '', 0);
    }
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
};
