import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Starts a bench helper script in its own process and resolves with the JSON it prints first. */
export async function child<T>(script: string, ...args: string[]): Promise<{ proc: ChildProcess; info: T }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join('bench', script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const info = await new Promise<T>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    createInterface({ input: proc.stdout! }).once('line', (line) => resolve(JSON.parse(line) as T));
  });
  return { proc, info };
}

/** Sends `message` to a helper over IPC and resolves with its answer. */
export function ask<T>(proc: ChildProcess, message: unknown): Promise<T> {
  return new Promise<T>((resolve) => {
    proc.once('message', (answer) => resolve(answer as T));
    proc.send(message as string);
  });
}

/** Stops a helper and waits for it to exit. */
export async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  await exited;
}
