import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { startBridge } from '../../src/bridge.js';
import { BridgeTestClient } from './bridge-client.js';
import { loadConfig } from '../../src/config/index.js';
import { Receiver } from '../../tools/demo/receiver.js';
import { EsteemSimulator, type EsteemSimulatorOptions } from '../../tools/simulator/esteem/index.js';

export const ADMIN_TOKEN = 'esteem-test-admin-token-0123456789';
/** The Esteem user token of these tests; it must never show up in logs. */
export const ESTEEM_TOKEN = 'esteem-user-token-9f8e7d6c5b4a';
export const DAY = 86_400_000;

/** An ISO time `days` from now (fractions allowed), on a whole minute. */
export function daysFromNow(days: number, now = Date.now()): string {
  return new Date(Math.floor((now + days * DAY) / 60_000) * 60_000).toISOString();
}

/**
 * An Esteem simulator, a verifying receiver and a bridge configured with **only** Esteem variables
 * (no Cliniko variable at all), on loopback with a temp data dir. The bridge does not schedule
 * polls; tests call `poll()`.
 */
export class EsteemHarness extends BridgeTestClient {
  readonly adminToken = ADMIN_TOKEN;
  sim!: EsteemSimulator;
  simUrl = '';
  dataDir = '';
  env: Record<string, string> = {};
  logger: Logger = pino({ level: 'silent' });

  static async create(opts: { sim?: EsteemSimulatorOptions; env?: Record<string, string>; logger?: Logger } = {}): Promise<EsteemHarness> {
    const h = new EsteemHarness();
    if (opts.logger) h.logger = opts.logger;
    h.sim = new EsteemSimulator({ userToken: ESTEEM_TOKEN, ...opts.sim });
    h.simUrl = (await h.sim.listen()).baseUrl;
    h.receiver = await new Receiver().start();
    h.dataDir = await mkdtemp(join(tmpdir(), 'bridge-esteem-test-'));
    h.env = {
      ESTEEM_USER_TOKEN: ESTEEM_TOKEN,
      ESTEEM_BASE_URL: h.simUrl,
      ESTEEM_REQUEST_TIMEOUT: '2s',
      BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
      BRIDGE_ADMIN_RATE_LIMIT_PER_MIN: '1000000',
      BRIDGE_DATA_DIR: h.dataDir,
      BRIDGE_ALLOW_PRIVATE_URLS: 'true',
      BRIDGE_RETRY_SCHEDULE: '100ms,200ms',
      PORT: '0',
      LOG_LEVEL: 'silent',
      ...opts.env,
    };
    h.bridge = await startBridge(loadConfig(h.env), { logger: h.logger, schedule: false });
    return h;
  }

  /** Event types the bridge recorded, oldest first (from the admin API). */
  async eventTypes(): Promise<string[]> {
    const { json } = await this.api('GET', '/v1/events?limit=100');
    return (json.data as Array<{ type: string }>).map((e) => e.type).reverse();
  }

  /** The Esteem resource row of `GET /v1/sources`. */
  async sourceState(): Promise<any> {
    const { json } = await this.api('GET', '/v1/sources');
    return (json.data as Array<{ source: string }>).find((r) => r.source === 'esteem');
  }

  /** `in_date_range` requests served so far. */
  rangeRequests() {
    return this.sim.served.filter((s) => s.path.endsWith('/in_date_range'));
  }

  async close(): Promise<void> {
    await this.bridge?.stop();
    await this.receiver?.close();
    await this.sim?.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
