import { OrchestratorError, TaskFailedError } from '../errors.js';

/**
 * The `type` label of a failure: the worker error's own code or class for a task's throw,
 * otherwise our error code, or the error's class.
 * @internal
 */
export function errorType(error: unknown): string {
  if (error instanceof TaskFailedError) return error.remoteCode ?? error.remoteName;
  if (error instanceof OrchestratorError) return error.code;
  if (error instanceof Error) return error.name;
  return typeof error;
}
