import type { Account } from './account.js';
import { randomCancellationReason, randomPatch } from './generate.js';
import type { Prng } from './prng.js';
import type { SimRecord } from './records.js';
import { SIM_RESOURCES, type SimResource } from './resources.js';

/** What {@link randomChange} did, without any patient data (safe to print). */
export interface Change {
  action: 'create' | 'update' | 'cancel' | 'archive' | 'unarchive' | 'delete';
  resource: SimResource;
  id: string;
}

type Action = Change['action'];

// Roughly a clinic's day: mostly edits and new bookings, some cancellations, rare deletes.
const WEIGHTS: ReadonlyArray<readonly [Action, number]> = [
  ['update', 40],
  ['create', 20],
  ['cancel', 15],
  ['archive', 8],
  ['unarchive', 5],
  ['delete', 12],
];

const CANCELLABLE: readonly SimResource[] = ['attendees', 'individual_appointments'];

const notDeleted = (r: SimRecord) => r.deleted_at == null;
const ELIGIBLE: Readonly<Record<Action, (r: SimRecord) => boolean>> = {
  create: () => true,
  update: notDeleted,
  cancel: (r) => notDeleted(r) && r.cancelled_at == null,
  archive: (r) => notDeleted(r) && r.archived_at == null,
  unarchive: (r) => notDeleted(r) && r.archived_at != null,
  delete: notDeleted,
};

/**
 * One realistic random mutation (used by the demo's churn): edit a field, create, cancel an
 * appointment or attendee, archive, unarchive or soft-delete. Falls back to creating a record when
 * nothing fits the chosen action.
 */
export function randomChange(account: Account, rng: Prng): Change {
  const action = weighted(rng);
  const resources = action === 'cancel' ? CANCELLABLE : SIM_RESOURCES;
  const resource = rng.pick(resources);
  const target = action === 'create' ? undefined : account.pickLive(resource, ELIGIBLE[action]);
  if (!target) return { action: 'create', resource, id: account.create(resource).id };

  const { id } = target;
  switch (action) {
    case 'update':
      account.update(resource, id, randomPatch(resource, target, account.generateContext()));
      break;
    case 'cancel':
      account.cancel(resource as 'attendees' | 'individual_appointments', id, randomCancellationReason(rng));
      break;
    case 'archive':
      account.archive(resource, id);
      break;
    case 'unarchive':
      account.unarchive(resource, id);
      break;
    case 'delete':
      account.remove(resource, id);
      break;
  }
  return { action, resource, id };
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
