import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';

/** The store file exists but cannot be parsed: startup stops instead of overwriting it. */
export class StoreCorruptError extends Error {
  override name = 'StoreCorruptError';
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(
      `Store file ${file} is not valid JSON (${(cause as Error).message}). ` +
        'It was left untouched; move it aside to start from an empty store, or restore it from a backup.',
    );
  }
}

/**
 * A lowdb adapter whose writes are atomic and durable: the JSON goes to a temp file that is fsynced,
 * renamed over the store file, and the directory is fsynced so the rename survives a power cut.
 * (lowdb's own JSONFile uses steno, which renames but never fsyncs — notes/stack.md.)
 *
 * `write` serialises synchronously before its first await, so the file reflects the data exactly as
 * it was when `write` was called.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  private readonly tmp: string;

  constructor(readonly file: string) {
    this.tmp = join(dirname(file), `.${basename(file)}.tmp`);
  }

  /** @throws StoreCorruptError when the file exists but is empty, truncated or not JSON. */
  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new StoreCorruptError(this.file, err);
    }
  }

  async write(data: T): Promise<void> {
    const text = JSON.stringify(data);
    const handle = await open(this.tmp, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.tmp, this.file);
    const dir = await open(dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Removes a temp file left by a crash between write and rename; the store file is intact. */
  async removeStaleTemp(): Promise<void> {
    await unlink(this.tmp).catch(() => undefined);
  }
}
