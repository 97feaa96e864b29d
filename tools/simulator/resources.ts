/**
 * What the simulator knows about each Cliniko resource it serves: lifecycle columns that hide
 * records, the old `/deleted`, `/cancelled`, `/archived` lists, and searchable columns with their
 * filter types. Facts from the Cliniko API docs (https://docs.api.cliniko.com/): "Lists" and the
 * attendees and contacts pages ("you can filter them by").
 */

export const SIM_RESOURCES = [
  'patients',
  'contacts',
  'attendees',
  'individual_appointments',
  'group_appointments',
  'bookings',
  'invoices',
  'invoice_items',
  'treatment_notes',
  'practitioners',
  'businesses',
  'appointment_types',
  'products',
  'patient_cases',
  'medical_alerts',
  'unavailable_blocks',
  'availability_blocks',
  'daily_availabilities',
  'communications',
  'users',
  'billable_items',
  'concession_types',
  'concession_prices',
  'taxes',
  'services',
  'stock_adjustments',
  'patient_forms',
  'patient_attachments',
  'referral_source_types',
  'relationships',
] as const;

/** A resource path the simulator serves under `/v1`. */
export type SimResource = (typeof SIM_RESOURCES)[number];

/** Columns that, when set, hide a record from normal lists unless a filter names them. */
export type LifecycleColumn = 'cancelled_at' | 'archived_at' | 'deleted_at';

/**
 * The older docs' extra lists (seeds): `/resource/deleted`, `/cancelled`, `/archived`; and
 * `/practitioners/inactive`, the practitioners whose `active` is false.
 */
export type OldList = 'deleted' | 'cancelled' | 'archived' | 'inactive';

/**
 * Filter types from the README "Filtering Results" section: `id` is an int64 integer kept as a
 * string, `int` a small integer, `date` a `YYYY-MM-DD` with `*` wildcards.
 */
export type ColumnType = 'id' | 'int' | 'string' | 'datetime' | 'date';

/** A `*_id` column that real records only expose as a link object, e.g. `patient.links.self`. */
export interface LinkColumn {
  /** Record field holding `{ links: { self } }`. */
  field: string;
  /** Collection path the link points at. */
  collection: string;
}

export interface ResourceSpec {
  lifecycle: readonly LifecycleColumn[];
  oldLists: readonly OldList[];
  /** Searchable (and sortable) columns. */
  columns: Readonly<Record<string, ColumnType>>;
  linkColumns: Readonly<Record<string, LinkColumn>>;
  /** Fields rewritten to whole-second UTC on write. */
  dateTimeFields: readonly string[];
  /**
   * For the `/bookings` union: the tables whose rows it shows. Union resources are read-only.
   */
  union?: readonly SimResource[];
  /** A boolean column whose `false` rows only the `/inactive` list shows (practitioners: `active`). */
  activeColumn?: string;
}

const link = (field: string, collection: string): LinkColumn => ({ field, collection });

const PATIENT = link('patient', 'patients');
const PRACTITIONER = link('practitioner', 'practitioners');
const BUSINESS = link('business', 'businesses');
const APPOINTMENT_TYPE = link('appointment_type', 'appointment_types');
// Cliniko links an attendee to its appointment through the bookings union (Cliniko API docs, Attendees).
const BOOKING = link('booking', 'bookings');

function spec(
  lifecycle: readonly LifecycleColumn[],
  oldLists: readonly OldList[],
  own: Record<string, ColumnType>,
  linkColumns: Record<string, LinkColumn> = {},
  dateTimeFields: readonly string[] = [],
  extra: Pick<ResourceSpec, 'union' | 'activeColumn'> = {},
): ResourceSpec {
  const columns: Record<string, ColumnType> = { id: 'id', created_at: 'datetime', updated_at: 'datetime' };
  for (const column of lifecycle) columns[column] = 'datetime';
  Object.assign(columns, own);
  return {
    lifecycle,
    oldLists,
    columns,
    linkColumns,
    dateTimeFields: [...lifecycle, ...dateTimeFields],
    ...extra,
  };
}

const USER = link('user', 'users');
const INVOICE = link('invoice', 'invoices');
const PRODUCT = link('product', 'products');
const BILLABLE_ITEM = link('billable_item', 'billable_items');
const CONCESSION_TYPE = link('concession_type', 'concession_types');
const APPOINTMENT = link('appointment', 'individual_appointments');

/** Searchable columns shared by the appointment-like resources (group appointments, bookings). */
const APPOINTMENT_COLUMNS: Readonly<Record<string, ColumnType>> = {
  practitioner_id: 'id',
  business_id: 'id',
  appointment_type_id: 'id',
  starts_at: 'datetime',
  ends_at: 'datetime',
};

const APPOINTMENT_LINKS = {
  practitioner_id: PRACTITIONER,
  business_id: BUSINESS,
  appointment_type_id: APPOINTMENT_TYPE,
};

export const RESOURCE_SPECS: Readonly<Record<SimResource, ResourceSpec>> = {
  patients: spec(
    ['archived_at', 'deleted_at'],
    ['deleted', 'archived'],
    {
      first_name: 'string',
      last_name: 'string',
      email: 'string',
      date_of_birth: 'date',
    },
    {},
    ['merged_at'],
  ),
  contacts: spec(['archived_at', 'deleted_at'], ['archived'], {
    first_name: 'string',
    last_name: 'string',
    email: 'string',
    type_code: 'int',
  }),
  attendees: spec(
    ['cancelled_at', 'archived_at', 'deleted_at'],
    ['deleted', 'cancelled'],
    {
      patient_id: 'id',
      booking_id: 'id',
    },
    { patient_id: PATIENT, booking_id: BOOKING },
  ),
  individual_appointments: spec(
    ['cancelled_at', 'archived_at', 'deleted_at'],
    ['deleted', 'cancelled'],
    {
      patient_id: 'id',
      practitioner_id: 'id',
      business_id: 'id',
      appointment_type_id: 'id',
      starts_at: 'datetime',
      ends_at: 'datetime',
    },
    { patient_id: PATIENT, ...APPOINTMENT_LINKS },
    ['starts_at', 'ends_at'],
  ),
  group_appointments: spec(['archived_at', 'deleted_at'], ['deleted'], APPOINTMENT_COLUMNS, APPOINTMENT_LINKS, ['starts_at', 'ends_at']),
  // The union of appointments and unavailable blocks (read-only in the Cliniko API).
  bookings: spec(['cancelled_at', 'archived_at', 'deleted_at'], [], APPOINTMENT_COLUMNS, APPOINTMENT_LINKS, ['starts_at', 'ends_at'], {
    union: ['individual_appointments', 'group_appointments', 'unavailable_blocks'],
  }),
  invoices: spec(
    ['archived_at', 'deleted_at'],
    ['deleted'],
    { patient_id: 'id', practitioner_id: 'id', business_id: 'id', appointment_id: 'id', issue_date: 'date', number: 'int', status: 'int' },
    { patient_id: PATIENT, practitioner_id: PRACTITIONER, business_id: BUSINESS, appointment_id: APPOINTMENT },
    ['closed_at'],
  ),
  invoice_items: spec(
    ['deleted_at'],
    ['deleted'],
    { invoice_id: 'id' },
    { invoice_id: INVOICE, billable_item_id: BILLABLE_ITEM, product_id: PRODUCT },
  ),
  treatment_notes: spec(
    ['archived_at', 'deleted_at'],
    ['deleted'],
    { patient_id: 'id', practitioner_id: 'id', treatment_note_template_id: 'id' },
    { patient_id: PATIENT, practitioner_id: PRACTITIONER, booking_id: BOOKING },
  ),
  practitioners: spec([], ['inactive'], { user_id: 'id' }, { user_id: USER }, [], { activeColumn: 'active' }),
  businesses: spec(['archived_at'], [], { business_name: 'string' }),
  appointment_types: spec(['archived_at'], [], { name: 'string' }),
  products: spec(['archived_at'], [], { name: 'string', item_code: 'string' }),
  patient_cases: spec(['archived_at'], [], { patient_id: 'id', expiry_date: 'date' }, { patient_id: PATIENT }),
  medical_alerts: spec(['archived_at', 'deleted_at'], ['deleted'], { patient_id: 'id' }, { patient_id: PATIENT }),
  unavailable_blocks: spec(
    ['archived_at', 'deleted_at'],
    ['deleted'],
    { practitioner_id: 'id', business_id: 'id', starts_at: 'datetime', ends_at: 'datetime' },
    { practitioner_id: PRACTITIONER, business_id: BUSINESS },
    ['starts_at', 'ends_at'],
  ),
  availability_blocks: spec(
    [],
    [],
    { practitioner_id: 'id', business_id: 'id', starts_at: 'datetime' },
    { practitioner_id: PRACTITIONER, business_id: BUSINESS },
    ['starts_at', 'ends_at'],
  ),
  daily_availabilities: spec(
    [],
    [],
    { practitioner_id: 'id', business_id: 'id' },
    { practitioner_id: PRACTITIONER, business_id: BUSINESS },
  ),
  communications: spec(['archived_at', 'deleted_at'], [], { patient_id: 'id', category_code: 'int' }, { patient_id: PATIENT }),
  users: spec([], [], { email: 'string' }),
  billable_items: spec([], [], { name: 'string', item_code: 'string' }),
  concession_types: spec([], [], { name: 'string' }),
  concession_prices: spec(
    [],
    [],
    { billable_item_id: 'id', concession_type_id: 'id' },
    { billable_item_id: BILLABLE_ITEM, concession_type_id: CONCESSION_TYPE },
  ),
  taxes: spec([], [], { name: 'string' }),
  services: spec(
    [],
    [],
    { business_id: 'id', appointment_type_id: 'id' },
    { business_id: BUSINESS, appointment_type_id: APPOINTMENT_TYPE },
  ),
  stock_adjustments: spec([], [], { product_id: 'id' }, { product_id: PRODUCT, user_id: USER }),
  patient_forms: spec(['archived_at'], [], { patient_id: 'id', completed_at: 'datetime' }, { patient_id: PATIENT }, ['completed_at']),
  patient_attachments: spec(
    ['archived_at'],
    [],
    { patient_id: 'id', user_id: 'id', content_type: 'string', filename: 'string', description: 'string', size: 'int' },
    { patient_id: PATIENT, user_id: USER },
  ),
  referral_source_types: spec([], [], { name: 'string' }),
  relationships: spec(
    ['archived_at'],
    [],
    { patient_id: 'id', related_patient_id: 'id' },
    { patient_id: PATIENT, related_patient_id: link('related_patient', 'patients') },
  ),
};

/** Old `/deleted` lists accept only these filters (Cliniko API docs, "Lists"). */
export const DELETED_LIST_COLUMNS: Readonly<Record<string, ColumnType>> = {
  id: 'id',
  deleted_at: 'datetime',
};

export function isSimResource(value: string): value is SimResource {
  return (SIM_RESOURCES as readonly string[]).includes(value);
}

/**
 * A column's value on a stored record. Link columns (`patient_id`) are read from the link's last
 * path segment, because Cliniko records carry links, not foreign keys.
 */
export function columnValue(spec: ResourceSpec, record: Record<string, unknown>, column: string): unknown {
  const linkColumn = spec.linkColumns[column];
  if (!linkColumn) return record[column];
  const self = linkSelf(record[linkColumn.field]);
  return self === undefined ? null : self.slice(self.lastIndexOf('/') + 1);
}

function linkSelf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const links = (value as { links?: unknown }).links;
  if (typeof links !== 'object' || links === null) return undefined;
  const self = (links as { self?: unknown }).self;
  return typeof self === 'string' ? self : undefined;
}
