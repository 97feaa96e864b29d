import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Starts a plain process (not a bridge) that takes the data directory's lock with `acquireLock` and
 * holds it until killed; resolves once it holds it.
 */
export function holdLock(dir: string): Promise<ChildProcess> {
  const script =
    "const { acquireLock } = await import('./src/store/lock.ts'); await acquireLock(process.argv[1]); console.log('locked'); setInterval(() => {}, 60_000);";
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'locked') resolve(child);
    });
  });
}
