import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { startBridge, type Bridge } from '../../src/bridge.js';
import { BridgeTestClient } from './bridge-client.js';
import { loadConfig } from '../../src/config/index.js';
import type { Resolve } from '../../src/delivery/ssrf.js';
import { ClinikoSimulator, type SimulatorOptions } from '../../tools/simulator/index.js';
import { Receiver } from '../../tools/demo/receiver.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const USER_AGENT = 'Bridge tests (tests@example.com)';

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The environment every test bridge shares: polling the Cliniko simulator at `simUrl`, its store in
 * `dataDir`, the test admin token, loopback receivers allowed, any port. Tests add what they vary.
 */
export function simulatorBridgeEnv(simUrl: string, dataDir: string): Record<string, string> {
  return {
    CLINIKO_API_KEY: 'sim-key-au1',
    CLINIKO_USER_AGENT: USER_AGENT,
    CLINIKO_BASE_URL: simUrl,
    BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
    // Tests poll the admin API every 20 ms; the limit itself is tested with its own value.
    BRIDGE_ADMIN_RATE_LIMIT_PER_MIN: '1000000',
    BRIDGE_DATA_DIR: dataDir,
    BRIDGE_ALLOW_PRIVATE_URLS: 'true',
    PORT: '0',
  };
}

/** A simulator, a verifying receiver and a bridge wired together on loopback, with a temp data dir. */
export class Harness extends BridgeTestClient {
  readonly adminToken = ADMIN_TOKEN;
  sim!: ClinikoSimulator;
  simUrl = '';
  dataDir = '';
  env: Record<string, string> = {};

  resolve?: Resolve;
  logger: Logger = pino({ level: 'silent' });

  static async create(
    opts: {
      sim?: SimulatorOptions;
      env?: Record<string, string>;
      seed?: Parameters<ClinikoSimulator['seed']>[0];
      resolve?: Resolve;
      logger?: Logger;
      dataDir?: string;
    } = {},
  ): Promise<Harness> {
    const h = new Harness();
    h.resolve = opts.resolve;
    if (opts.logger) h.logger = opts.logger;
    h.sim = new ClinikoSimulator({ rateLimitPerMin: 0, ...opts.sim });
    if (opts.seed) h.sim.seed(opts.seed);
    h.simUrl = (await h.sim.listen()).baseUrl;
    h.receiver = await new Receiver().start();
    h.dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'bridge-test-')));
    h.env = { ...simulatorBridgeEnv(h.simUrl, h.dataDir), BRIDGE_RETRY_SCHEDULE: '100ms,200ms', LOG_LEVEL: 'silent', ...opts.env };
    await h.startBridge();
    return h;
  }

  async startBridge(): Promise<Bridge> {
    this.bridge = await startBridge(loadConfig(this.env), { logger: this.logger, schedule: false, resolve: this.resolve });
    return this.bridge;
  }

  async close(): Promise<void> {
    await this.bridge?.stop();
    await this.receiver?.close();
    await this.sim?.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
