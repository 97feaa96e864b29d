import type { Prng } from '../prng.js';
import { DAY_MS, PROVIDER_IDS, type EsteemAccount, type EsteemAppointment } from './account.js';

/** What {@link randomEsteemChange} did, without patient data (safe to print). */
export interface EsteemChange {
  action: 'create' | 'update' | 'reschedule' | 'status' | 'cancel' | 'document' | 'remove';
  id: number;
}

type Action = EsteemChange['action'];

// A clinic's day: bookings, edits, moves, check-ins; some cancellations, rare deletions.
const WEIGHTS: ReadonlyArray<readonly [Action, number]> = [
  ['create', 20],
  ['update', 15],
  ['reschedule', 15],
  ['status', 20],
  ['cancel', 10],
  ['document', 12],
  ['remove', 8],
];

/** scheduled → confirmed → checked_in → completed (which leaves documentation pending). */
const NEXT_STATUS: Readonly<Record<string, string>> = { scheduled: 'confirmed', confirmed: 'checked_in', checked_in: 'completed' };
const NOTES = ['Running late', 'Interpreter requested', 'Parking validated', 'Referral letter received'] as const;

/**
 * One realistic random change, only to appointments well inside the default window (−6 d … +89 d),
 * so each shows up as an event. Falls back to creating an appointment when nothing fits.
 */
export function randomEsteemChange(account: EsteemAccount, rng: Prng): EsteemChange {
  const action = weighted(rng);
  const now = account.now();
  const inWindow = (a: EsteemAppointment) => {
    const at = Date.parse(a.scheduled_at);
    return at > now - 6 * DAY_MS && at < now + 89 * DAY_MS;
  };
  const live = (a: EsteemAppointment) => inWindow(a) && a.status !== 'cancelled';
  const target =
    action === 'create'
      ? undefined
      : action === 'document'
        ? account.pick((a) => inWindow(a) && account.isPending(a.id))
        : action === 'status'
          ? account.pick((a) => live(a) && a.status in NEXT_STATUS)
          : account.pick(action === 'remove' || action === 'update' ? inWindow : live);
  if (!target) return { action: 'create', id: account.create().id };

  const { id } = target;
  switch (action) {
    case 'update':
      account.update(id, { notes: rng.pick(NOTES) });
      break;
    case 'reschedule':
      if (rng.chance(0.3)) account.update(id, { provider_id: rng.pick(PROVIDER_IDS.filter((p) => p !== target.provider_id)) });
      else
        account.update(id, {
          scheduled_at: new Date(Date.parse(target.scheduled_at) + rng.pick([-2, -1, 1, 2, 3]) * DAY_MS).toISOString(),
        });
      break;
    case 'status': {
      const next = NEXT_STATUS[target.status] ?? 'confirmed';
      account.update(id, { status: next });
      if (next === 'completed') account.setPending(id, true);
      break;
    }
    case 'cancel':
      account.update(id, { status: 'cancelled' });
      break;
    case 'document':
      account.setPending(id, false);
      break;
    case 'remove':
      account.remove(id);
      break;
  }
  return { action, id };
}

/**
 * `count` appointments spread from 10 days ago to 100 days ahead (some outside the default window):
 * past ones completed (some still pending documentation), no-show or cancelled; future ones
 * scheduled or confirmed.
 */
export function seedAppointments(account: EsteemAccount, rng: Prng, count: number): void {
  for (let i = 0; i < count; i++) {
    const days = rng.int(-10, 100);
    const past = days < 0;
    const status = past
      ? rng.pick(['completed', 'completed', 'completed', 'no_show', 'cancelled'] as const)
      : rng.pick(['scheduled', 'scheduled', 'confirmed'] as const);
    const created = account.now() - rng.int(Math.max(1, -days + 1), 120) * DAY_MS;
    const stamp = new Date(created).toISOString();
    const a = account.create({ scheduled_at: new Date(account.slot(days)).toISOString(), status, created_at: stamp, updated_at: stamp });
    if (status === 'completed' && rng.chance(0.4)) account.setPending(a.id, true);
  }
}

function weighted(rng: Prng): Action {
  const total = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  let roll = rng.next() * total;
  for (const [action, weight] of WEIGHTS) {
    roll -= weight;
    if (roll < 0) return action;
  }
  return 'update';
}
