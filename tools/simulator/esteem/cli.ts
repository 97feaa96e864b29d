/**
 * Runs a simulated Esteem (Clinic Appointments API) account on its own: `npm run simulator:esteem`.
 * `PORT` (default 4020) picks the port; `SIM_CHURN=1` makes a random change every 3 s.
 * Prints only actions and ids, never patient details.
 */
import { runUntilSignal } from '../cli-run.js';
import { DEFAULT_ESTEEM_TOKEN, EsteemSimulator } from './index.js';

const CHURN_INTERVAL_MS = 3000;
const SEED_APPOINTMENTS = 40;

// The simulator is a dev tool with its own entry point, so it reads its two settings here.
const port = Number(process.env.PORT ?? 4020);
const churn = process.env.SIM_CHURN === '1';

const sim = new EsteemSimulator();
sim.seed(SEED_APPOINTMENTS);
const { baseUrl } = await sim.listen(port);
const today = new Date().toISOString().slice(0, 10);
console.log(`Esteem simulator listening at ${baseUrl}`);
console.log(`User token: ${DEFAULT_ESTEEM_TOKEN} (X-User-Token header)`);
console.log(
  `Try: curl -H 'X-User-Token: ${DEFAULT_ESTEEM_TOKEN}' '${baseUrl}/v1/clinic/appointments/in_date_range?start_date=${today}&end_date=${today}'`,
);

runUntilSignal(sim, churn, CHURN_INTERVAL_MS, () => {
  const { action, id } = sim.randomChange();
  return `${action} appointment ${id}`;
});
