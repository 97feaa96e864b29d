import { readFileSync } from 'node:fs';

/** The package version, sent in the delivery `user-agent`. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

export const USER_AGENT = `clinic-event-bridge/${VERSION} (+https://github.com/clinic-event-bridge)`;
