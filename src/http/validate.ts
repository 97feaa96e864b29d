import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import type { z } from 'zod';
import { ApiError } from './errors.js';

/**
 * `zValidator` that fails with our error shape: 400 `invalid_request` naming the first bad field,
 * e.g. `event_types.0: must be "*", "resource.kind" or "resource.*"`.
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      const issue = result.error.issues[0];
      const path = issue?.path.join('.') || target;
      throw new ApiError(400, 'invalid_request', `${path}: ${issue?.message ?? 'invalid'}`);
    }
  });
}
