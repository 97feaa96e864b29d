import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { ADMIN_TOKEN, simulatorBridgeEnv } from './helpers/harness.js';
import { startProcess } from './helpers/process.js';

describe('clean shutdown', () => {
  it('on SIGTERM finishes accepted admin writes, exits 0, and loses none of them', async () => {
    const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
    sim.seed({ contacts: 5 });
    const { baseUrl } = await sim.listen();
    const dataDir = await mkdtemp(join(tmpdir(), 'bridge-sigterm-'));
    try {
      const proc = await startProcess({ ...simulatorBridgeEnv(baseUrl, dataDir), BRIDGE_RESOURCES: 'contacts', LOG_LEVEL: 'info' });
      const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
      // A stream of admin writes; SIGTERM lands in the middle of it.
      const accepted: string[] = [];
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        writes.push(
          fetch(`${proc.url}/v1/subscriptions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              url: `http://127.0.0.1:9/hook-${i}`,
              event_types: ['patient.merged'] /* patients are not polled here: never sent */,
            }),
          }).then(
            async (res) => {
              if (res.status === 201) accepted.push(((await res.json()) as { id: string }).id);
            },
            () => undefined, // refused after the server stopped accepting: not accepted, fine
          ),
        );
        if (i === 60) proc.child.kill('SIGTERM');
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(writes);
      expect(await exited).toBe(0);
      expect(proc.output.some((l) => l.includes('"msg":"stopping"'))).toBe(true);
      expect(accepted.length).toBeGreaterThan(0);

      const store = new LowdbStore(dataDir, { readOnly: true });
      await store.load();
      for (const id of accepted) expect((await store.dump()).subscriptions[id], id).toBeDefined();
    } finally {
      await sim.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
