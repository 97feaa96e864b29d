/** One scheduled attempt: a delivery id, due at `at` (epoch ms); ties go in event (detection) order. */
export interface Due {
  id: string;
  at: number;
  eventId: string;
}

function before(a: Due, b: Due): boolean {
  return a.at < b.at || (a.at === b.at && a.eventId < b.eventId);
}

/**
 * A binary min-heap of due attempts, earliest first. Entries are never updated in place: a changed
 * delivery gets a new entry and the worker skips entries that no longer match (lazy deletion).
 */
export class DueQueue {
  private readonly items: Due[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Due | undefined {
    return this.items[0];
  }

  push(item: Due): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): Due | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
