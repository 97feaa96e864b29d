import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';

/**
 * One simulator's HTTP server: listens on loopback (by default) and closes with its open
 * connections. The Cliniko and Esteem simulators share it.
 */
export class SimServer {
  private server: Server | undefined;

  /** @param name for the error when listening twice, e.g. `ClinikoSimulator` */
  constructor(
    private readonly app: Hono,
    private readonly name: string,
  ) {}

  /**
   * Listens on `host:port` (default `127.0.0.1`, a random port). Resolves with the origin, e.g.
   * `http://127.0.0.1:PORT`. @throws Error when already listening, or the listen error.
   */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error(`${this.name} is already listening`);
    const server = createAdaptorServer({ fetch: this.app.fetch }) as Server;
    // Longer than clients' keep-alive, so a pooled connection is not closed under a reused request.
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { port: bound } = server.address() as AddressInfo;
    const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `http://${urlHost}:${bound}`;
  }

  /** Stops listening and drops open (keep-alive or delayed) connections. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
