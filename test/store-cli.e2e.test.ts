import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

function check(dataDir: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/store/cli.ts', 'check'],
      { env: { ...process.env, BRIDGE_DATA_DIR: dataDir } },
      (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout }),
    );
  });
}

describe('npm run store -- check', () => {
  let dir: string;
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('fails on a directory that does not exist or holds nothing, instead of reporting an empty store as clean', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bridge-cli-missing-'));
    const missing = await check(join(dir, 'no-such-dir'));
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('the directory does not exist');
    expect(missing.out).not.toContain('loads cleanly');

    const empty = await check(dir);
    expect(empty.code).toBe(1);
    expect(empty.out).toContain('the directory is empty');
  });
});
