import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Cron } from 'croner';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { CLINIKO_RESOURCE_PATHS, type ClinikoTier } from '../sources/cliniko/resources.js';
import { hashKeyFrom } from '../poller/hashing.js';
import { didYouMean } from '../util/did-you-mean.js';
import { parseDurationMs } from './duration.js';
import { ConfigError } from './errors.js';

export { ConfigError } from './errors.js';

/** Cliniko source settings; present when `CLINIKO_API_KEY` is set. */
export interface ClinikoConfig {
  apiKey: string;
  userAgent: string;
  /** e.g. `https://api.au2.cliniko.com/v1`; never ends with a slash. */
  baseUrl: string;
  rateLimitPerMin: number;
  /** Percent of `rateLimitPerMin` left unused for the clinic's other tools. */
  headroomPercent: number;
  requestTimeoutMs: number;
  perPage: number;
  /** How far before the cursor each incremental poll starts (late commits, same-second writes). */
  overlapMs: number;
  /** Scheduling tier of every resource path (`warm` for one no tier list names). */
  tiers: Record<string, ClinikoTier>;
}

/** Esteem (Clinic Appointments API) source settings; present when `ESTEEM_USER_TOKEN` is set. */
export interface EsteemConfig {
  userToken: string;
  /** e.g. `https://api.example-clinic.com`, no trailing slash; paths start with `/v1/clinic/…`. */
  baseUrl: string;
  /** The rolling window re-read each poll: from `now - beforeMs` to `now + afterMs`. */
  window: { beforeMs: number; afterMs: number };
  pollCron: string;
  requestTimeoutMs: number;
}

/** The validated configuration every module receives; durations are milliseconds. */
export interface Config {
  /** Null when Cliniko is not configured (no Cliniko poller runs). */
  cliniko: ClinikoConfig | null;
  /** Null when Esteem is not configured. */
  esteem: EsteemConfig | null;
  bridge: {
    adminToken: string;
    dataDir: string;
    pollCron: string;
    resources: string[];
    /** Delays after the first attempt, one per retry. */
    retryScheduleMs: number[];
    deliveryTimeoutMs: number;
    deliveryConcurrency: number;
    /** A subscription whose deliveries only failed for this long is disabled. */
    disableAfterMs: number;
    allowPrivateUrls: boolean;
    /** Delivered events older than this many days, and their attempts, are dropped by compaction. */
    retentionDays: number;
    /** How often changed store parts are checkpointed from the journal into part files. */
    checkpointIntervalMs: number;
    /** 32-byte AES-256-GCM key for the store files, when set. */
    encryptionKey: Buffer | null;
    /** `hashed`: snapshots keep an HMAC per field, and this is its key; null = full snapshots. */
    snapshotHashKey: Buffer | null;
    /** CIDR ranges subscriber URLs may resolve to although not public. */
    allowedCidrs: string[];
    httpsOnly: boolean;
    backfill: boolean;
    /** A resource whose last successful poll is older than this starts live and re-baselines in the background. */
    maxCatchUpMs: number;
    /** The PostgreSQL store (`BRIDGE_DATABASE_URL`, `BRIDGE_DATABASE_SCHEMA`); null = the embedded store in `dataDir`. */
    database: { url: string; schema: string } | null;
    /** This process among several sharing one database (`BRIDGE_INSTANCE_ID`, default `host:pid`). */
    instanceId: string;
  };
  /** `rateLimitPerMin`: admin API requests per minute per token or API key. */
  http: { host: string; port: number; rateLimitPerMin: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

type Env = Record<string, string | undefined>;

const DEFAULTS_URL = new URL('../../config/default.json', import.meta.url);

const duration = (what: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be a duration like 500ms, 15s, 5m, 2h or 5d (${what})` });
      return z.NEVER;
    }
    return ms;
  });

const wholeNumber = (min: number, max: number) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

/** `true`/`1` or `false`/`0`, nothing else: `yes`, `on` or `ture` are refused rather than guessed. */
const bool = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  if (/^(true|1)$/i.test(v.trim())) return true;
  if (/^(false|0)$/i.test(v.trim())) return false;
  ctx.addIssue({ code: 'custom', message: 'must be true or false (or 1 or 0)' });
  return z.NEVER;
});

const list = <T>(item: z.ZodType<T, string>) =>
  z
    .union([z.array(z.string()), z.string()])
    .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item).min(1, 'must list at least one value'));

const required = (expect: string) =>
  z
    .string({ error: `is required: ${expect}` })
    .trim()
    .min(1, `is required: ${expect}`);
/** Set only for some setups; whether it is needed is decided after parsing (see `loadConfig`). */
const optionalText = z.string().trim().optional();

const cronPattern = z.string().refine(
  (pattern) => {
    try {
      new Cron(pattern, { paused: true }).stop();
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be a croner pattern, e.g. "*/15 * * * * *" (seconds field allowed)' },
);

const WINDOW = /^-(\d+(?:ms|s|m|h|d))\.\.\+(\d+(?:ms|s|m|h|d))$/;
const window = z.string().transform((text, ctx) => {
  const m = WINDOW.exec(text.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'must look like -7d..+90d (how far back and ahead of now to read)' });
    return z.NEVER;
  }
  return { beforeMs: parseDurationMs(m[1]!)!, afterMs: parseDurationMs(m[2]!)! };
});

/** A 32-byte key written as base64; absent means the feature is off. */
const key32 = (hint: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return null;
      const bytes = Buffer.from(v.trim(), 'base64');
      if (bytes.length !== 32 || bytes.toString('base64') !== v.trim()) {
        ctx.addIssue({ code: 'custom', message: `must be 32 bytes written as base64 (${hint})` });
        return z.NEVER;
      }
      return bytes;
    });

const USER_AGENT = /^.+ \([^\s@()]+@[^\s@()]+\.[^\s@()]+\)$/;

const resourcePathsText = CLINIKO_RESOURCE_PATHS.join(', ');

/** Cliniko resource paths, or `all` (every supported resource). */
const resourceList = (allowAll: boolean) =>
  z.union([z.array(z.string()), z.string()]).transform((v, ctx) => {
    const items = (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter(Boolean);
    if (allowAll && items.length === 1 && (items[0] === 'all' || items[0] === '*')) return [...CLINIKO_RESOURCE_PATHS];
    const unknown = items.find((r) => !(CLINIKO_RESOURCE_PATHS as readonly string[]).includes(r));
    if (unknown !== undefined || (allowAll && items.length === 0)) {
      ctx.addIssue({ code: 'custom', message: `must be ${allowAll ? '"all" or ' : ''}a comma list of: ${resourcePathsText}` });
      return z.NEVER;
    }
    return items;
  });

/**
 * One row per setting: the environment variable that overrides it, where its default lives in
 * `config/default.json`, and how it is validated. The README's configuration table mirrors this.
 */
const SETTINGS = {
  CLINIKO_API_KEY: { path: 'cliniko.apiKey', schema: optionalText },
  CLINIKO_USER_AGENT: {
    path: 'cliniko.userAgent',
    schema: optionalText.refine((v) => v === undefined || USER_AGENT.test(v), {
      message: 'must look like "Vendor name (contact@example.com)" — Cliniko may block requests without a vendor name and email',
    }),
  },
  CLINIKO_BASE_URL: {
    path: 'cliniko.baseUrl',
    schema: z.string().url('must be an absolute http(s) URL such as https://api.au1.cliniko.com (`/v1` is added when missing)').optional(),
  },
  CLINIKO_RATE_LIMIT_PER_MIN: { path: 'cliniko.rateLimitPerMin', schema: wholeNumber(1, 10_000) },
  CLINIKO_RATE_LIMIT_HEADROOM: { path: 'cliniko.rateLimitHeadroomPercent', schema: wholeNumber(0, 90) },
  CLINIKO_TIER_HOT: { path: 'cliniko.tiers.hot', schema: resourceList(false) },
  CLINIKO_TIER_WARM: { path: 'cliniko.tiers.warm', schema: resourceList(false) },
  CLINIKO_TIER_COLD: { path: 'cliniko.tiers.cold', schema: resourceList(false) },
  CLINIKO_REQUEST_TIMEOUT: { path: 'cliniko.requestTimeout', schema: duration('per upstream request') },
  CLINIKO_PER_PAGE: { path: 'cliniko.perPage', schema: wholeNumber(1, 100) },
  CLINIKO_POLL_OVERLAP: { path: 'cliniko.overlap', schema: duration('lookback before the cursor') },
  BRIDGE_ADMIN_TOKEN: {
    path: 'bridge.adminToken',
    schema: required('a bearer token of at least 16 characters for the admin API, e.g. `openssl rand -hex 24`').refine(
      (v) => v.length >= 16,
      { message: 'must be at least 16 characters (try `openssl rand -hex 24`)' },
    ),
  },
  BRIDGE_DATA_DIR: { path: 'bridge.dataDir', schema: z.string().min(1, 'must be a directory path') },
  ESTEEM_USER_TOKEN: { path: 'esteem.userToken', schema: optionalText },
  ESTEEM_BASE_URL: {
    path: 'esteem.baseUrl',
    schema: z.string().url('must be an absolute http(s) URL such as https://api.example.com').optional(),
  },
  ESTEEM_WINDOW: { path: 'esteem.window', schema: window },
  ESTEEM_POLL_CRON: { path: 'esteem.pollCron', schema: cronPattern },
  ESTEEM_REQUEST_TIMEOUT: { path: 'esteem.requestTimeout', schema: duration('per upstream request') },
  BRIDGE_POLL_CRON: { path: 'bridge.pollCron', schema: cronPattern },
  BRIDGE_RESOURCES: { path: 'bridge.resources', schema: resourceList(true) },
  BRIDGE_RETRY_SCHEDULE: { path: 'bridge.retrySchedule', schema: list(duration('comma list, e.g. 5s,5m,30m,2h')) },
  BRIDGE_DELIVERY_TIMEOUT: { path: 'bridge.deliveryTimeout', schema: duration('per delivery attempt') },
  BRIDGE_DELIVERY_CONCURRENCY: { path: 'bridge.deliveryConcurrency', schema: wholeNumber(1, 1000) },
  BRIDGE_DISABLE_AFTER: { path: 'bridge.disableAfter', schema: duration('failing time before a subscription is disabled') },
  BRIDGE_ALLOW_PRIVATE_URLS: { path: 'bridge.allowPrivateUrls', schema: bool },
  BRIDGE_ALLOWED_CIDRS: {
    path: 'bridge.allowedCidrs',
    schema: z
      .union([z.array(z.string()), z.string()])
      .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter(Boolean))
      .pipe(
        z.array(
          z.string().refine((c) => {
            try {
              ipaddr.parseCIDR(c);
              return true;
            } catch {
              return false;
            }
          }, 'must be a comma list of CIDR ranges such as 10.20.0.0/16,fd00::/8'),
        ),
      ),
  },
  BRIDGE_HTTPS_ONLY: { path: 'bridge.httpsOnly', schema: bool },
  BRIDGE_RETENTION_DAYS: { path: 'bridge.retentionDays', schema: wholeNumber(1, 3650) },
  BRIDGE_CHECKPOINT_INTERVAL: { path: 'bridge.checkpointInterval', schema: duration('how often the journal is folded into part files') },
  BRIDGE_ENCRYPTION_KEY: { path: 'bridge.encryptionKey', schema: key32('generate one with `openssl rand -base64 32`') },
  BRIDGE_SNAPSHOT_MODE: {
    path: 'bridge.snapshotMode',
    schema: z.enum(['full', 'hashed'], { error: 'must be full (old values kept, for previous_attributes) or hashed (an HMAC per field)' }),
  },
  BRIDGE_HASH_KEY: { path: 'bridge.hashKey', schema: key32('generate one with `openssl rand -base64 32`, or set BRIDGE_ENCRYPTION_KEY') },
  BRIDGE_BACKFILL: { path: 'bridge.backfill', schema: bool },
  BRIDGE_MAX_CATCH_UP: {
    path: 'bridge.maxCatchUp',
    schema: duration('a last poll older than this re-baselines in the background instead of catching up'),
  },
  BRIDGE_DATABASE_URL: {
    path: 'bridge.databaseUrl',
    schema: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\/./.test(v), {
      message:
        'must be a PostgreSQL URL such as postgres://bridge:password@db.internal:5432/bridge (unset: the embedded store in BRIDGE_DATA_DIR)',
    }),
  },
  BRIDGE_DATABASE_SCHEMA: {
    path: 'bridge.databaseSchema',
    schema: z
      .string()
      .trim()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case schema name (letters, digits, _), e.g. bridge')
      .default('public'),
  },
  BRIDGE_INSTANCE_ID: { path: 'bridge.instanceId', schema: optionalText },
  BRIDGE_ADMIN_RATE_LIMIT_PER_MIN: { path: 'http.rateLimitPerMin', schema: wholeNumber(1, 1_000_000) },
  HOST: { path: 'http.host', schema: z.string().min(1, 'must be a host name or address') },
  PORT: { path: 'http.port', schema: wholeNumber(0, 65_535) },
  LOG_LEVEL: {
    path: 'log.level',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    }),
  },
} as const satisfies Record<string, { path: string; schema: z.ZodType<unknown> }>;

/** The environment variables the bridge reads, in the order the README documents them. */
export const CONFIG_VARIABLES = Object.keys(SETTINGS) as (keyof typeof SETTINGS)[];

/**
 * Variables with the bridge's prefixes that other entry points read: `npm run store -- rekey`, and
 * the test suite (`BRIDGE_REQUIRE_BROWSER`, README "Development").
 */
const OTHER_VARIABLES = ['BRIDGE_NEW_ENCRYPTION_KEY', 'BRIDGE_REQUIRE_BROWSER'] as const;
const PREFIXED = /^(BRIDGE|CLINIKO|ESTEEM)_/;

/**
 * Warnings about the environment that do not stop startup: a `BRIDGE_*`, `CLINIKO_*` or `ESTEEM_*`
 * variable the bridge does not read, with the variable it probably meant, e.g.
 * `BRIDGE_ALOWED_CIDRS is not a setting the bridge reads (did you mean BRIDGE_ALLOWED_CIDRS?); it is ignored`.
 * @param env usually `process.env`
 */
export function configWarnings(env: Env): string[] {
  const known: string[] = [...CONFIG_VARIABLES, ...OTHER_VARIABLES];
  return Object.keys(env)
    .filter((name) => PREFIXED.test(name) && !known.includes(name))
    .sort()
    .map((name) => {
      const guess = didYouMean(name, known);
      return `${name} is not a setting the bridge reads${guess ? ` (did you mean ${guess}?)` : ''}; it is ignored`;
    });
}

function readPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

/**
 * The Cliniko base URL for an API key: the shard is the suffix after the last hyphen
 * (`…-au2` → `https://api.au2.cliniko.com/v1`), `au1` when there is none
 * (https://docs.api.cliniko.com/, "Authentication").
 */
export function clinikoBaseUrlForKey(apiKey: string): string {
  const suffix = /-([a-z]{2}\d{1,2})$/.exec(apiKey)?.[1];
  return `https://api.${suffix ?? 'au1'}.cliniko.com/v1`;
}

/**
 * `CLINIKO_BASE_URL` as the API root every path is appended to: with or without the trailing `/v1`
 * (`http://127.0.0.1:4010` and `http://127.0.0.1:4010/v1/` both give `http://127.0.0.1:4010/v1`),
 * since without it every list request would 404.
 */
export function clinikoApiRoot(baseUrl: string): string {
  const trimmed = baseUrl.trim().replace(/\/+$/, '');
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}

/**
 * Each resource path's tier: the hottest list naming it (so `CLINIKO_TIER_HOT=contacts` promotes
 * contacts without editing the warm list), `warm` when no list does.
 */
function tiersOf(hot: readonly string[], warm: readonly string[], cold: readonly string[]): Record<string, ClinikoTier> {
  const tiers: Record<string, ClinikoTier> = {};
  for (const path of CLINIKO_RESOURCE_PATHS) {
    tiers[path] = hot.includes(path) ? 'hot' : warm.includes(path) ? 'warm' : cold.includes(path) ? 'cold' : 'warm';
  }
  return tiers;
}

/**
 * Reads `config/default.json`, applies environment overrides and validates everything at once.
 * @param env usually `process.env`; empty strings count as unset.
 * @throws ConfigError naming each invalid or missing variable and what it expects.
 */
export function loadConfig(env: Env): Config {
  const defaults: unknown = JSON.parse(readFileSync(DEFAULTS_URL, 'utf8'));
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const name of CONFIG_VARIABLES) {
    const { path, schema } = SETTINGS[name];
    const fromEnv = env[name]?.trim() ? env[name] : undefined;
    // `null` in default.json means "no default": the same as unset.
    const raw = fromEnv ?? readPath(defaults, path) ?? undefined;
    const parsed = (schema as z.ZodType<unknown>).safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      // Only a real default is worth pointing at; a missing value is simply missing.
      const where = fromEnv === undefined && raw !== undefined ? ` (default from config/default.json ${path})` : '';
      const got = fromEnv === undefined ? '' : ` (got ${JSON.stringify(fromEnv)})`;
      problems.push(`${name} ${parsed.error.issues[0]?.message ?? 'is invalid'}${got}${where}`);
    }
  }
  const v = values as { [K in keyof typeof SETTINGS]: z.output<(typeof SETTINGS)[K]['schema']> };
  // Which sources run depends on which credentials are set; at least one must be. Checked in the
  // same pass (on what parsed) so every problem is reported at once.
  {
    // (`in values`: a value that failed to parse is already reported.)
    if (v.CLINIKO_API_KEY && !v.CLINIKO_USER_AGENT && 'CLINIKO_USER_AGENT' in values) {
      problems.push('CLINIKO_USER_AGENT is required when CLINIKO_API_KEY is set: "Vendor name (contact@email)", sent as User-Agent');
    }
    if (v.ESTEEM_USER_TOKEN && !v.ESTEEM_BASE_URL && 'ESTEEM_BASE_URL' in values) {
      problems.push('ESTEEM_BASE_URL is required when ESTEEM_USER_TOKEN is set: the API origin, e.g. https://api.example.com');
    }
    if (v.BRIDGE_SNAPSHOT_MODE === 'hashed' && !v.BRIDGE_HASH_KEY && !v.BRIDGE_ENCRYPTION_KEY) {
      problems.push(
        'BRIDGE_SNAPSHOT_MODE=hashed needs BRIDGE_HASH_KEY (32 bytes, base64: `openssl rand -base64 32`) or BRIDGE_ENCRYPTION_KEY to derive it from',
      );
    }
    if (!v.CLINIKO_API_KEY && !v.ESTEEM_USER_TOKEN) {
      problems.push(
        'CLINIKO_API_KEY is required (with CLINIKO_USER_AGENT), or ESTEEM_USER_TOKEN (with ESTEEM_BASE_URL): ' +
          'no source is configured. Try `npm run demo` to see the bridge without an account.',
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    cliniko: v.CLINIKO_API_KEY
      ? {
          apiKey: v.CLINIKO_API_KEY,
          userAgent: v.CLINIKO_USER_AGENT!,
          baseUrl: v.CLINIKO_BASE_URL ? clinikoApiRoot(v.CLINIKO_BASE_URL) : clinikoBaseUrlForKey(v.CLINIKO_API_KEY),
          rateLimitPerMin: v.CLINIKO_RATE_LIMIT_PER_MIN,
          headroomPercent: v.CLINIKO_RATE_LIMIT_HEADROOM,
          requestTimeoutMs: v.CLINIKO_REQUEST_TIMEOUT,
          perPage: v.CLINIKO_PER_PAGE,
          overlapMs: v.CLINIKO_POLL_OVERLAP,
          tiers: tiersOf(v.CLINIKO_TIER_HOT, v.CLINIKO_TIER_WARM, v.CLINIKO_TIER_COLD),
        }
      : null,
    esteem: v.ESTEEM_USER_TOKEN
      ? {
          userToken: v.ESTEEM_USER_TOKEN,
          baseUrl: v.ESTEEM_BASE_URL!.replace(/\/+$/, ''),
          window: v.ESTEEM_WINDOW,
          pollCron: v.ESTEEM_POLL_CRON,
          requestTimeoutMs: v.ESTEEM_REQUEST_TIMEOUT,
        }
      : null,
    bridge: {
      adminToken: v.BRIDGE_ADMIN_TOKEN,
      dataDir: v.BRIDGE_DATA_DIR,
      pollCron: v.BRIDGE_POLL_CRON,
      resources: v.BRIDGE_RESOURCES as string[],
      retryScheduleMs: v.BRIDGE_RETRY_SCHEDULE as number[],
      deliveryTimeoutMs: v.BRIDGE_DELIVERY_TIMEOUT,
      deliveryConcurrency: v.BRIDGE_DELIVERY_CONCURRENCY,
      disableAfterMs: v.BRIDGE_DISABLE_AFTER,
      allowPrivateUrls: v.BRIDGE_ALLOW_PRIVATE_URLS,
      allowedCidrs: v.BRIDGE_ALLOWED_CIDRS,
      httpsOnly: v.BRIDGE_HTTPS_ONLY,
      retentionDays: v.BRIDGE_RETENTION_DAYS,
      checkpointIntervalMs: v.BRIDGE_CHECKPOINT_INTERVAL,
      encryptionKey: v.BRIDGE_ENCRYPTION_KEY,
      snapshotHashKey:
        v.BRIDGE_SNAPSHOT_MODE === 'hashed'
          ? (v.BRIDGE_HASH_KEY ?? (v.BRIDGE_ENCRYPTION_KEY ? hashKeyFrom(v.BRIDGE_ENCRYPTION_KEY) : null))
          : null,
      backfill: v.BRIDGE_BACKFILL,
      maxCatchUpMs: v.BRIDGE_MAX_CATCH_UP,
      database: v.BRIDGE_DATABASE_URL ? { url: v.BRIDGE_DATABASE_URL, schema: v.BRIDGE_DATABASE_SCHEMA } : null,
      instanceId: v.BRIDGE_INSTANCE_ID ?? `${hostname()}:${process.pid}`,
    },
    http: { host: v.HOST, port: v.PORT, rateLimitPerMin: v.BRIDGE_ADMIN_RATE_LIMIT_PER_MIN },
    log: { level: v.LOG_LEVEL },
  };
}
