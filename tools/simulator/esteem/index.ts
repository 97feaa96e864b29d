import type { Hono } from 'hono';
import { FaultQueue, type FaultSpec } from '../faults.js';
import { SimServer } from '../loopback-server.js';
import { Prng } from '../prng.js';
import { EsteemAccount, type EsteemAppointment } from './account.js';
import { createEsteemApp, type EsteemServedInfo, type ListShape } from './app.js';
import { randomEsteemChange, seedAppointments, type EsteemChange } from './churn.js';

export type { EsteemAppointment } from './account.js';
export type { EsteemServedInfo, ListShape } from './app.js';
export type { EsteemChange } from './churn.js';
export type { FaultSpec } from '../faults.js';

/** Options of an {@link EsteemSimulator}. */
export interface EsteemSimulatorOptions {
  /** The `X-User-Token` requests must carry (default `esteem-sim-token`). */
  userToken?: string;
  /** Clock in ms (default `Date.now`): `created_at`, `updated_at` and where new appointments land. */
  now?: () => number;
  /** PRNG seed for reproducible data (default 1). */
  seed?: number;
  /** First appointment id (default 1001). */
  firstId?: number;
  /** How lists answer: a bare array (default) or `{ "appointments": [...] }`. */
  listShape?: ListShape;
  /** Widest date range one `in_date_range` request may ask for (default 31 days); wider → 422. */
  maxRangeDays?: number;
}

export const DEFAULT_ESTEEM_TOKEN = 'esteem-sim-token';
type Id = number | string;

/**
 * An in-process Clinic Appointments API (Esteem, described in docs/esteem.md) for the
 * tests and the demo: `X-User-Token` auth, `in_date_range` (required dates, a cap on the range),
 * paged `pending_documentation`, `reschedule_appointments/{id}` with 404/422, switchable list shape,
 * fault injection, a served-request log and helpers to change data.
 *
 * @example
 * const sim = new EsteemSimulator();
 * const a = sim.create({ scheduled_at: '2026-10-27T14:30:00.000Z' });
 * const { baseUrl } = await sim.listen(); // http://127.0.0.1:PORT
 * // GET `${baseUrl}/v1/clinic/appointments/in_date_range?start_date=2026-10-27&end_date=2026-10-28`
 * // with `X-User-Token: esteem-sim-token`
 */
export class EsteemSimulator {
  readonly app: Hono;
  /** Every request served, in order (including 401s, 422s and injected faults). */
  readonly served: EsteemServedInfo[] = [];
  /** Every successful reschedule through the API, with its reason. */
  readonly reschedules: Array<{ id: number; reason: string | null }> = [];
  /** Called synchronously after a response is computed, before it is sent. */
  afterResponse?: (info: EsteemServedInfo) => void;
  /** The token requests must carry; change it to simulate a revoked token. */
  userToken: string;
  listShape: ListShape;

  private readonly account: EsteemAccount;
  private readonly faults = new FaultQueue();
  private readonly rng: Prng;
  private readonly server: SimServer;

  constructor(opts: EsteemSimulatorOptions = {}) {
    this.userToken = opts.userToken ?? DEFAULT_ESTEEM_TOKEN;
    this.listShape = opts.listShape ?? 'array';
    this.rng = new Prng(opts.seed ?? 1);
    this.account = new EsteemAccount({ now: opts.now ?? Date.now, rng: this.rng, firstId: opts.firstId ?? 1001 });
    this.app = createEsteemApp({
      account: this.account,
      token: () => this.userToken,
      listShape: () => this.listShape,
      maxRangeDays: opts.maxRangeDays ?? 31,
      faults: this.faults,
      onServed: (info) => {
        this.served.push(info);
        this.afterResponse?.(info);
      },
      onReschedule: (entry) => this.reschedules.push(entry),
    });
    this.server = new SimServer(this.app, 'EsteemSimulator');
  }

  /** Listens on loopback (default a random port). Resolves with the origin, e.g. `http://127.0.0.1:PORT`. */
  async listen(port = 0, host = '127.0.0.1'): Promise<{ baseUrl: string }> {
    return { baseUrl: await this.server.listen(port, host) };
  }

  /** Stops listening and drops open (keep-alive or delayed) connections. */
  async close(): Promise<void> {
    await this.server.close();
  }

  /** Adds `count` realistic appointments from 10 days ago to 100 days ahead. */
  seed(count: number): void {
    seedAppointments(this.account, this.rng, count);
  }

  /** A new appointment (random realistic values overlaid by `fields`), created and updated now. */
  create(fields: Partial<Omit<EsteemAppointment, 'id'>> = {}): EsteemAppointment {
    return copy(this.account.create(fields));
  }

  /** Applies `patch` and bumps `updated_at`. */
  update(id: Id, patch: Partial<Omit<EsteemAppointment, 'id' | 'created_at' | 'updated_at'>>): EsteemAppointment {
    return copy(this.account.update(Number(id), patch));
  }

  /** Moves it in time and/or to another provider, as the reschedule endpoint would (no validation). */
  reschedule(id: Id, to: { scheduled_at?: string; provider_id?: number }): EsteemAppointment {
    return this.update(id, to);
  }

  setStatus(id: Id, status: string): EsteemAppointment {
    return this.update(id, { status });
  }

  cancel(id: Id): EsteemAppointment {
    return this.setStatus(id, 'cancelled');
  }

  /** Deletes it: it is gone from every list. */
  remove(id: Id): void {
    this.account.remove(Number(id));
  }

  /** Puts it on the pending-documentation list (the appointment itself does not change). */
  markDocumentationPending(id: Id): void {
    this.account.setPending(Number(id), true);
  }

  /** Takes it off the pending-documentation list. */
  completeDocumentation(id: Id): void {
    this.account.setPending(Number(id), false);
  }

  isDocumentationPending(id: Id): boolean {
    return this.account.isPending(Number(id));
  }

  get(id: Id): EsteemAppointment | undefined {
    const a = this.account.find(Number(id));
    return a && copy(a);
  }

  /** Copies of every appointment, by id. */
  all(): EsteemAppointment[] {
    return this.account.all().map(copy);
  }

  /** Providers a reschedule may name; others get 422 `provider_id: ["must exist"]`. */
  providers(): number[] {
    return [...this.account.providers];
  }

  /** One realistic random change (demo churn); the result holds no patient data. */
  randomChange(): EsteemChange {
    return randomEsteemChange(this.account, this.rng);
  }

  /** Queues a fault for upcoming requests; faults are consumed in injection order. */
  injectFault(f: FaultSpec): void {
    this.faults.add(f);
  }

  clearFaults(): void {
    this.faults.clear();
  }
}

function copy(a: EsteemAppointment): EsteemAppointment {
  return { ...a };
}
