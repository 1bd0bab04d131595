import { TaskFailedError, UnknownTaskError } from '../errors.js';
import type { SerializedError } from '../pool/protocol.js';

/**
 * Rebuilds a task's error on the main thread. Structured clone loses classes, so the error comes
 * back as a {@link TaskFailedError} carrying the worker's message, stack, name and code.
 * @internal
 */
export function reviveTaskError(taskName: string, error: SerializedError): Error {
  if (error.kind === 'unknown-task') return new UnknownTaskError(error.message);
  const revived = new TaskFailedError(error.message);
  revived.taskName = taskName;
  revived.remoteName = error.name;
  revived.remoteCode = error.code;
  if (error.stack !== undefined) {
    // Keep the worker's frames: they are where the bug is. Our own frame adds nothing.
    revived.stack = `TaskFailedError: ${error.message}\n    [in worker task "${taskName}", ${error.name}]\n${stripFirstLine(error.stack)}`;
  }
  return revived;
}

function stripFirstLine(stack: string): string {
  const newline = stack.indexOf('\n');
  return newline === -1 ? '' : stack.slice(newline + 1);
}
