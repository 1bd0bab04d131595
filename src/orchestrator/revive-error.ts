import { DataCloneError, TaskFailedError, UnknownTaskError } from '../errors.js';
import type { SerializedError } from '../pool/protocol.js';

/** Fields of ours a worker error's own properties must not overwrite. */
const RESERVED = new Set([
  'name',
  'message',
  'stack',
  'code',
  'cause',
  'taskName',
  'remoteName',
  'remoteCode',
]);

/**
 * Rebuilds a task's error on the main thread. Structured clone loses classes, so the error comes
 * back as a {@link TaskFailedError} carrying the worker's message, stack, name, code and other
 * own properties; a result that could not be sent back is a {@link DataCloneError}.
 * @internal
 */
export function reviveTaskError(taskName: string, error: SerializedError): Error {
  if (error.kind === 'unknown-task') return new UnknownTaskError(error.message);
  if (error.kind === 'data-clone') return new DataCloneError(`Task "${taskName}": ${error.message}`);
  const revived = new TaskFailedError(error.message);
  revived.taskName = taskName;
  revived.remoteName = error.name;
  revived.remoteCode = error.code;
  for (const [key, value] of Object.entries(error.props ?? {})) {
    if (!RESERVED.has(key)) (revived as unknown as Record<string, unknown>)[key] = value;
  }
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
