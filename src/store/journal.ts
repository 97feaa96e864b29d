import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { utf8Of } from './codec.js';
import { StoreCorruptError, syncDir } from './durable-file.js';

/**
 * An append-only log of store changes, one JSON line per group commit: `{"seq":N,"ops":[...]}`.
 * `append` returns once the line is on disk (fdatasync), so a commit is durable when it resolves.
 * A crash can leave a torn last line: it was never acknowledged, so `readJournal` drops it; a bad line
 * anywhere else is corruption.
 */
export class Journal {
  private handle: FileHandle | null = null;
  private opening: Promise<void> | null = null;
  /** Bytes in the file, for deciding when to checkpoint. */
  size = 0;

  constructor(readonly file: string) {}

  async open(): Promise<void> {
    this.opening ??= (async () => {
      const handle = await open(this.file, 'a');
      this.size = (await handle.stat()).size;
      // A new journal file must survive a power cut as much as its lines do.
      if (this.size === 0) await syncDir(dirname(this.file));
      this.handle = handle;
    })().catch((err: unknown) => {
      // The next append tries again (the disk may have room by then) instead of failing for good.
      this.opening = null;
      throw err;
    });
    await this.opening;
  }

  /**
   * Appends one line, the concatenation of `pieces` (no newline in them), and waits until it is
   * durable (opens the file on first use).
   */
  async append(pieces: readonly string[]): Promise<void> {
    if (!this.handle) await this.open();
    const handle = this.handle!;
    const bytes = utf8Of([...pieces, '\n']);
    try {
      // One write(2) may take only part of the line (a disk filling up mid-line) without an error:
      // write the rest until the file system either takes it or refuses with ENOSPC.
      for (let offset = 0; offset < bytes.length;) {
        const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
        if (bytesWritten === 0)
          throw Object.assign(new Error('no space left on device: the journal line was not written'), { code: 'ENOSPC' });
        offset += bytesWritten;
      }
      await handle.datasync();
    } catch (err) {
      // Never leave a partial line before later ones (it would read as corruption at the next
      // start): cut the file back to its last whole line, then report the failure.
      await handle.truncate(this.size).catch(() => undefined);
      throw err;
    }
    this.size += bytes.length;
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => undefined);
    await this.handle?.close();
    this.handle = null;
    this.opening = null;
  }
}

/**
 * Reads a journal's lines in order. A missing file is an empty journal. A torn final line (text
 * after the last newline) is dropped, and with `repair` cut off the file so appends continue cleanly.
 * @returns the parsed lines and whether a torn tail was found.
 * @throws StoreCorruptError when a complete line is not valid (JSON, or for the codec).
 */
export async function readJournal<T>(
  file: string,
  decode: (line: string) => string = (l) => l,
  repair = true,
): Promise<{ lines: T[]; tornTail: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], tornTail: false };
    throw err;
  }
  // Every acknowledged line ends with a newline; text after the last newline is a torn write.
  const end = text.lastIndexOf('\n') + 1;
  const lines: T[] = [];
  for (const row of text.slice(0, end).split('\n').slice(0, -1)) {
    let json: string;
    try {
      json = decode(row);
    } catch (err) {
      if ((err as Error).name === 'StoreKeyError') throw Object.assign(err as Error, { message: `${(err as Error).message} (${file})` });
      throw new StoreCorruptError(file, err);
    }
    try {
      lines.push(JSON.parse(json) as T);
    } catch (err) {
      throw new StoreCorruptError(file, err);
    }
  }
  if (end < text.length) {
    if (repair) await truncate(file, Buffer.byteLength(text.slice(0, end), 'utf8'));
    return { lines, tornTail: true };
  }
  return { lines, tornTail: false };
}
