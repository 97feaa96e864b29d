import { describe, expect, it } from 'vitest';
import { PageWriter } from '../src/poller/page-writer.js';
import { ResourceLocks } from '../src/poller/resource-lock.js';

/** A write whose durability the test decides. */
function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

function rig(pagesAhead: number, writable = () => true) {
  const locks = new ResourceLocks();
  const writer = new PageWriter({ key: 'cliniko:patients', locks, pagesAhead, writable });
  const durable: number[] = [];
  const commits: Array<ReturnType<typeof deferred>> = [];
  let applied = 0;
  /** Prepares and writes page `n` as the poller does: next, then write. */
  const page = async (n: number) => {
    await writer.next();
    await writer.write(
      () => {
        applied += 1;
        const d = deferred();
        commits.push(d);
        return d.promise;
      },
      () => durable.push(n),
    );
  };
  return { locks, writer, durable, commits, page, applied: () => applied };
}

describe('PageWriter: pages ahead of durability', () => {
  it('keeps at most pagesAhead pages not yet durable, and reports durability in page order', async () => {
    const { writer, durable, commits, page, applied } = rig(3);
    await page(1);
    await page(2);
    await page(3);
    const fourth = page(4);
    await turn();
    expect(applied()).toBe(3);
    // Page 2 durable before page 1 (one journal line can hold both): nothing reported out of order.
    commits[1]!.resolve();
    await turn();
    expect(durable).toEqual([]);
    expect(applied()).toBe(3);
    commits[0]!.resolve();
    await fourth;
    expect(durable).toEqual([1, 2]);
    expect(applied()).toBe(4);
    commits[2]!.resolve();
    commits[3]!.resolve();
    await writer.drain();
    expect(durable).toEqual([1, 2, 3, 4]);
  });

  it('after a failed write, reports no later page durable and refuses the next page', async () => {
    const { writer, durable, commits, page } = rig(4);
    await page(1);
    await page(2);
    await page(3);
    commits[0]!.resolve();
    commits[1]!.reject(new Error('ENOSPC'));
    // Page 3 made it to disk (a later journal line), but its cursor is past page 2's changes.
    commits[2]!.resolve();
    await writer.settle();
    expect(durable).toEqual([1]);
    await expect(page(4)).rejects.toThrow('ENOSPC');
    await expect(writer.drain()).rejects.toThrow('ENOSPC');
  });

  it('applies nothing more while the store reports a failed write, until the pages in flight settled', async () => {
    let writable = true;
    const { writer, durable, commits, page, applied } = rig(4, () => writable);
    await page(1);
    writable = false;
    const second = page(2);
    await turn();
    expect(applied()).toBe(1);
    commits[0]!.reject(new Error('EIO'));
    await expect(second).rejects.toThrow('EIO');
    expect(applied()).toBe(1);
    expect(durable).toEqual([]);
    await writer.settle();
  });

  it('holds the resource lock while pages are in flight and lets it go to a waiting writer between pages', async () => {
    const { locks, writer, commits, page } = rig(8);
    await page(1);
    await page(2);
    const order: string[] = [];
    const other = locks.run('cliniko:patients', async () => {
      order.push('other writer');
    });
    await turn();
    expect(order).toEqual([]);
    expect(locks.contended('cliniko:patients')).toBe(true);
    // The next page first waits for the pages in flight, lets the other writer in, then goes on.
    const third = page(3).then(() => order.push('page 3 applied'));
    await turn();
    expect(order).toEqual([]);
    commits[0]!.resolve();
    commits[1]!.resolve();
    await other;
    await third;
    expect(order).toEqual(['other writer', 'page 3 applied']);
    commits[2]!.resolve();
    await writer.drain();
    expect(locks.contended('cliniko:patients')).toBe(false);
  });

  it('lets the lock go once every page is durable and the writer is between pages', async () => {
    const { locks, writer, commits, page } = rig(8);
    await page(1);
    let entered = false;
    const other = locks.run('cliniko:patients', async () => {
      entered = true;
    });
    await turn();
    expect(entered).toBe(false);
    commits[0]!.resolve();
    await other;
    expect(entered).toBe(true);
    await writer.drain();
  });
});
