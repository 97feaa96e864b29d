import { parseArgs } from 'node:util';
import { ClinikoSimulator, type SimResource } from '../tools/simulator/index.js';

/**
 * A Cliniko simulator in its own process, so benchmarks measure the bridge's CPU alone.
 *
 * `sim-server.ts <count>` seeds `count` stored patients (rate limit off).
 * `sim-server.ts <count> --generated individual_appointments [--rate-limit N]` serves `count`
 * records of that resource generated on demand (a 1M-record clinic without holding its records),
 * with the simulator's per-key limit at N requests/min (0, the default, turns it off).
 *
 * Prints `{ baseUrl }` as its first line. Over IPC it answers `'count'` with the requests served
 * so far, `'cpu'` with its own CPU time (ms), and `{ change: n }` by updating `n` generated records
 * (spread over the account) and answering with their ids.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { generated: { type: 'string' }, 'rate-limit': { type: 'string', default: '0' } },
});
const count = Number(positionals[0] ?? 1000);
const resource = values.generated as SimResource | undefined;
const sim = new ClinikoSimulator({
  rateLimitPerMin: Number(values['rate-limit']),
  ...(resource ? { generated: { resource, count } } : {}),
});
if (!resource) sim.seed({ patients: count });
const { baseUrl } = await sim.listen();
process.stdout.write(`${JSON.stringify({ baseUrl })}\n`);

process.on('message', (message: unknown) => {
  if (message === 'count') process.send?.(sim.served.length);
  else if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send?.((user + system) / 1000);
  } else if (typeof message === 'object' && message !== null && 'change' in message && sim.generated) {
    const n = Number((message as { change: number }).change);
    const ids = Array.from({ length: n }, (_, k) => {
      const id = sim.generated!.idAt(Math.floor(((k + 0.5) * count) / n));
      return sim.update(sim.generated!.resource, id, { notes: `Changed by the bench (${k})` }).id;
    });
    process.send?.(ids);
  }
});
process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
