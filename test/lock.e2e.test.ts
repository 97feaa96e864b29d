import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { ADMIN_TOKEN, simulatorBridgeEnv, waitFor } from './helpers/harness.js';
import { acquireLock } from '../src/store/lock.js';
import { holdLock } from './helpers/lock.js';
import { kill, startProcess } from './helpers/process.js';

/**
 * A bridge started as a process manager would: in a process group of its own (`setsid`), whose
 * parent is a shell that then `exec`s `sleep` and so never reaps it. After a SIGKILL of the group
 * the bridge stays a zombie — in /proc, and `kill(pid, 0)` succeeds — for as long as that parent
 * lives: what an orphaned bridge looks like for 1–2 s until init reaps it, made certain.
 */
interface GroupBridge {
  parent: ChildProcess;
  pid: number;
  url: string;
}

function startInGroup(env: Record<string, string>): Promise<GroupBridge> {
  const parent = spawn('sh', ['-c', 'setsid "$0" --import tsx src/main.ts & echo "bridge-pid $!"; exec sleep 600', process.execPath], {
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let pid = 0;
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      if (pid) process.kill(-pid, 'SIGKILL');
      parent.kill('SIGKILL');
      reject(new Error(`${why}:\n${lines.join('\n')}`));
    };
    parent.once('exit', (code) => fail(`bridge parent exited with ${code}`));
    createInterface({ input: parent.stdout! }).on('line', (line) => {
      lines.push(line);
      const m = /^bridge-pid (\d+)$/.exec(line);
      if (m) pid = Number(m[1]);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string; level?: number };
        if (entry.msg === 'bridge started' && entry.url) resolve({ parent, pid, url: entry.url });
        if ((entry.level ?? 0) >= 60) fail('bridge stopped with a fatal error');
      } catch {
        // not a log line
      }
    });
  });
}

/** The state letter of /proc/<pid>/stat (R, S, Z, …), or null when the pid is gone. */
async function procState(pid: number): Promise<string | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return text ? text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3) || null : null;
}

/** Runs a bridge to its exit; resolves with the exit code and everything it printed. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

/** Every file in `dir` with a hash of its content and its mtime: equal snapshots mean nothing was written. */
async function snapshotDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const [content, info] = await Promise.all([readFile(join(dir, name)), stat(join(dir, name))]);
    out[name] = `${createHash('sha256').update(content).digest('hex')} ${info.mtimeMs} ${info.size}`;
  }
  return out;
}

async function healthz(url: string): Promise<number> {
  return (await fetch(`${url}/healthz`)).status;
}

describe('data-directory lock', () => {
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const fn of cleanup.reverse()) await fn();
    cleanup.length = 0;
  });

  async function rig(prefix: string) {
    const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
    sim.seed({ contacts: 20 });
    const { baseUrl } = await sim.listen();
    const dataDir = await mkdtemp(join(tmpdir(), prefix));
    cleanup.push(
      () => sim.close(),
      () => rm(dataDir, { recursive: true, force: true }),
    );
    const env = { ...simulatorBridgeEnv(baseUrl, dataDir), BRIDGE_RESOURCES: 'contacts', LOG_LEVEL: 'info' };
    return { sim, dataDir, env };
  }

  it('restarts at once after its process group is SIGKILLed, 20 times, while the dead bridge is still a zombie', async () => {
    const { sim, dataDir, env } = await rig('bridge-lock-restart-');
    // Records keep changing and the bridge polls every second, so kills land while it writes.
    const ids = sim.all('contacts').map((c) => c.id);
    let n = 0;
    const changes = setInterval(() => sim.update('contacts', ids[n++ % ids.length]!, { notes: `change ${n}` }), 50);
    cleanup.push(() => clearInterval(changes));
    const parents: ChildProcess[] = [];
    cleanup.push(() => parents.forEach((p) => p.kill('SIGKILL')));
    const runEnv = { ...env, BRIDGE_POLL_CRON: '* * * * * *' };

    let bridge = await startInGroup(runEnv);
    parents.push(bridge.parent);
    const ROUNDS = 20;
    for (let round = 0; round < ROUNDS; round++) {
      expect(await healthz(bridge.url)).toBe(200);
      process.kill(-bridge.pid, 'SIGKILL');
      const dead = bridge.pid;
      // Dead but not reaped: exactly what the pid check mistook for a running bridge.
      await waitFor(async () => (await procState(dead)) === 'Z', 5_000, `pid ${dead} to become a zombie`);
      expect((await readFile(join(dataDir, 'bridge.lock'), 'utf8')).trim()).toBe(String(dead));

      bridge = await startInGroup(runEnv);
      parents.push(bridge.parent);
      expect(await procState(dead)).toBe('Z');
    }
    expect(await healthz(bridge.url)).toBe(200);
    expect((await readFile(join(dataDir, 'bridge.lock'), 'utf8')).trim()).toBe(String(bridge.pid));
    process.kill(-bridge.pid, 'SIGKILL');
  }, 240_000);

  it('starts when bridge.lock holds the pid of another live process', async () => {
    const { dataDir, env } = await rig('bridge-lock-pid-');
    // The test runner's own pid: alive, and not a bridge — as after a reboot or in a new container.
    await writeFile(join(dataDir, 'bridge.lock'), `${process.pid}\n`);
    const proc = await startProcess(env);
    cleanup.push(() => kill(proc.child));
    expect(await healthz(proc.url)).toBe(200);
    expect((await readFile(join(dataDir, 'bridge.lock'), 'utf8')).trim()).toBe(String(proc.child.pid));
    // A clean stop leaves the file empty: no pid of a bridge that is gone.
    const exited = new Promise((resolve) => proc.child.once('exit', resolve));
    proc.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await readFile(join(dataDir, 'bridge.lock'), 'utf8')).toBe('');
  }, 30_000);

  it('refuses a second bridge on the same directory with a clear message, and it writes nothing', async () => {
    const { dataDir, env } = await rig('bridge-lock-second-');
    // Polls only at start, so the first bridge is idle once its first pass is done.
    const first = await startProcess({ ...env, BRIDGE_POLL_CRON: '0 0 1 1 *' });
    cleanup.push(() => kill(first.child));
    await waitFor(
      async () => {
        const res = await fetch(`${first.url}/v1/sources`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        return ((await res.json()) as { data: Array<{ cursor?: { baseline_done?: boolean } }> }).data[0]?.cursor?.baseline_done;
      },
      15_000,
      'the first pass',
    );
    // …and its last commits of that pass are on disk: the directory holds still for a second.
    let before = await snapshotDir(dataDir);
    await waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 1_000));
        const now = await snapshotDir(dataDir);
        const still = JSON.stringify(now) === JSON.stringify(before);
        before = now;
        return still;
      },
      15_000,
      'the first bridge to go idle',
    );

    const second = await runToExit(env);
    expect(second.code).toBe(1);
    expect(second.output).toContain(
      `The data directory ${dataDir} is in use by process ${first.child.pid}; run one bridge per BRIDGE_DATA_DIR.`,
    );
    expect(second.output).not.toContain('bridge started');
    expect(await snapshotDir(dataDir)).toEqual(before);
    // The first bridge keeps the directory.
    expect(await healthz(first.url)).toBe(200);
    expect((await readFile(join(dataDir, 'bridge.lock'), 'utf8')).trim()).toBe(String(first.child.pid));
  }, 30_000);

  it('is per process: stores in one process share it, and it is free for others only when the last releases', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bridge-lock-share-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const releaseA = await acquireLock(dir);
    const releaseB = await acquireLock(dir);
    await releaseA();
    await releaseA(); // idempotent: does not drop B's share
    await expect(holdLock(dir)).rejects.toThrow(`is in use by process ${process.pid}`);
    await releaseB();
    const other = await holdLock(dir);
    cleanup.push(() => kill(other));
    await expect(acquireLock(dir)).rejects.toThrow(
      `The data directory ${dir} is in use by process ${other.pid}; run one bridge per BRIDGE_DATA_DIR.`,
    );
  }, 30_000);
});
