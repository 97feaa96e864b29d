import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../src/sources/errors.js';
import { kindOfStatus, retryAfterMs, statusError, UpstreamHttp } from '../src/sources/upstream-http.js';

describe('the shared upstream HTTP client', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/slow-body') {
        // Headers at once, then the body stalls past the timeout.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
        return;
      }
      if (req.url === '/limited') {
        res.writeHead(429, { 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 30) });
        return res.end('{"message":"slow down"}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('a body that stalls past the timeout is a `timeout`, with the cause kept', async () => {
    const http = new UpstreamHttp({ source: 'test', requestTimeoutMs: 300 });
    try {
      const err = await http.send('GET', `${base}/slow-body`, { where: 'GET /slow-body', headers: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err).toMatchObject({ kind: 'timeout', status: 200 });
      expect((err as Error).cause).toBeInstanceOf(Error);
    } finally {
      await http.close();
    }
  });

  it('a 429 becomes rate_limited with the wait from X-RateLimit-Reset; statuses map to kinds', async () => {
    const http = new UpstreamHttp({ source: 'test', requestTimeoutMs: 5_000 });
    try {
      const res = await http.send('GET', `${base}/limited`, { where: 'GET /limited', headers: {} });
      const err = statusError(res, 'GET /limited');
      expect(err).toMatchObject({ kind: 'rate_limited', status: 429 });
      expect(err.retryAfterMs).toBeGreaterThan(25_000);
      expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
      expect(err.message).not.toContain('slow down'); // never the body
    } finally {
      await http.close();
    }
    expect([400, 401, 403, 404, 429, 500, 503].map(kindOfStatus)).toEqual([
      'client',
      'auth',
      'auth',
      'client',
      'rate_limited',
      'server',
      'server',
    ]);
    expect(retryAfterMs({ 'retry-after': '7' })).toBe(7_000);
    expect(retryAfterMs({})).toBeNull();
  });
});
