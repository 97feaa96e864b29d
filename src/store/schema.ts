import type { EventEnvelope } from '../events/envelope.js';
/**
 * The shapes of the bridge's stored state, as every `Store` backend keeps and returns them
 * (src/store/store.ts; the embedded layout is in docs/storage.md).
 * Times are ISO 8601 UTC strings; durations are milliseconds.
 */

/** What an API key may do; the admin token may do everything. */
export const SCOPES = [
  'subscriptions:read',
  'subscriptions:write',
  'events:read',
  'events:write',
  'deliveries:write',
  'sources:read',
  'sources:write',
  'audit:read',
] as const;
export type Scope = (typeof SCOPES)[number];

/** An API key (`POST /v1/api-keys`). The key itself is shown once; only its SHA-256 is kept. */
export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  /** `own`: the key sees and changes only subscriptions it created; `all`: every subscription. */
  subscriptions: 'own' | 'all';
  /** Hex SHA-256 of the key. Keys are 32 random bytes, so a fast hash is enough. */
  hash: string;
  /** The key's first characters, to tell keys apart in lists. */
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

/** Why a subscription is disabled: by an admin, a 410 Gone, or only failures for `BRIDGE_DISABLE_AFTER`. */
export type DisabledReason = 'manual' | 'gone' | 'failing';

/** A URL that receives events. `secret` is `whsec_` + base64 of 24 random bytes (Standard Webhooks). */
export interface Subscription {
  id: string;
  url: string;
  /** `*`, exact types (`contact.updated`) or prefixes (`attendee.*`). */
  event_types: string[];
  description: string | null;
  status: 'active' | 'disabled';
  disabled_reason: DisabledReason | null;
  /**
   * When it was disabled. Events detected while disabled are not queued for it (as with Svix):
   * after re-enabling, `POST /v1/replay { since: disabled_at, subscription_id }` sends that gap.
   */
  disabled_at: string | null;
  /** `hook`: made through `POST /v1/hooks` (Zapier); a 410 from its target removes it. */
  kind: 'subscription' | 'hook';
  secret: string;
  /** Secrets replaced by a rotation, still signed with until `expires_at`. */
  previous_secrets: Array<{ secret: string; expires_at: string }>;
  /** Extra request headers; never override `webhook-*`, `content-type` or `user-agent`. */
  headers: Record<string, string>;
  /** Attempts started per second for this subscription; null = no limit. */
  rate_limit_per_second: number | null;
  /** Attempts in flight at once for this subscription; null = only the global limit. */
  max_in_flight: number | null;
  /** `per_record`: events of one record arrive in detection order (see README). */
  ordering: 'none' | 'per_record';
  /** `full`: record values; `thin`: ids, changed field names and links only (src/delivery/body.ts). */
  payload: 'full' | 'thin';
  /** With `full`, only these record fields (and `id`) are sent; null = all. */
  fields: string[] | null;
  /** Since when every attempt failed (no success since); null when healthy. */
  failing_since: string | null;
  /** The API key that created it; null for the admin token. */
  owner: string | null;
  created_at: string;
  updated_at: string;
}

/** Fills fields added after a store file was written, so older files load unchanged. */
export function withSubscriptionDefaults(s: Partial<Subscription> & Pick<Subscription, 'id' | 'url' | 'secret'>): Subscription {
  return {
    event_types: ['*'],
    description: null,
    status: 'active',
    disabled_reason: null,
    disabled_at: null,
    kind: 'subscription',
    previous_secrets: [],
    headers: {},
    rate_limit_per_second: null,
    max_in_flight: null,
    ordering: 'none',
    payload: 'full',
    fields: null,
    failing_since: null,
    owner: null,
    created_at: new Date(0).toISOString(),
    updated_at: new Date(0).toISOString(),
    ...s,
  };
}

export interface StoredEvent {
  payload: EventEnvelope;
  /** False until the dispatcher created its deliveries; undispatched events are dispatched at startup. */
  dispatched: boolean;
}

/** One HTTP attempt of a delivery. `error` is a class (`timeout`, `connection`, `http_status`, …). */
export interface Attempt {
  id: string;
  attempted_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  /** The sender's explanation of `error` (e.g. `receiver answered 503`); absent on attempts stored by earlier versions. */
  error_message?: string | null;
  /** First 4 KB of the response body, for debugging receivers. */
  response_excerpt: string | null;
  /** Response headers worth keeping (content-type, retry-after, location, date, server, x-request-id). */
  response_headers: Record<string, string>;
  /** Why this attempt ran: on schedule, or asked for (`POST /v1/deliveries/:id/retry`, recover). */
  trigger: 'schedule' | 'manual';
}

/** An event on its way to one subscription. `failed` is the dead letter: retried only by hand. */
export interface Delivery {
  id: string;
  event_id: string;
  subscription_id: string;
  status: 'pending' | 'succeeded' | 'failed';
  /** Why it exists: first dispatch, or a replay asked for through the admin API. */
  trigger: 'dispatch' | 'replay';
  attempt_count: number;
  next_attempt_at: string | null;
  /** Set by a manual retry of a `failed` delivery: one attempt, then `failed` again if it fails. */
  final_attempt: boolean;
  created_at: string;
  updated_at: string;
  attempts: Attempt[];
}

/** The last version of a record the bridge has seen: what the next read is diffed against. */
export interface Snapshot {
  /** The highest server version time (`updated_at`/`deleted_at`) seen for this record. */
  version: string;
  record: Record<string, unknown>;
  /** True when `record` is in hashed form (`BRIDGE_SNAPSHOT_MODE=hashed`): most values are HMACs. */
  hashed?: boolean;
}

/** Per source resource: the feed cursor and what `GET /v1/sources` shows. */
export interface ResourceState {
  cursor: unknown;
  last_poll_at: string | null;
  last_success_at: string | null;
  last_error: { message: string; at: string } | null;
}

/** One admin action, for the audit trail (`GET /v1/audit`). Never holds secrets or record values. */
export interface AuditEntry {
  id: string;
  at: string;
  /** e.g. `subscription.created`, `subscription.secret_rotated`, `event.replayed`. */
  action: string;
  /** Who: the admin token (`admin`), later an API key's name. */
  actor: string;
  /** The `X-Request-Id` of the admin request. */
  request_id: string | null;
  /** The id acted on (subscription, event, delivery), if any. */
  target: string | null;
  details: Record<string, unknown>;
}

/** Everything a store holds, whole: the shape of `LowdbStore.dump()` and of the previous release's files. */
export interface StoreData {
  version: 1;
  subscriptions: Record<string, Subscription>;
  /** Keyed `source:resource`, e.g. `cliniko:patients`. */
  resources: Record<string, ResourceState>;
  /** Keyed `source:resource`, then record id. */
  snapshots: Record<string, Record<string, Snapshot>>;
  /** In detection order (ids are ULIDs, so also sorted by id). */
  events: StoredEvent[];
  deliveries: Record<string, Delivery>;
  /** In time order; retained like events. */
  audit: AuditEntry[];
  api_keys: Record<string, ApiKey>;
}

export function emptyStore(): StoreData {
  return { version: 1, subscriptions: {}, resources: {}, snapshots: {}, events: [], deliveries: {}, audit: [], api_keys: {} };
}
