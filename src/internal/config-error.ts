import { InvalidConfigError, type ConfigIssue } from '../errors.js';
import { describe } from './validate.js';

/**
 * The InvalidConfigError for bad options: one message naming every field, its value and what
 * was expected, and the same on `issues`. Shared so that every options check words it alike.
 * @internal
 */
export function invalidConfig(issues: readonly ConfigIssue[]): InvalidConfigError {
  const lines = issues.map((i) => `${i.field} must be ${i.expected}, got ${describe(i.value)}`);
  const error = new InvalidConfigError(`Invalid orchestrator options: ${lines.join('; ')}`);
  error.issues = issues;
  return error;
}

/** The InvalidConfigError for one bad option. @internal */
export function configError(field: string, value: unknown, expected: string): InvalidConfigError {
  return invalidConfig([{ field, value, expected }]);
}
