/** What a simulator's command line needs of it. */
export interface RunnableSimulator {
  close(): Promise<void>;
}

/**
 * The shared tail of `npm run simulator` and `npm run simulator:esteem`: with `churn`, one random
 * change every `intervalMs` (`change` returns the line to print, never patient details); on SIGINT
 * or SIGTERM, stops the churn, closes the simulator and exits.
 */
export function runUntilSignal(sim: RunnableSimulator, churn: boolean, intervalMs: number, change: () => string): void {
  const timer = churn ? setInterval(() => console.log(`${new Date().toISOString()} ${change()}`), intervalMs) : undefined;
  if (churn) console.log(`Churn on: one random change every ${intervalMs / 1000} s`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    clearInterval(timer);
    await sim.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
