import { InvalidConfigError } from '../errors.js';
import { describe } from './validate.js';

/**
 * The InvalidConfigError for one bad option. Shared so that the metrics' own checks and the
 * registry-sharing check word their errors alike.
 * @internal
 */
export function configError(field: string, value: unknown, expected: string): InvalidConfigError {
  const error = new InvalidConfigError(
    `Invalid orchestrator options: ${field} must be ${expected}, got ${describe(value)}`,
  );
  error.issues = [{ field, value, expected }];
  return error;
}
