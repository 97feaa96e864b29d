import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * Paths pino replaces with `[redacted]`: credentials, webhook secrets and signatures, and anything
 * holding a record's body. The bridge logs ids, types and counts, never record fields; this list is
 * the safety net if a future log line passes an object along.
 */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'adminToken',
  '*.adminToken',
  'secret',
  '*.secret',
  'authorization',
  'userToken',
  '*.userToken',
  'headers["x-user-token"]',
  '*.headers["x-user-token"]',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["webhook-signature"]',
  'signature',
  'object',
  '*.object',
  'record',
  '*.record',
  'previous_attributes',
  '*.previous_attributes',
  'body',
  '*.body',
];

/** The bridge's pino logger; `destination` lets tests capture output. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'clinic-event-bridge' } }, destination);
}
