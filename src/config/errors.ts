/**
 * Thrown when configuration is missing or invalid. `message` names every offending variable and
 * what it expects, e.g. `CLINIKO_RATE_LIMIT_PER_MIN must be a whole number from 1 to 10000 (got "fast")`.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}
