import type { ResourceState } from '../store/schema.js';
import type { Tier } from './scheduler.js';

/** How far a full read (the baseline, or a backfill) has come. */
export interface ReadProgressView {
  phase: 'baseline' | 'backfill';
  status: 'running' | 'done' | 'failed';
  pages_done: number;
  records_done: number;
  /** Records the list reported (`total_entries`); null when the API did not say. */
  total_entries: number | null;
  /** Events emitted (backfill). */
  events: number;
  started_at: string;
}

/** One resource as `GET /v1/sources` shows it. */
export interface ResourceView {
  source: string;
  resource: string;
  state: ResourceState | undefined;
  /**
   * `pending` before the first poll; `backoff` after an error; `forbidden` after a 403 (re-checked
   * hourly); `unauthorized` after a 401 (the source's key or token was refused; retried with backoff).
   */
  status: 'pending' | 'ok' | 'backoff' | 'forbidden' | 'unauthorized';
  backoff_until: string | null;
  tier: Tier | null;
  /** Smoothed time between the starts of its polls. */
  interval_ms: number | null;
  /** What the budget plan aims for. */
  target_interval_ms: number | null;
  next_poll_at: string | null;
  requests_last_minute: number | null;
  progress: ReadProgressView | null;
}

/** A key's budget as `GET /v1/sources` shows it. */
export interface BudgetView {
  source: string;
  limit_per_min: number;
  budget_per_min: number;
  used_last_minute: number;
}
