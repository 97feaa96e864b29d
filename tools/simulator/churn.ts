import type { Account } from './account.js';
import { randomCancellationReason, randomPatch } from './generate.js';
import type { Prng } from './prng.js';
import type { SimRecord } from './records.js';
import { RESOURCE_SPECS, type SimResource } from './resources.js';

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

// Where a clinic's day happens: mostly appointments, patients and money, now and then the rest.
// `/bookings` is a read-only union and never changes directly.
const RESOURCE_WEIGHTS: ReadonlyArray<readonly [SimResource, number]> = [
  ['individual_appointments', 24],
  ['patients', 14],
  ['attendees', 8],
  ['invoices', 10],
  ['treatment_notes', 8],
  ['group_appointments', 3],
  ['contacts', 4],
  ['invoice_items', 4],
  ['communications', 4],
  ['patient_forms', 3],
  ['medical_alerts', 2],
  ['unavailable_blocks', 2],
  ['patient_cases', 1],
  ['patient_attachments', 1],
  ['stock_adjustments', 1],
  ['products', 1],
];

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
  let action = weighted(rng, WEIGHTS);
  const resource = action === 'cancel' ? rng.pick(CANCELLABLE) : weighted(rng, RESOURCE_WEIGHTS);
  const lifecycle = RESOURCE_SPECS[resource].lifecycle;
  // What the resource cannot do becomes an edit (stock adjustments are never archived).
  if ((action === 'archive' || action === 'unarchive') && !lifecycle.includes('archived_at')) action = 'update';
  if (action === 'delete' && !lifecycle.includes('deleted_at')) action = 'update';
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

function weighted<T>(rng: Prng, weights: ReadonlyArray<readonly [T, number]>): T {
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  let roll = rng.next() * total;
  for (const [item, weight] of weights) {
    roll -= weight;
    if (roll < 0) return item;
  }
  return weights[0]![0];
}
