import { ClinikoSimulator } from '../tools/simulator/index.js';

/** A seeded Cliniko simulator in its own process, so benchmarks measure the bridge's CPU alone. */
const count = Number(process.argv[2] ?? 1000);
const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
sim.seed({ patients: count });
const { baseUrl } = await sim.listen();
process.stdout.write(`${JSON.stringify({ baseUrl })}\n`);
// The bench asks how many requests were served (over IPC) to count requests per cycle.
process.on('message', () => process.send?.(sim.served.length));
process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
