import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal, readJournal } from '../src/store/journal.js';

// The journal on a real, nearly full tmpfs: a write(2) that takes only part of a line (the rest of the
// file's last page) must not count as a written line.
const dir = await mkdtemp(join(tmpdir(), 'bridge-journal-full-'));
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
  mounted = true;
} catch (err) {
  const reason = `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); run as root on Linux`;
  if (process.env.BRIDGE_REQUIRE_TMPFS === '1') throw new Error(`BRIDGE_REQUIRE_TMPFS=1 but ${reason}`, { cause: err });
  console.warn(`test/journal-full-disk.e2e.test.ts skipped: ${reason}`);
}

describe.skipIf(!mounted)('journal on a full disk', () => {
  afterAll(async () => {
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects a line the disk takes only part of, leaves no torn line, and appends whole lines once space returns', async () => {
    const journal = new Journal(join(dir, 'journal'));
    await journal.append([JSON.stringify({ seq: 1, ops: ['small'] })]);
    // Fill every free page: only the rest of the journal's last page is left, far less than the next line.
    const filler = join(dir, 'filler');
    const handle = await open(filler, 'w');
    try {
      for (;;) await handle.write(Buffer.alloc(4096, 1));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      await handle.close();
    }
    const big = JSON.stringify({ seq: 2, ops: ['x'.repeat(20_000)] });
    await expect(journal.append([big])).rejects.toMatchObject({ code: 'ENOSPC' });
    expect((await readJournal(journal.file, undefined, false)).lines).toEqual([{ seq: 1, ops: ['small'] }]);

    await unlink(filler);
    await journal.append([JSON.stringify({ seq: 3, ops: ['after'] })]);
    await journal.close();
    const { lines, tornTail } = await readJournal<{ seq: number }>(journal.file, undefined, false);
    expect(lines.map((l) => l.seq)).toEqual([1, 3]);
    expect(tornTail).toBe(false);
  });
});
