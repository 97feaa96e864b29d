import type { Prng } from '../prng.js';

/** An appointment exactly as the Clinic Appointments API document shows it (integer ids, ms UTC times). */
export interface EsteemAppointment {
  id: number;
  patient_id: number;
  provider_id: number;
  scheduled_at: string;
  status: string;
  appointment_type: string;
  duration_minutes: number;
  notes: string | null;
  created_at: string;
  updated_at: string;
}

export const STATUSES = ['scheduled', 'confirmed', 'checked_in', 'completed', 'no_show', 'cancelled'] as const;
export const APPOINTMENT_TYPES = ['therapy', 'consultation', 'follow_up', 'assessment'] as const;
export const PROVIDER_IDS = [456, 457, 458, 459] as const;
export const DAY_MS = 86_400_000;
const DURATIONS = [30, 45, 60, 90] as const;
const NOTES = ['Initial consultation', 'Review progress', 'Bring previous reports', 'Telehealth', null] as const;
const QUARTER_HOUR_MS = 15 * 60_000;

/** Filters of `in_date_range`. */
export interface RangeFilter {
  provider_id?: number;
  patient_id?: number;
}

/**
 * The appointments of one simulated Esteem clinic, the pending-documentation list, and the
 * providers that exist (a reschedule to any other `provider_id` is a 422 "must exist").
 * Timestamps are written with the simulator's clock as ISO 8601 with milliseconds, like the API's.
 */
export class EsteemAccount {
  readonly providers = new Set<number>(PROVIDER_IDS);
  private readonly rows = new Map<number, EsteemAppointment>();
  /** Ids pending documentation. Marking them does not touch the appointment (documentation is separate). */
  private readonly pending = new Set<number>();
  private nextId: number;

  constructor(private readonly opts: { now: () => number; rng: Prng; firstId: number }) {
    this.nextId = opts.firstId;
  }

  /** A new appointment: realistic random values (scheduled 1–60 days ahead) overlaid by `fields`. */
  create(fields: Partial<Omit<EsteemAppointment, 'id'>> = {}): EsteemAppointment {
    const { rng } = this.opts;
    const at = this.stamp();
    const appointment: EsteemAppointment = {
      id: this.nextId++,
      patient_id: rng.int(1001, 1999),
      provider_id: rng.pick(PROVIDER_IDS),
      scheduled_at: new Date(this.slot(rng.int(1, 60))).toISOString(),
      status: 'scheduled',
      appointment_type: rng.pick(APPOINTMENT_TYPES),
      duration_minutes: rng.pick(DURATIONS),
      notes: rng.pick(NOTES),
      created_at: at,
      updated_at: at,
      ...fields,
    };
    appointment.scheduled_at = normalise(appointment.scheduled_at);
    this.rows.set(appointment.id, appointment);
    return appointment;
  }

  find(id: number): EsteemAppointment | undefined {
    return this.rows.get(id);
  }

  /** Applies `patch` and bumps `updated_at`. */
  update(id: number, patch: Partial<Omit<EsteemAppointment, 'id' | 'created_at' | 'updated_at'>>): EsteemAppointment {
    const appointment = this.must(id);
    Object.assign(appointment, patch);
    if (patch.scheduled_at !== undefined) appointment.scheduled_at = normalise(patch.scheduled_at);
    appointment.updated_at = this.stamp();
    return appointment;
  }

  /** Deletes the appointment (it is simply gone from every list). */
  remove(id: number): void {
    this.must(id);
    this.rows.delete(id);
    this.pending.delete(id);
  }

  setPending(id: number, pending: boolean): void {
    this.must(id);
    if (pending) this.pending.add(id);
    else this.pending.delete(id);
  }

  isPending(id: number): boolean {
    return this.pending.has(id);
  }

  /** Appointments with `scheduled_at` in `[fromMs, toMs)`, by `scheduled_at` then id. */
  inRange(fromMs: number, toMs: number, filter: RangeFilter = {}): EsteemAppointment[] {
    return this.sorted().filter((a) => {
      const at = Date.parse(a.scheduled_at);
      if (at < fromMs || at >= toMs) return false;
      if (filter.provider_id !== undefined && a.provider_id !== filter.provider_id) return false;
      return filter.patient_id === undefined || a.patient_id === filter.patient_id;
    });
  }

  /** The pending-documentation list, by `scheduled_at` then id. */
  pendingList(): EsteemAppointment[] {
    return this.sorted().filter((a) => this.pending.has(a.id));
  }

  /** Every appointment, by id. */
  all(): EsteemAppointment[] {
    return [...this.rows.values()].sort((a, b) => a.id - b.id);
  }

  /** A random appointment matching `accept`, or undefined. */
  pick(accept: (a: EsteemAppointment) => boolean): EsteemAppointment | undefined {
    const candidates = this.all().filter(accept);
    return candidates.length > 0 ? this.opts.rng.pick(candidates) : undefined;
  }

  /** Now plus `days`, rounded down to a quarter hour (ms). */
  slot(days: number): number {
    const ms = this.opts.now() + days * DAY_MS + this.opts.rng.int(0, 8) * 3_600_000;
    return Math.floor(ms / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  }

  now(): number {
    return this.opts.now();
  }

  private sorted(): EsteemAppointment[] {
    return [...this.rows.values()].sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at) || a.id - b.id);
  }

  private must(id: number): EsteemAppointment {
    const appointment = this.rows.get(id);
    if (!appointment) throw new Error(`EsteemSimulator: no appointment ${id}`);
    return appointment;
  }

  private stamp(): string {
    return new Date(this.opts.now()).toISOString();
  }
}

/** Any parseable date-time written back as `2026-10-27T14:30:00.000Z`, as the API shows it. */
export function normalise(value: string): string {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}
