import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startBridge } from '../src/bridge.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logger.js';
import { CredentialsRejectedError } from '../src/sources/errors.js';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { EsteemSimulator } from '../tools/simulator/esteem/index.js';
import { EsteemHarness, ESTEEM_TOKEN, daysFromNow } from './helpers/esteem-harness.js';
import { simulatorBridgeEnv } from './helpers/harness.js';

/** Runs `npm start`'s entry point to its exit; resolves with the exit code and everything printed. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('credentials decided at start', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('a wrong Cliniko key stops `npm start` with exit 78 and one message naming CLINIKO_API_KEY, after one request', async () => {
    const sim = new ClinikoSimulator({ apiKey: 'the-real-key-au1', rateLimitPerMin: 0 });
    sim.seed({ patients: 2 });
    const { baseUrl } = await sim.listen();
    cleanup.push(() => sim.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'bridge-wrong-key-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));

    const { code, stdout, stderr } = await runToExit({ ...simulatorBridgeEnv(baseUrl, dataDir), LOG_LEVEL: 'info' });
    expect(code).toBe(78);
    expect(stderr.match(/CLINIKO_API_KEY/g)).toHaveLength(1);
    expect(stderr).toContain('401');
    expect(stdout).not.toContain('bridge started');
    expect(sim.served.map((s) => s.status)).toEqual([401]);
  }, 30_000);

  it('a wrong Esteem token makes startBridge throw naming ESTEEM_USER_TOKEN; nothing is left listening', async () => {
    const sim = new EsteemSimulator({ userToken: ESTEEM_TOKEN });
    const { baseUrl } = await sim.listen();
    cleanup.push(() => sim.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'bridge-wrong-token-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const config = loadConfig({
      ESTEEM_USER_TOKEN: 'not-the-token',
      ESTEEM_BASE_URL: baseUrl,
      BRIDGE_ADMIN_TOKEN: 'admin-token-0123456789',
      BRIDGE_DATA_DIR: dataDir,
      PORT: '0',
    });

    const started = startBridge(config, { logger: pino({ level: 'silent' }), schedule: false });
    await expect(started).rejects.toBeInstanceOf(CredentialsRejectedError);
    await expect(started).rejects.toThrow(/^ESTEEM_USER_TOKEN was rejected by Esteem \(401 Unauthorized\)/);
    // The store was never opened: a bridge with the right token starts on the same directory.
    const ok = await startBridge(
      { ...config, esteem: { ...config.esteem!, userToken: ESTEEM_TOKEN } },
      { logger: pino({ level: 'silent' }), schedule: false },
    );
    await ok.stop();
  });

  it('an upstream that is down at start only warns: the bridge starts and its poller backs off', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bridge-down-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const lines: string[] = [];
    const logger = createLogger('warn', new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const config = loadConfig({
      ESTEEM_USER_TOKEN: ESTEEM_TOKEN,
      ESTEEM_BASE_URL: 'http://127.0.0.1:9',
      BRIDGE_ADMIN_TOKEN: 'admin-token-0123456789',
      BRIDGE_DATA_DIR: dataDir,
      PORT: '0',
    });
    const bridge = await startBridge(config, { logger, schedule: false });
    await bridge.stop();
    expect(lines.join('')).toContain('could not check the credentials at start');
  });
});

describe('credentials revoked while running', () => {
  let h: EsteemHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('marks the source unauthorized once (log, /readyz, GET /v1/sources) and recovers when the token works again', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    h = await EsteemHarness.create({ logger });
    h.sim.create({ scheduled_at: daysFromNow(2) });
    await h.poll();
    expect((await h.sourceState()).status).toBe('ok');
    expect((await fetch(`${h.bridge.url}/readyz`)).status).toBe(200);

    h.sim.userToken = 'revoked-by-the-clinic';
    await h.poll();
    await h.poll();
    await h.poll();
    expect((await h.sourceState()).status).toBe('unauthorized');
    const ready = await fetch(`${h.bridge.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { waiting: unknown[] }).waiting).toEqual([{ source: 'esteem', resource: 'appointments' }]);
    const rejected = lines.filter((l) => l.includes('rejected its credentials'));
    expect(rejected).toHaveLength(1);
    expect(lines.filter((l) => l.includes('"level":40'))).toEqual([]); // no per-poll warning on top
    expect(h.sim.served.filter((s) => s.status === 401).length).toBeGreaterThanOrEqual(3);

    h.sim.userToken = ESTEEM_TOKEN;
    await h.poll();
    expect((await h.sourceState()).status).toBe('ok');
    expect(lines.some((l) => l.includes('credentials accepted again'))).toBe(true);
  });
});
