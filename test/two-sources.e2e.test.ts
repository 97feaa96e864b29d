import { afterEach, describe, expect, it } from 'vitest';
import { EsteemSimulator } from '../tools/simulator/esteem/index.js';
import { Harness, waitFor } from './helpers/harness.js';

describe('Cliniko and Esteem in one bridge', () => {
  let h: Harness;
  let esteem: EsteemSimulator;
  afterEach(async () => {
    await h?.close();
    await esteem?.close();
  });

  it('reports a rejected Esteem token in GET /v1/sources while Cliniko keeps delivering', async () => {
    esteem = new EsteemSimulator({ userToken: 'the-right-token' });
    const { baseUrl } = await esteem.listen();
    h = await Harness.create({
      seed: { contacts: 2 },
      env: { BRIDGE_RESOURCES: 'contacts', ESTEEM_USER_TOKEN: 'the-right-token', ESTEEM_BASE_URL: baseUrl },
    });
    // Revoked after start (a wrong token at start stops startup: test/credentials.e2e.test.ts).
    esteem.userToken = 'rotated-by-the-clinic';
    await h.subscribe(['*']);
    await h.poll();
    await h.poll();
    const sources = (await h.api('GET', '/v1/sources')).json.data as Array<{
      source: string;
      status: string;
      last_error: { message: string } | null;
    }>;
    expect(sources.map((s) => s.source).sort()).toEqual(['cliniko', 'esteem']);
    expect(sources.find((s) => s.source === 'esteem')!.status).toBe('unauthorized');
    expect(sources.find((s) => s.source === 'esteem')!.last_error!.message).toMatch(/401/);
    expect(sources.find((s) => s.source === 'cliniko')!.last_error).toBeNull();

    h.sim.update('contacts', h.sim.all('contacts')[0]!.id, { notes: 'still flowing' });
    await h.poll();
    const got = await waitFor(() => h.receiver.received[0]);
    expect(got.verified).toBe(true);
    expect(got.payload).toMatchObject({ type: 'contact.updated', data: { source: 'cliniko' } });
  });
});
