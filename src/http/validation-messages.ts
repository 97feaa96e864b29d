import type { z } from 'zod';
import { didYouMean } from '../util/did-you-mean.js';

type RawIssue = z.core.$ZodRawIssue;

/**
 * Admin API wording for zod issues whose schema sets no message of its own: a sentence that says what
 * the field must be, instead of zod's validator text (`Unrecognized key: "evnt_types"`, `received NaN`).
 * Installed once with `z.config({ customError })` (zod 4's error customisation: a schema's own
 * message still wins). Returns `undefined` for anything it does not know, so zod's text is the fallback.
 * @example unknown field `evnt_types` (did you mean `event_types`?)
 */
export function adminIssueMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
      const known = shape ? Object.keys(shape) : [];
      const names = issue.keys.map((key) => {
        const guess = didYouMean(key, known);
        return `\`${key}\`${guess ? ` (did you mean \`${guess}\`?)` : ''}`;
      });
      return `unknown field ${names.join(', ')}${known.length > 0 ? `; allowed: ${known.join(', ')}` : ''}`;
    }
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      if (issue.expected === 'number' && typeof issue.input === 'number' && Number.isNaN(issue.input)) return 'must be a number';
      return `must be ${article(issue.expected)}, not ${describe(issue.input)}`;
    case 'invalid_key': {
      // A record key refused by its own check, e.g. a reserved header name.
      const inner = (issue.issues as Array<{ message?: string }> | undefined)?.[0]?.message;
      return `\`${String(issue.input)}\` ${inner ?? 'is not an allowed name'}`;
    }
    case 'too_small':
      return bound(issue.inclusive === false ? 'more than' : 'at least', issue.origin, issue.minimum);
    case 'too_big':
      return bound(issue.inclusive === false ? 'less than' : 'at most', issue.origin, issue.maximum);
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => `\`${String(v)}\``).join(', ')}`;
    case 'invalid_format':
      if (issue.format === 'url') return 'must be an absolute http(s) URL';
      if (issue.format === 'datetime') return 'must be an ISO 8601 time such as 2026-11-23T09:30:00Z';
      return undefined;
    default:
      return undefined;
  }
}

function bound(which: string, origin: string, limit: number | bigint): string {
  if (origin === 'string') return `must be ${which} ${limit} characters long`;
  if (origin === 'array') return `must list ${which} ${limit} item${limit === 1 ? '' : 's'}`;
  return `must be ${which} ${limit}`;
}

function article(expected: string): string {
  if (expected === 'int') return 'a whole number';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function describe(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  return article(typeof input);
}
