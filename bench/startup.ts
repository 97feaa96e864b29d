import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClinikoSimulator } from '../tools/simulator/index.js';

/**
 * `npm run bench:startup`: start-up time to the first 200 from `/healthz`, and resident memory (RSS)
 * after 10 s idle, of `node dist/main.js` (what `npm start` and the image run) against
 * `node --import tsx src/main.ts` (the sources through tsx). Run `npm run build` first. Each variant
 * runs `BENCH_RUNS` times (default 5) against a seeded simulator in this process; medians are printed.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IDLE_MS = 10_000;
const ADMIN = 'bench-admin-token-0123456789';

const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
sim.seed({ patients: 50, contacts: 20, individual_appointments: 40 });
const { baseUrl } = await sim.listen();

const variants = {
  compiled: ['--enable-source-maps', 'dist/main.js'],
  tsx: ['--import', 'tsx', 'src/main.ts'],
} as const;

async function once(args: readonly string[]): Promise<{ startupMs: number; rssMb: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-startup-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const started = performance.now();
  const proc = spawn(process.execPath, args, {
    stdio: 'ignore',
    env: {
      ...process.env,
      NODE_ENV: 'production',
      CLINIKO_API_KEY: 'sim-key-au1',
      CLINIKO_USER_AGENT: 'Bench (bench@example.com)',
      CLINIKO_BASE_URL: baseUrl,
      BRIDGE_ADMIN_TOKEN: ADMIN,
      BRIDGE_DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
  });
  try {
    let startupMs = NaN;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) {
        startupMs = performance.now() - started;
        break;
      }
      if (proc.exitCode !== null) throw new Error(`bridge exited with ${proc.exitCode}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const status = await readFile(`/proc/${proc.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return { startupMs, rssMb: rssKb / 1024 };
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(
  `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, Node ${process.version}, ${RUNS} runs each, RSS after ${IDLE_MS / 1000} s idle\n`,
);
for (const [name, args] of Object.entries(variants)) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(args));
  const startup = runs.map((r) => r.startupMs);
  const rss = runs.map((r) => r.rssMb);
  process.stdout.write(
    `${name.padEnd(9)} start-up to /healthz: median ${median(startup).toFixed(0)} ms (${Math.min(...startup).toFixed(0)}–${Math.max(...startup).toFixed(0)}); ` +
      `idle RSS: median ${median(rss).toFixed(0)} MB (${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)})\n`,
  );
}
await sim.close();
