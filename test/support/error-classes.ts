import type { OrchestratorError } from 'node-orchestrator';

/** A class of the error taxonomy, as a module exports it. */
export type ErrorClass<E extends Error = OrchestratorError> = new (
  message?: string,
  options?: { cause?: unknown },
) => E;

/**
 * The error classes a module exports (every subclass of its `OrchestratorError`), by export
 * name: the package's index, or src/errors.ts (`E` is then that module's OrchestratorError).
 */
export function errorClasses<E extends Error = OrchestratorError>(module: object): [string, ErrorClass<E>][] {
  const exports = module as Record<string, unknown>;
  const base = exports['OrchestratorError'] as ErrorClass<E>;
  return Object.entries(exports).filter(
    (entry): entry is [string, ErrorClass<E>] =>
      typeof entry[1] === 'function' &&
      Object.prototype.isPrototypeOf.call(base.prototype, (entry[1] as ErrorClass<E>).prototype) &&
      entry[0] !== 'OrchestratorError',
  );
}
