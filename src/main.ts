import { startBridge } from './bridge.js';
import { ConfigError, configWarnings, loadConfig } from './config/index.js';
import { createLogger } from './logger.js';
import { CredentialsRejectedError } from './sources/errors.js';
import { StoreCorruptError } from './store/durable-file.js';
import { StoreKeyError } from './store/encryption.js';
import { StoreLockedError } from './store/lock.js';

/** How long a SIGTERM/SIGINT waits for work in flight before exiting anyway (ms). */
const SHUTDOWN_TIMEOUT_MS = 30_000;

/**
 * `npm start`: reads configuration from the environment and runs until SIGTERM/SIGINT, then stops
 * cleanly (src/bridge.ts `stop`): exit 0 when everything in flight finished and the store is flushed
 * within 30 s, exit 1 otherwise (committed work is safe either way; only attempts in flight repeat).
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee README.md, "Configuration".\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.log.level);
  for (const warning of configWarnings(process.env)) logger.warn(warning);
  let bridge;
  try {
    bridge = await startBridge(config, { logger });
  } catch (err) {
    if (err instanceof CredentialsRejectedError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG: the configuration is wrong, not the machine
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      logger.fatal(
        `${config.http.host}:${config.http.port} is already in use: stop what listens there, or set PORT (and HOST) to a free address`,
      );
      process.exit(1);
    }
    if (err instanceof StoreCorruptError || err instanceof StoreLockedError || err instanceof StoreKeyError) {
      logger.fatal(err.message);
      process.exit(1);
    }
    throw err;
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping');
      setTimeout(() => {
        logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'stop timed out; exiting with work still in flight');
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS).unref();
      bridge.stop().then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'unclean stop');
          process.exit(1);
        },
      );
    });
  }
}

await main();
