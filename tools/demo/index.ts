import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startBridge } from '../../src/bridge.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { EsteemSimulator } from '../simulator/esteem/index.js';
import { ClinikoSimulator } from '../simulator/index.js';
import { CLINIKO_RESOURCES } from '../../src/sources/cliniko/resources.js';
import { Receiver } from './receiver.js';

/** How long `DEMO_EXIT_AFTER=N` waits for N verified deliveries before failing. */
const DEMO_DEADLINE_MS = 60_000;
const CHANGE_EVERY_MS = 3_000;
const CHANGES_PER_ROUND = 3;
const ESTEEM_CHANGES_PER_ROUND = 2;
const ESTEEM_DEMO_TOKEN = 'esteem-demo-token';

/**
 * `npm run demo`: the built-in Cliniko and Esteem simulators with generated data, the bridge polling
 * both every 3 s (ten Cliniko requests a cycle fit the simulated 200/min limit; Esteem re-reads its
 * window in 7-day chunks), and a local receiver subscribed to `*` that verifies every delivery with
 * the `standardwebhooks` library. A few records of each change every 3 s; each verified delivery is
 * printed with its source.
 * `DEMO_EXIT_AFTER=N` exits 0 after N verified deliveries, 1 if they do not arrive within 60 s.
 */
async function main(): Promise<void> {
  const exitAfter = process.env.DEMO_EXIT_AFTER ? Number(process.env.DEMO_EXIT_AFTER) : undefined;
  if (exitAfter !== undefined && !(Number.isInteger(exitAfter) && exitAfter > 0)) {
    process.stderr.write(`DEMO_EXIT_AFTER must be a whole number above 0 (got ${JSON.stringify(process.env.DEMO_EXIT_AFTER)})\n`);
    process.exit(2);
  }

  const sim = new ClinikoSimulator({ rateLimitPerMin: 200 });
  sim.seed({ patients: 40, contacts: 15, individual_appointments: 40, group_appointments: 4, attendees: 16 });
  const { baseUrl } = await sim.listen();
  const esteem = new EsteemSimulator({ userToken: ESTEEM_DEMO_TOKEN });
  esteem.seed(60);
  const { baseUrl: esteemUrl } = await esteem.listen();

  const receiver = await new Receiver().start();
  const dataDir = await mkdtemp(join(tmpdir(), 'clinic-event-bridge-demo-'));
  const adminToken = randomBytes(18).toString('hex');
  const config = loadConfig({
    CLINIKO_API_KEY: 'sim-key-au1',
    CLINIKO_USER_AGENT: 'clinic-event-bridge demo (demo@example.com)',
    CLINIKO_BASE_URL: baseUrl,
    ESTEEM_USER_TOKEN: ESTEEM_DEMO_TOKEN,
    ESTEEM_BASE_URL: esteemUrl,
    ESTEEM_POLL_CRON: '*/3 * * * * *',
    BRIDGE_ADMIN_TOKEN: adminToken,
    BRIDGE_DATA_DIR: dataDir,
    BRIDGE_POLL_CRON: '*/3 * * * * *',
    BRIDGE_ALLOW_PRIVATE_URLS: 'true',
    BRIDGE_RETRY_SCHEDULE: '1s,5s,30s',
    PORT: process.env.PORT ?? '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const bridge = await startBridge(config, { logger: createLogger(config.log.level) });

  const res = await fetch(`${bridge.url}/v1/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url, event_types: ['*'], description: 'demo receiver' }),
  });
  const subscription = (await res.json()) as { id: string; secret: string };
  receiver.secret = subscription.secret;

  const out = (line: string) => process.stdout.write(`${line}\n`);
  out('clinic-event-bridge demo');
  out(`  Cliniko simulator  ${baseUrl}`);
  out(`  Esteem simulator   ${esteemUrl}   (X-User-Token: ${ESTEEM_DEMO_TOKEN})`);
  out(`  bridge admin API   ${bridge.url}   (Authorization: Bearer ${adminToken})`);
  out(`  API docs           ${bridge.url}/docs   (Authorize with the token above, then Try it out)`);
  out(`  web console        ${bridge.url}/console   (sign in with the token above)`);
  out(`  receiver           ${receiver.url}  subscribed to * as ${subscription.id}`);
  out(`  data directory     ${dataDir} (removed on exit)`);
  out('The first poll of each source records a silent baseline; then a few records of each change every 3 s.\n');

  // When each record was changed, to print end-to-end latency (change → verified delivery).
  const changedAt = new Map<string, number>();
  let verified = 0;
  let finished = false;
  const finish = async (code: number, why?: string) => {
    if (finished) return;
    finished = true;
    if (why) out(why);
    clearInterval(churn);
    clearTimeout(deadline);
    await bridge.stop();
    await receiver.close();
    await sim.close();
    await esteem.close();
    await rm(dataDir, { recursive: true, force: true });
    process.exit(code);
  };

  receiver.onDelivery = (d) => {
    if (finished) return;
    const { source, resource, id } = d.payload.data;
    const since = changedAt.get(`${source}:${resource}:${id}`);
    const latency = since === undefined ? '' : `  latency ${Date.now() - since} ms`;
    if (!d.verified) {
      out(`✗ ${source.padEnd(8)} ${d.payload.type.padEnd(36)} signature did NOT verify`);
      return;
    }
    verified += 1;
    out(`✓ verified  ${source.padEnd(8)} ${d.payload.type.padEnd(36)} id ${id}${latency}`);
    if (exitAfter !== undefined && verified >= exitAfter)
      void finish(0, `\n${verified} verified deliveries; exiting as DEMO_EXIT_AFTER asked.`);
  };

  const churn = setInterval(() => {
    for (let i = 0; i < CHANGES_PER_ROUND; i++) {
      const change = sim.randomChange();
      const name = CLINIKO_RESOURCES.find((r) => r.path === change.resource)?.name ?? change.resource;
      changedAt.set(`cliniko:${name}:${change.id}`, Date.now());
      out(`  changed   ${'cliniko'.padEnd(8)} ${`${change.resource} ${change.action}`.padEnd(36)} id ${change.id}`);
    }
    for (let i = 0; i < ESTEEM_CHANGES_PER_ROUND; i++) {
      const change = esteem.randomChange();
      changedAt.set(`esteem:appointment:${change.id}`, Date.now());
      out(`  changed   ${'esteem'.padEnd(8)} ${`appointment ${change.action}`.padEnd(36)} id ${change.id}`);
    }
  }, CHANGE_EVERY_MS);
  const deadline =
    exitAfter === undefined
      ? undefined
      : setTimeout(
          () => void finish(1, `Only ${verified} of ${exitAfter} verified deliveries within ${DEMO_DEADLINE_MS / 1000} s.`),
          DEMO_DEADLINE_MS,
        );

  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void finish(0));
}

await main();
