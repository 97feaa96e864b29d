import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Another live process holds the data directory (lowdb files are one process per file). */
export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
}

/**
 * Takes `bridge.lock` in the data directory for this process. A lock left by a process that no
 * longer runs (a crash, SIGKILL) is taken over.
 * @throws StoreLockedError when a running process holds it.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const file = join(dir, 'bridge.lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return () => unlink(file).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(file, 'utf8').catch(() => ''));
      if (pid && pid !== process.pid && isRunning(pid)) {
        throw new StoreLockedError(`The data directory ${dir} is in use by process ${pid}; run one bridge per BRIDGE_DATA_DIR.`);
      }
      await unlink(file).catch(() => undefined);
    }
  }
  throw new StoreLockedError(`Could not take ${file}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
