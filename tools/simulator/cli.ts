/**
 * Runs a simulated Cliniko account for manual use and the demo: `npm run simulator`.
 * `PORT` (default 4010) picks the port; `SIM_CHURN=1` makes a random change every 3 s.
 * Prints only actions, resources and ids, never patient details.
 */
import { runUntilSignal } from './cli-run.js';
import { ClinikoSimulator, DEFAULT_API_KEY } from './index.js';

const CHURN_INTERVAL_MS = 3000;
const SEED_COUNTS = {
  users: 4,
  businesses: 1,
  taxes: 2,
  billable_items: 4,
  appointment_types: 4,
  practitioners: 3,
  concession_types: 2,
  concession_prices: 3,
  products: 4,
  referral_source_types: 4,
  services: 4,
  daily_availabilities: 10,
  availability_blocks: 3,
  patients: 50,
  contacts: 20,
  relationships: 3,
  patient_cases: 5,
  medical_alerts: 8,
  individual_appointments: 40,
  group_appointments: 5,
  unavailable_blocks: 6,
  attendees: 20,
  invoices: 30,
  invoice_items: 40,
  treatment_notes: 25,
  patient_forms: 10,
  patient_attachments: 6,
  communications: 30,
  stock_adjustments: 8,
} as const;

// The simulator is a dev tool with its own entry point, so it reads its two settings here.
const port = Number(process.env.PORT ?? 4010);
const churn = process.env.SIM_CHURN === '1';

const sim = new ClinikoSimulator();
sim.seed(SEED_COUNTS);
const { baseUrl } = await sim.listen(port);
console.log(`Cliniko simulator listening at ${baseUrl}`);
console.log(`API key: ${DEFAULT_API_KEY} (Basic auth username, empty password)`);
console.log(`Try: curl -u ${DEFAULT_API_KEY}: -H 'User-Agent: Demo (demo@example.com)' ${baseUrl}/patients`);

runUntilSignal(sim, churn, CHURN_INTERVAL_MS, () => {
  const { action, resource, id } = sim.randomChange();
  return `${action} ${resource} ${id}`;
});
