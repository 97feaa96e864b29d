import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The bridge's Prometheus metrics (`GET /metrics`), in one registry of their own. Labels are
 * low-cardinality by design: source, resource, event type, status class — never ids or URLs.
 */
export const registry = new Registry();

/** A gauge of the registry labelled by `source` and `resource` (e.g. `cliniko`, `patients`). */
function resourceGauge(name: string, help: string): Gauge<'source' | 'resource'> {
  return new Gauge({ name, help, labelNames: ['source', 'resource'] as const, registers: [registry] });
}

export const metrics = {
  polls: new Counter({
    name: 'bridge_polls_total',
    help: 'Resource polls by source, resource and outcome (ok, error).',
    labelNames: ['source', 'resource', 'outcome'] as const,
    registers: [registry],
  }),
  upstreamRequests: new Counter({
    name: 'bridge_upstream_requests_total',
    help: 'Requests to source APIs by source and status (HTTP code, or timeout/network).',
    labelNames: ['source', 'status'] as const,
    registers: [registry],
  }),
  rateLimited: new Counter({
    name: 'bridge_upstream_rate_limited_total',
    help: 'Source API answers 429 by source.',
    labelNames: ['source'] as const,
    registers: [registry],
  }),
  events: new Counter({
    name: 'bridge_events_total',
    help: 'Events detected and stored, by type.',
    labelNames: ['type'] as const,
    registers: [registry],
  }),
  deliveries: new Counter({
    name: 'bridge_delivery_attempts_total',
    help: 'Delivery attempts by outcome: succeeded, retry (will try again), failed (dead letter).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  deliveryLatency: new Histogram({
    name: 'bridge_delivery_latency_seconds',
    help: 'From event detection to the 2xx that delivered it.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1800, 7200, 36000],
    registers: [registry],
  }),
  pendingDeliveries: new Gauge({ name: 'bridge_pending_deliveries', help: 'Deliveries waiting for an attempt.', registers: [registry] }),
  storeCommit: new Histogram({
    name: 'bridge_store_commit_seconds',
    help: 'Duration of a store commit (one fsynced journal line).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  }),
  storeWriteFailures: new Counter({
    name: 'bridge_store_write_failures_total',
    help: 'Store writes (journal lines, checkpoints) that failed, e.g. with the disk full.',
    registers: [registry],
  }),
  liveSince: resourceGauge(
    'bridge_live_since_seconds',
    'UNIX time a resource started live from (changes since are delivered at once), by source and resource.',
  ),
  firstPassRunning: resourceGauge(
    'bridge_first_pass_running',
    '1 while the background first pass of a resource started live is reading existing records, else 0.',
  ),
  firstPassRecordsRead: resourceGauge('bridge_first_pass_records_read', 'Existing records the background first pass has read so far.'),
  firstPassRecordsTotal: resourceGauge(
    'bridge_first_pass_records_estimated_total',
    "Records the first pass expects in all (read so far plus the lists' total_entries left).",
  ),
  firstPassRequestsLeft: resourceGauge('bridge_first_pass_requests_left', 'Requests the background first pass still needs.'),
  firstPassCompletion: resourceGauge(
    'bridge_first_pass_estimated_completion_seconds',
    'UNIX time the first pass should end at the pace of its last minute (its end once done; 0 while unknown).',
  ),
  storeBytes: new Gauge({ name: 'bridge_store_bytes', help: 'Bytes of the store files in BRIDGE_DATA_DIR.', registers: [registry] }),
};
