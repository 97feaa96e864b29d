import { describe, expect, it } from 'vitest';
import { ConfigError, clinikoBaseUrlForKey, configWarnings, loadConfig } from '../src/config/index.js';
import { CLINIKO_RESOURCE_PATHS } from '../src/sources/cliniko/resources.js';

const valid = {
  CLINIKO_API_KEY: 'MS0xLWFiY2RlZmc-uk2',
  CLINIKO_USER_AGENT: 'Acme Bridge (ops@acme.example)',
  BRIDGE_ADMIN_TOKEN: 'a-token-of-at-least-16-chars',
};

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('applies config/default.json and derives the shard URL from the key', () => {
    const config = loadConfig(valid);
    expect(config.cliniko!.baseUrl).toBe('https://api.uk2.cliniko.com/v1');
    expect(config.cliniko!.rateLimitPerMin).toBe(200);
    expect(config.bridge.pollCron).toBe('*/15 * * * * *');
    expect(config.bridge.retryScheduleMs).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(config.bridge.deliveryTimeoutMs).toBe(15_000);
    expect(config.http).toEqual({ host: '127.0.0.1', port: 3000, rateLimitPerMin: 600 });
    expect(config.bridge.resources).toEqual(CLINIKO_RESOURCE_PATHS);
  });

  it('uses au1 for a key without a shard suffix', () => {
    expect(clinikoBaseUrlForKey('MS0xLWFiY2RlZmc')).toBe('https://api.au1.cliniko.com/v1');
    expect(clinikoBaseUrlForKey('abc-ca1')).toBe('https://api.ca1.cliniko.com/v1');
  });

  it('accepts CLINIKO_BASE_URL with or without /v1', () => {
    for (const url of ['http://127.0.0.1:4010', 'http://127.0.0.1:4010/', 'http://127.0.0.1:4010/v1', 'http://127.0.0.1:4010/v1/']) {
      expect(loadConfig({ ...valid, CLINIKO_BASE_URL: url }).cliniko!.baseUrl).toBe('http://127.0.0.1:4010/v1');
    }
    expect(loadConfig({ ...valid, CLINIKO_BASE_URL: 'https://proxy.example/cliniko' }).cliniko!.baseUrl).toBe(
      'https://proxy.example/cliniko/v1',
    );
  });

  it('accepts only true/false/1/0 for booleans', () => {
    for (const [text, value] of [
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ] as const) {
      expect(loadConfig({ ...valid, BRIDGE_HTTPS_ONLY: text }).bridge.httpsOnly).toBe(value);
    }
  });

  it('warns about a misspelt BRIDGE_/CLINIKO_/ESTEEM_ variable, suggesting the one it probably meant', () => {
    const warnings = configWarnings({
      ...valid,
      BRIDGE_ALOWED_CIDRS: '127.0.0.1/32',
      CLINIKO_APIKEY: 'x',
      ESTEEM_TOKEN_FILE: 'x',
      HOME: '/root',
      BRIDGE_NEW_ENCRYPTION_KEY: 'k',
    });
    expect(warnings).toEqual([
      'BRIDGE_ALOWED_CIDRS is not a setting the bridge reads (did you mean BRIDGE_ALLOWED_CIDRS?); it is ignored',
      'CLINIKO_APIKEY is not a setting the bridge reads (did you mean CLINIKO_API_KEY?); it is ignored',
      'ESTEEM_TOKEN_FILE is not a setting the bridge reads; it is ignored',
    ]);
    expect(configWarnings(valid)).toEqual([]);
  });

  it('lets the environment override every kind of value', () => {
    const config = loadConfig({
      ...valid,
      CLINIKO_BASE_URL: 'http://127.0.0.1:4010/v1/',
      BRIDGE_RETRY_SCHEDULE: '500ms, 2s',
      BRIDGE_RESOURCES: 'patients,attendees',
      BRIDGE_ALLOW_PRIVATE_URLS: 'true',
      PORT: '0',
      BRIDGE_POLL_CRON: '*/2 * * * * *',
    });
    expect(config.cliniko!.baseUrl).toBe('http://127.0.0.1:4010/v1');
    expect(config.bridge.retryScheduleMs).toEqual([500, 2000]);
    expect(config.bridge.resources).toEqual(['patients', 'attendees']);
    expect(config.bridge.allowPrivateUrls).toBe(true);
    expect(config.http.port).toBe(0);
  });

  it('names every missing required variable and what to put there', () => {
    const message = problems({});
    expect(message).toContain('BRIDGE_ADMIN_TOKEN is required');
    expect(problems({ BRIDGE_ADMIN_TOKEN: valid.BRIDGE_ADMIN_TOKEN })).toContain(
      'CLINIKO_API_KEY is required (with CLINIKO_USER_AGENT), or ESTEEM_USER_TOKEN',
    );
    expect(problems({ ...valid, CLINIKO_USER_AGENT: '' })).toContain('CLINIKO_USER_AGENT is required when CLINIKO_API_KEY is set');
    expect(problems({ BRIDGE_ADMIN_TOKEN: valid.BRIDGE_ADMIN_TOKEN, ESTEEM_USER_TOKEN: 'tok' })).toContain(
      'ESTEEM_BASE_URL is required when ESTEEM_USER_TOKEN is set',
    );
  });

  it('runs each source whose credentials are set: Esteem alone needs no Cliniko variable', () => {
    const esteemOnly = loadConfig({
      BRIDGE_ADMIN_TOKEN: valid.BRIDGE_ADMIN_TOKEN,
      ESTEEM_USER_TOKEN: 'tok',
      ESTEEM_BASE_URL: 'http://127.0.0.1:4020/',
    });
    expect(esteemOnly.cliniko).toBeNull();
    expect(esteemOnly.esteem).toMatchObject({
      userToken: 'tok',
      baseUrl: 'http://127.0.0.1:4020',
      window: { beforeMs: 7 * 86_400_000, afterMs: 90 * 86_400_000 },
    });
    expect(loadConfig(valid).esteem).toBeNull();
    expect(problems({ ...valid, ESTEEM_WINDOW: '7d..90d' })).toContain('ESTEEM_WINDOW must look like -7d..+90d');
  });

  it.each([
    ['CLINIKO_RATE_LIMIT_PER_MIN', 'fast', 'must be a whole number from 1 to 10000'],
    ['BRIDGE_RETRY_SCHEDULE', '5s,5 minutes', 'must be a duration like 500ms, 15s, 5m, 2h or 5d'],
    ['BRIDGE_DELIVERY_TIMEOUT', '15', 'must be a duration'],
    ['BRIDGE_RESOURCES', 'patients,widgets', 'must be "all" or a comma list of: patients'],
    ['BRIDGE_POLL_CRON', 'every minute', 'must be a croner pattern'],
    ['BRIDGE_ALLOW_PRIVATE_URLS', 'maybe', 'must be true or false'],
    ['BRIDGE_HTTPS_ONLY', 'yes', 'must be true or false (or 1 or 0)'],
    ['BRIDGE_BACKFILL', 'on', 'must be true or false (or 1 or 0)'],
    ['BRIDGE_ADMIN_TOKEN', 'short', 'at least 16 characters'],
    ['CLINIKO_USER_AGENT', 'curl/8', 'must look like "Vendor name (contact@example.com)"'],
    ['CLINIKO_BASE_URL', 'not a url', 'must be an absolute http(s) URL'],
    ['LOG_LEVEL', 'loud', 'must be one of'],
    ['PORT', '70000', 'from 0 to 65535'],
    ['BRIDGE_ENCRYPTION_KEY', 'c2hvcnQ=', 'must be 32 bytes written as base64'],
    ['BRIDGE_RETENTION_DAYS', '0', 'from 1 to 3650'],
    ['BRIDGE_SNAPSHOT_MODE', 'partial', 'must be full'],
  ])('rejects %s=%s naming the variable, the value and what is expected', (name, value, expected) => {
    const message = problems({ ...valid, [name]: value });
    expect(message).toContain(`${name} `);
    expect(message).toContain(expected);
    expect(message).toContain(JSON.stringify(value));
  });

  it('needs a key for hashed snapshots, and derives one from the encryption key', () => {
    expect(problems({ ...valid, BRIDGE_SNAPSHOT_MODE: 'hashed' })).toContain('BRIDGE_SNAPSHOT_MODE=hashed needs BRIDGE_HASH_KEY');
    const derived = loadConfig({ ...valid, BRIDGE_SNAPSHOT_MODE: 'hashed', BRIDGE_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(derived.bridge.snapshotHashKey).toHaveLength(32);
    expect(loadConfig(valid).bridge.snapshotHashKey).toBeNull();
  });
});
