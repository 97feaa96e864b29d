import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowdbStore } from '../src/store/lowdb-store.js';
import type { Store } from '../src/store/store.js';
import { storeContract } from './helpers/store-contract.js';

const dirs: string[] = [];
const openAt = async (dir: string) => {
  const s = new LowdbStore(dir);
  await s.load();
  return s;
};

storeContract('lowdb', {
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'bridge-contract-'));
    dirs.push(dir);
    return openAt(dir);
  },
  async reopen(store: Store) {
    await store.close();
    return openAt(store.location);
  },
  async cleanup() {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  },
});
