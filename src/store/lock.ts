import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The file in the data directory that carries the lock (and, for people, the holder's pid). */
export const LOCK_FILE = 'bridge.lock';

// fs-native-extensions ships prebuilt N-API binaries (linux, darwin; x64, arm64) inside the
// package, so it loads without a compiler and under `npm ci --ignore-scripts`. It has no typings.
const { tryLock } = createRequire(import.meta.url)('fs-native-extensions') as {
  /** Exclusive, non-blocking; `true` when granted, `false` when another open file holds it. */
  tryLock(fd: number): boolean;
};

/**
 * Another live process holds the data directory (lowdb files are one process per file).
 * @example
 * try { await store.load(); } catch (err) { if (err instanceof StoreLockedError) exit(1, err.message); }
 */
export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
}

/** Locks this process holds, by the lock file's `dev:ino`, with how many stores share each. */
const held = new Map<string, { handle: FileHandle; holders: number }>();
/** Releases still closing their handle, by `dev:ino`: until it is closed the OS lock is still ours. */
const closing = new Map<string, Promise<void>>();

/**
 * Takes the data directory's lock for the life of this process: an exclusive, non-blocking OS lock
 * on `<dir>/bridge.lock` (an open-file-description lock, `fcntl(F_OFD_SETLK)`, on Linux; `flock` on
 * macOS) held on an open file handle. The kernel drops it when the handle closes — at release, or
 * when the process dies however it dies, before it is even reaped — so a restart right after a crash
 * or SIGKILL always gets it, and a pid left in the file never blocks a start. The pid written into
 * the file is for people (`cat bridge.lock`); nothing decides on it.
 *
 * The lock is per process, as the pid lock before it was: a second store in the same process shares
 * it (a crash-recovery test abandons one store and opens another), and the lock is dropped when the
 * last of them releases.
 *
 * The file is never removed: unlinking a lock file while another process has it open lets two
 * processes lock two different files of the same name.
 *
 * @returns release: idempotent; the last holder in this process empties the file and closes the
 *   handle, which drops the lock.
 * @throws StoreLockedError at once when another process holds the lock, naming its pid when it has
 *   written one.
 * @throws the file system's error (EACCES, ENOENT, …) when `bridge.lock` cannot be opened for writing.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  // Read-write without O_TRUNC: the holder's pid must survive our failed attempt.
  const handle = await open(join(dir, LOCK_FILE), constants.O_RDWR | constants.O_CREAT, 0o644);
  let key: string;
  try {
    const { dev, ino } = await handle.stat({ bigint: true });
    key = `${dev}:${ino}`;
  } catch (err) {
    await handle.close();
    throw err;
  }
  await closing.get(key);
  // From the look-up to the registration nothing awaits, so two stores of this process that open
  // at the same moment cannot both try the OS lock (and the loser report its own process).
  let entry = held.get(key);
  if (entry) {
    await handle.close();
    entry.holders += 1;
  } else {
    let granted: boolean;
    try {
      granted = tryLock(handle.fd);
    } catch (err) {
      await handle.close();
      throw err;
    }
    if (!granted) {
      const pid = await readHolder(handle);
      await handle.close();
      throw new StoreLockedError(lockedMessage(dir, pid));
    }
    entry = { handle, holders: 1 };
    held.set(key, entry);
    // For people only, so a failure here (a full disk) is the store's to report, not the lock's.
    await handle
      .truncate(0)
      .then(() => handle.write(`${process.pid}\n`, 0))
      .catch(() => undefined);
  }
  const mine = entry;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    mine.holders -= 1;
    if (mine.holders > 0) return;
    held.delete(key);
    const done = (async () => {
      // Still holding the lock here, so emptying the file cannot erase a successor's pid.
      await mine.handle.truncate(0).catch(() => undefined);
      await mine.handle.close();
    })();
    closing.set(
      key,
      done.catch(() => undefined),
    );
    try {
      await done;
    } finally {
      closing.delete(key);
    }
  };
}

/** The message a second bridge on the same directory stops with. */
function lockedMessage(dir: string, pid: number | null): string {
  const holder = pid ? `process ${pid}` : 'another process';
  return `The data directory ${dir} is in use by ${holder}; run one bridge per BRIDGE_DATA_DIR.`;
}

/** The pid the holder wrote, or null while it has not written it yet. */
async function readHolder(handle: FileHandle): Promise<number | null> {
  const buf = Buffer.alloc(32);
  const { bytesRead } = await handle.read(buf, 0, buf.length, 0).catch(() => ({ bytesRead: 0 }));
  const pid = Number.parseInt(buf.subarray(0, bytesRead).toString('utf8'), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}
