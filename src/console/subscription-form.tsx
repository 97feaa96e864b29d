import type { Context } from 'hono';
import { EVENT_CATALOGUE } from '../catalog/index.js';
import {
  NewSubscriptionBody,
  SubscriptionChangeBody,
  type NewSubscriptionInput,
  type SubscriptionChange,
} from '../services/subscription-input.js';
import type { Subscription } from '../store/schema.js';
import type { ConsoleEnv } from './context.js';
import { Csrf } from './layout.js';
import { field, fields } from './render.js';
import type { Session } from './session.js';

/** Catalogue types grouped by resource, in catalogue order: the event-type picker's sections. */
const BY_RESOURCE: Array<{ resource: string; types: Array<{ type: string; description: string }> }> = [];
for (const doc of EVENT_CATALOGUE) {
  const resource = doc.type.split('.')[0]!;
  let group = BY_RESOURCE.find((g) => g.resource === resource);
  if (!group) BY_RESOURCE.push((group = { resource, types: [] }));
  group.types.push({ type: doc.type, description: doc.description });
}

/** What the form shows: a subscription's values, or what was submitted (after an error). */
export interface FormValues {
  url: string;
  description: string;
  event_types: string[];
  payload: 'full' | 'thin';
  fields: string;
  ordering: 'none' | 'per_record';
  rate_limit_per_second: string;
  max_in_flight: string;
  headers: string;
  /** Names of the headers the subscription has (values are never shown). */
  header_names: string[];
}

export function valuesOf(sub: Subscription | null): FormValues {
  return {
    url: sub?.url ?? '',
    description: sub?.description ?? '',
    event_types: sub?.event_types ?? ['*'],
    payload: sub?.payload ?? 'full',
    fields: sub?.fields?.join(', ') ?? '',
    ordering: sub?.ordering ?? 'none',
    rate_limit_per_second: sub?.rate_limit_per_second?.toString() ?? '',
    max_in_flight: sub?.max_in_flight?.toString() ?? '',
    headers: '',
    header_names: Object.keys(sub?.headers ?? {}),
  };
}

/** The submitted values, to show the form again after an error. */
export function submittedValues(c: Context<ConsoleEnv>, header_names: string[]): FormValues {
  return {
    url: field(c, 'url') ?? '',
    description: field(c, 'description') ?? '',
    event_types: fields(c, 'event_types'),
    payload: field(c, 'payload') === 'thin' ? 'thin' : 'full',
    fields: field(c, 'fields') ?? '',
    ordering: field(c, 'ordering') === 'per_record' ? 'per_record' : 'none',
    rate_limit_per_second: field(c, 'rate_limit_per_second') ?? '',
    max_in_flight: field(c, 'max_in_flight') ?? '',
    headers: '',
    header_names,
  };
}

/** `Name: value` lines to a header map. @returns the map, or an error message naming the bad line. */
function parseHeaders(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return `headers line ${i + 1}: write it as "Name: value"`;
    out[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return out;
}

const optionalInt = (v: string | undefined) => (v ? Number(v) : null);

/**
 * The form as the services' input: the same zod schema the JSON API validates with.
 * @param creating a new subscription (headers always from the form) or a change (headers kept unless replaced or cleared)
 * @returns the input, or the problems as `field: message` lines.
 */
export function parseSubscriptionForm(
  c: Context<ConsoleEnv>,
  creating: true,
): { ok: true; value: NewSubscriptionInput } | { ok: false; errors: string[] };
export function parseSubscriptionForm(
  c: Context<ConsoleEnv>,
  creating: false,
): { ok: true; value: SubscriptionChange } | { ok: false; errors: string[] };
export function parseSubscriptionForm(
  c: Context<ConsoleEnv>,
  creating: boolean,
): { ok: true; value: NewSubscriptionInput | SubscriptionChange } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const headerText = field(c, 'headers') ?? '';
  let headers: Record<string, string> | undefined;
  if (field(c, 'clear_headers') === 'on') headers = {};
  else if (headerText || creating) {
    const parsed = parseHeaders(headerText);
    if (typeof parsed === 'string') errors.push(parsed);
    else headers = parsed;
  }
  const fieldList = (field(c, 'fields') ?? '').split(/[\s,]+/).filter(Boolean);
  const input = {
    url: field(c, 'url') ?? '',
    description: field(c, 'description') || null,
    event_types: fields(c, 'event_types'),
    payload: field(c, 'payload') === 'thin' ? 'thin' : 'full',
    fields: fieldList.length > 0 ? fieldList : null,
    ordering: field(c, 'ordering') === 'per_record' ? 'per_record' : 'none',
    rate_limit_per_second: optionalInt(field(c, 'rate_limit_per_second')),
    max_in_flight: optionalInt(field(c, 'max_in_flight')),
    ...(headers ? { headers } : {}),
  };
  if (input.event_types.length === 0) errors.push('event types: choose at least one');
  const result = (creating ? NewSubscriptionBody : SubscriptionChangeBody).safeParse(input);
  if (!result.success) for (const issue of result.error.issues) errors.push(`${issue.path.join('.') || 'form'}: ${issue.message}`);
  if (errors.length > 0) return { ok: false, errors: [...new Set(errors)] };
  return { ok: true, value: result.data! };
}

/** The create / edit form: URL, description, event types from the catalogue, payload, headers, ordering, limits. */
export function SubscriptionForm({
  session,
  action,
  values,
  errors,
  submitLabel,
}: {
  session: Session;
  action: string;
  values: FormValues;
  errors?: string[];
  submitLabel: string;
}) {
  const selected = new Set(values.event_types);
  return (
    <form method="post" action={action} class="card subscription-form" novalidate>
      <Csrf session={session} />
      {errors && errors.length > 0 ? (
        <div class="flash flash-error" role="alert" id="form-errors">
          <p>Please fix:</p>
          <ul>
            {errors.map((e) => (
              <li>{e}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <p>
        <label for="url">Receiver URL</label>
        <input id="url" name="url" type="url" required value={values.url} size={60} aria-describedby="url-help" />
        <span id="url-help" class="help">
          Where events are POSTed, signed per Standard Webhooks.
        </span>
      </p>
      <p>
        <label for="description">Description</label>
        <input id="description" name="description" type="text" value={values.description} size={60} maxlength={500} />
      </p>
      <fieldset>
        <legend>Event types</legend>
        <p class="help">Choose every event, whole resources, or single types (from the event catalogue).</p>
        <label class="check">
          <input type="checkbox" name="event_types" value="*" checked={selected.has('*')} /> Every event (<code>*</code>)
        </label>
        <div class="types">
          {BY_RESOURCE.map((g) => {
            const open = selected.has(`${g.resource}.*`) || g.types.some((t) => selected.has(t.type));
            return (
              <details open={open}>
                <summary>
                  {g.resource} ({g.types.length})
                </summary>
                <label class="check">
                  <input type="checkbox" name="event_types" value={`${g.resource}.*`} checked={selected.has(`${g.resource}.*`)} /> every{' '}
                  <code>{g.resource}</code> event (<code>{`${g.resource}.*`}</code>)
                </label>
                {g.types.map((t) => (
                  <label class="check" title={t.description}>
                    <input type="checkbox" name="event_types" value={t.type} checked={selected.has(t.type)} /> <code>{t.type}</code>
                  </label>
                ))}
              </details>
            );
          })}
        </div>
      </fieldset>
      <fieldset>
        <legend>Payload</legend>
        <label class="check">
          <input type="radio" name="payload" value="full" checked={values.payload === 'full'} /> Full: the record's values
        </label>
        <label class="check">
          <input type="radio" name="payload" value="thin" checked={values.payload === 'thin'} /> Thin: ids, changed field names and a link
          only (no patient data)
        </label>
        <p>
          <label for="fields">Only these fields (full payload; comma-separated, empty for all)</label>
          <input id="fields" name="fields" type="text" value={values.fields} size={60} />
        </p>
      </fieldset>
      <fieldset>
        <legend>Custom headers</legend>
        {values.header_names.length > 0 ? (
          <p class="help">
            Current: {values.header_names.join(', ')} (values hidden). Leave the box empty to keep them; lines you enter replace them all.
          </p>
        ) : null}
        <label for="headers">
          One per line, as <code>Name: value</code>
        </label>
        <textarea id="headers" name="headers" rows={3} cols={60}>
          {values.headers}
        </textarea>
        {values.header_names.length > 0 ? (
          <label class="check">
            <input type="checkbox" name="clear_headers" /> Remove every custom header
          </label>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>Ordering and limits</legend>
        <label class="check">
          <input type="radio" name="ordering" value="none" checked={values.ordering === 'none'} /> No ordering (fastest)
        </label>
        <label class="check">
          <input type="radio" name="ordering" value="per_record" checked={values.ordering === 'per_record'} /> Per record: events of one
          record arrive in order
        </label>
        <p>
          <label for="rate_limit_per_second">Attempts per second (empty: no limit)</label>
          <input
            id="rate_limit_per_second"
            name="rate_limit_per_second"
            type="number"
            min={1}
            max={10000}
            value={values.rate_limit_per_second}
          />
        </p>
        <p>
          <label for="max_in_flight">Attempts in flight at once (empty: the bridge's limit)</label>
          <input id="max_in_flight" name="max_in_flight" type="number" min={1} max={1000} value={values.max_in_flight} />
        </p>
      </fieldset>
      <button type="submit">{submitLabel}</button>
    </form>
  );
}
