import type { Hono } from 'hono';
import { Account, type SimAccount } from './account.js';
import { createApp, type ServedInfo } from './app.js';
import { randomChange, type Change } from './churn.js';
import { FaultQueue, type FaultSpec } from './faults.js';
import { GeneratedAccount, type GeneratedOptions } from './generated.js';
import { DEFAULT_FIRST_ID } from './ids.js';
import { SimServer } from './loopback-server.js';
import { Prng } from './prng.js';
import { FixedWindowRateLimit } from './rate-limit.js';
import type { SimRecord } from './records.js';
import type { SimResource } from './resources.js';

export type { SimResource } from './resources.js';
export type { SimRecord } from './records.js';
export type { FaultSpec } from './faults.js';
export type { ServedInfo } from './app.js';
export type { Change } from './churn.js';
export type { GeneratedOptions } from './generated.js';

/** Options of a {@link ClinikoSimulator}. */
export interface SimulatorOptions {
  /** Default `sim-key-au1`; the Basic auth username must equal it, with an empty password, else 401. */
  apiKey?: string;
  /** Default 200 (Cliniko's limit); 0 disables. Per key, fixed 60 s windows. */
  rateLimitPerMin?: number;
  /** Clock in ms (default `Date.now`); written timestamps are whole seconds UTC. */
  now?: () => number;
  /** PRNG seed for reproducible data (default 1). */
  seed?: number;
  /**
   * First record id (default `999999999999990001`, so ids soon cross from 18 to 19 digits and
   * string comparison of ids breaks visibly). An addition to the agreed interface.
   */
  firstId?: string;
  /** Resources the key has no permission for (403), e.g. `['invoices']`. See also `forbid()`. */
  forbidden?: readonly SimResource[];
  /** Time each authenticated request takes on the server, in ms (default 0). */
  latencyMs?: number;
  /**
   * How the simulator waits out `latencyMs` (default `setTimeout`): pass a virtual clock's sleep
   * with `now` to run latency in simulated time; `waiting` then tells which requests are parked on it.
   */
  sleep?: (ms: number) => Promise<void>;
  /**
   * One large resource generated from record indices on demand instead of stored (a 1M-record clinic
   * in a process of about 110 MB RSS, most of it Node itself): see `GeneratedAccount` in generated.ts for what its lists support. `seed()`,
   * `all()`, `merge()` and `randomChange()` do not apply to it; `get`, the writes and the HTTP API do.
   */
  generated?: GeneratedOptions;
}

export const DEFAULT_API_KEY = 'sim-key-au1';
export const DEFAULT_RATE_LIMIT_PER_MIN = 200;

/**
 * An in-process Cliniko API v1 (Cliniko API docs) for tests, the demo and benchmarks: a Hono
 * app over a simulated account, with helpers to change data, inject faults and watch requests.
 *
 * @example
 * const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
 * sim.seed({ patients: 120 });
 * const { baseUrl } = await sim.listen(); // http://127.0.0.1:PORT/v1
 * // ... GET `${baseUrl}/patients` with Basic auth `sim-key-au1:` and a vendor User-Agent
 * await sim.close();
 */
export class ClinikoSimulator {
  readonly app: Hono;
  /** Every request served, in order (including 401s, 404s and injected faults). */
  readonly served: ServedInfo[] = [];
  /** Called synchronously after a response is computed, before it is sent. */
  afterResponse?: (info: ServedInfo) => void;

  private readonly account: Account;
  /** What the routes and the record helpers use: `account`, or the generated resource over it. */
  private readonly records: SimAccount;
  /** Set when the account has a generated resource. */
  readonly generated: GeneratedAccount | undefined;
  private readonly faults = new FaultQueue();
  private readonly forbidden = new Set<string>();
  private readonly rng: Prng;
  private parked = 0;
  private readonly server: SimServer;

  constructor(opts: SimulatorOptions = {}) {
    const apiKey = opts.apiKey ?? DEFAULT_API_KEY;
    const now = opts.now ?? Date.now;
    const rateLimit = opts.rateLimitPerMin ?? DEFAULT_RATE_LIMIT_PER_MIN;
    this.rng = new Prng(opts.seed ?? 1);
    for (const r of opts.forbidden ?? []) this.forbidden.add(r);
    this.account = new Account({
      now,
      rng: this.rng,
      firstId: opts.firstId === undefined ? DEFAULT_FIRST_ID : BigInt(opts.firstId),
      base: `https://api.${shardOf(apiKey)}.cliniko.com/v1`,
    });
    this.generated = opts.generated
      ? new GeneratedAccount({
          ...opts.generated,
          inner: this.account,
          now,
          seed: opts.seed ?? 1,
          firstId: opts.firstId === undefined ? DEFAULT_FIRST_ID : BigInt(opts.firstId),
        })
      : undefined;
    this.records = this.generated ?? this.account;
    this.app = createApp({
      account: this.records,
      apiKey,
      limiter: rateLimit > 0 ? new FixedWindowRateLimit(rateLimit, now) : undefined,
      faults: this.faults,
      forbidden: this.forbidden,
      latency: {
        ms: opts.latencyMs ?? 0,
        sleep: opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
        onWait: (delta) => {
          this.parked += delta;
        },
      },
      now,
      onServed: (info) => {
        this.served.push(info);
        this.afterResponse?.(info);
      },
    });
    this.server = new SimServer(this.app, 'ClinikoSimulator');
  }

  /** Requests currently waiting out `latencyMs`. */
  get waiting(): number {
    return this.parked;
  }

  /** Listens on loopback (default a random port). Resolves with `http://127.0.0.1:PORT/v1`. */
  async listen(port = 0, host = '127.0.0.1'): Promise<{ baseUrl: string }> {
    return { baseUrl: `${await this.server.listen(port, host)}/v1` };
  }

  /** Stops listening and drops open (keep-alive or delayed) connections. */
  async close(): Promise<void> {
    await this.server.close();
  }

  /** Adds realistic generated records; attendees link to existing appointments and patients. */
  seed(counts: Partial<Record<SimResource, number>>): void {
    const generated = this.generated?.resource;
    if (generated && counts[generated]) throw new Error(`simulator: ${generated} is generated (options.generated.count); do not seed it`);
    this.account.seed(counts);
  }

  /** Creates a record (realistic random fields overlaid by `fields`) with created_at = updated_at = now. */
  create(resource: SimResource, fields?: Record<string, unknown>): SimRecord {
    return copy(this.records.create(resource, fields));
  }

  /** Applies `patch` and bumps `updated_at`. `*_id` fields (e.g. `patient_id`) become links. */
  update(resource: SimResource, id: string, patch: Record<string, unknown>): SimRecord {
    return copy(this.records.update(resource, id, patch));
  }

  /** Sets `cancelled_at`, `cancellation_reason` (default 50, Other), its description and note. */
  cancel(resource: 'attendees' | 'individual_appointments', id: string, reason?: number, note?: string): SimRecord {
    return copy(this.records.cancel(resource, id, reason, note));
  }

  archive(resource: SimResource, id: string): SimRecord {
    return copy(this.records.archive(resource, id));
  }

  unarchive(resource: SimResource, id: string): SimRecord {
    return copy(this.records.unarchive(resource, id));
  }

  /** Soft delete (sets `deleted_at`) where the resource has the column; otherwise the row is gone. */
  remove(resource: SimResource, id: string): SimRecord {
    return copy(this.records.remove(resource, id));
  }

  /** Merges patient `id` into `intoId`: `merged_at` and `merged_with_patient` are set. */
  merge(id: string, intoId: string): SimRecord {
    return copy(this.account.merge(id, intoId));
  }

  /** From now on the key may not read `resource`: requests under it get a 403. */
  forbid(resource: SimResource): void {
    this.forbidden.add(resource);
  }

  /** Gives the permission back. */
  allow(resource: SimResource): void {
    this.forbidden.delete(resource);
  }

  /** A copy of the record, hidden ones included. */
  get(resource: SimResource, id: string): SimRecord | undefined {
    const record = this.records.find(resource, id);
    return record && copy(record);
  }

  /** Copies of every record of the resource, hidden ones included, in id order. */
  all(resource: SimResource): SimRecord[] {
    if (resource === this.generated?.resource)
      throw new Error(`simulator: all() of the generated ${resource} would hold every record; use get()`);
    return this.account.rows(resource).map(copy);
  }

  /** One realistic random mutation (demo churn). The result holds no patient data. */
  randomChange(): Change {
    return randomChange(this.account, this.rng);
  }

  /** Queues a fault for upcoming requests; faults are consumed in injection order. */
  injectFault(f: FaultSpec): void {
    this.faults.add(f);
  }

  clearFaults(): void {
    this.faults.clear();
  }
}

// The shard is the key's suffix after the last hyphen; none means au1 (Cliniko API docs).
function shardOf(apiKey: string): string {
  return /-([a-z]{2}\d{1,2})$/.exec(apiKey)?.[1] ?? 'au1';
}

function copy(record: SimRecord): SimRecord {
  return structuredClone(record);
}
