import { open, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { encodePieces, plainCodec, utf8Of, type Codec } from './codec.js';

/** A store file exists but cannot be read: startup stops instead of overwriting anything. */
export class StoreCorruptError extends Error {
  override name = 'StoreCorruptError';
  constructor(
    readonly file: string,
    cause: unknown,
    hint = 'It was left untouched. `npm run store -- check` reports the damage; `npm run store -- restore` puts the previous checkpoint (manifest.json.bak) back.',
  ) {
    super(`Store file ${file} cannot be read (${(cause as Error)?.message ?? String(cause)}). ${hint}`);
  }
}

/** fsyncs a directory so a rename or unlink in it survives a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A lowdb adapter whose writes are atomic and durable: the text goes to a temp file that is fsynced,
 * renamed over the target, and the directory is fsynced so the rename survives a power cut
 * (lowdb's own JSONFile uses steno, which renames but never fsyncs). A codec
 * (encryption) sits between JSON and the disk.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  private readonly tmp: string;

  constructor(
    readonly file: string,
    private readonly codec: Codec = plainCodec,
  ) {
    this.tmp = join(dirname(file), `.${basename(file)}.tmp`);
  }

  /** @throws StoreCorruptError when the file exists but is empty, truncated, undecodable or not JSON. */
  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let decoded: string;
    try {
      decoded = this.codec.decode(text);
    } catch (err) {
      // A key problem is not corruption: say which file and why, and touch nothing.
      if ((err as Error).name === 'StoreKeyError')
        throw Object.assign(err as Error, { message: `${(err as Error).message} (${this.file})` });
      throw new StoreCorruptError(this.file, err);
    }
    try {
      return JSON.parse(decoded) as T;
    } catch (err) {
      throw new StoreCorruptError(this.file, err);
    }
  }

  /** Serialises synchronously (before the first await), so the file holds the data as it was at the call. */
  async write(data: T): Promise<void> {
    await this.writeText(this.codec.encode(JSON.stringify(data)));
  }

  /**
   * Writes JSON text given in pieces (their concatenation), encoded with this file's codec. With the
   * plain codec the pieces are encoded to bytes one by one, never joined into one large string.
   */
  async writePieces(pieces: readonly string[], options: { syncDir?: boolean } = {}): Promise<void> {
    await this.writeText(utf8Of(encodePieces(this.codec, pieces)), options);
  }

  /**
   * Writes text already serialised and encoded (a checkpoint serialises every part at one instant).
   * With `syncDir: false` the caller fsyncs the directory once after writing several files.
   */
  async writeText(text: string | Buffer, options: { syncDir?: boolean } = {}): Promise<void> {
    const handle = await open(this.tmp, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.tmp, this.file);
    if (options.syncDir !== false) await syncDir(dirname(this.file));
  }
}
