import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, readJournal } from '../src/store/journal.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function journalIn(): Promise<Journal> {
  const dir = await mkdtemp(join(tmpdir(), 'bridge-journal-'));
  dirs.push(dir);
  return new Journal(join(dir, 'journal'));
}

/** A line of `n` records like a page's snapshots, in pieces as the store hands them over. */
function pieces(seq: number, n: number, name: string): string[] {
  const ops = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ t: 'snap', id: `${seq}-${i}`, v: { patient_name: name, notes: 'x'.repeat(1500) } }),
  );
  return [`{"seq":${seq},"ops":[`, ...ops.map((op, i) => (i === 0 ? op : `,${op}`)), ']}'];
}

describe('journal', () => {
  it('writes a line given in pieces as their concatenation, non-ASCII text included', async () => {
    const journal = await journalIn();
    await journal.append(pieces(1, 3, 'Chloe García'));
    await journal.append(pieces(2, 200, 'Zoë Ngữ'));
    await journal.close();
    const { lines } = await readJournal<{ seq: number; ops: Array<{ v: { patient_name: string } }> }>(journal.file);
    expect(lines.map((l) => [l.seq, l.ops.length, l.ops[0]!.v.patient_name])).toEqual([
      [1, 3, 'Chloe García'],
      [2, 200, 'Zoë Ngữ'],
    ]);
  });
});
