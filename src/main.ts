import { startBridge } from './bridge.js';
import { ConfigError, loadConfig } from './config/index.js';
import { createLogger } from './logger.js';
import { StoreCorruptError } from './store/durable-file.js';
import { StoreKeyError } from './store/encryption.js';
import { StoreLockedError } from './store/lock.js';

/** `npm start`: reads configuration from the environment and runs until SIGTERM/SIGINT. */
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
  let bridge;
  try {
    bridge = await startBridge(config, { logger });
  } catch (err) {
    if (err instanceof StoreCorruptError || err instanceof StoreLockedError || err instanceof StoreKeyError) {
      logger.fatal(err.message);
      process.exit(1);
    }
    throw err;
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping');
      bridge.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'unclean stop');
          process.exit(1);
        },
      );
    });
  }
}

await main();
