/**
 * Errors across Redis. A node turns each item's error into a plain {@link WireError} (name,
 * message, code, stack and our errors' own fields), which travels inside the v8-serialized
 * result; the client rebuilds our {@link OrchestratorError} subclasses by `code`, so `instanceof`
 * and `code` work as for a local run. A job that fails as a whole goes into BullMQ's failed state
 * with a `failedReason` of `ERR_CODE: message`, readable in any BullMQ dashboard and parsed back
 * by code on the client.
 * @internal
 * @module
 */
import {
  ClientDisconnectedError,
  NotCacheableError,
  ImageDecodeError,
  AbortedError,
  BadPayloadError,
  ClosedError,
  DataCloneError,
  ErrorCodes,
  InvalidConfigError,
  InvalidMetricError,
  JobFailedError,
  MetricConflictError,
  MissingPeerError,
  OrchestratorError,
  PayloadTooLargeError,
  QueueFullError,
  RedisAuthError,
  RedisUnavailableError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownTaskError,
  WorkerCrashedError,
  WorkerNotFoundError,
  type ErrorCode,
} from '../errors.js';

/** An error as it crosses Redis. @internal */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string | undefined;
  readonly stack?: string | undefined;
  /** TaskFailedError's fields. */
  readonly taskName?: string | undefined;
  readonly remoteName?: string | undefined;
  readonly remoteCode?: string | undefined;
}

type ErrorClass = new (message?: string, options?: { cause?: unknown }) => OrchestratorError;

/** Our classes by code; `satisfies` makes a new code in errors.ts fail to compile until it is added here. */
const CLASSES = {
  [ErrorCodes.ABORTED]: AbortedError,
  [ErrorCodes.CLOSED]: ClosedError,
  [ErrorCodes.QUEUE_FULL]: QueueFullError,
  [ErrorCodes.TASK_TIMEOUT]: TaskTimeoutError,
  [ErrorCodes.TASK_FAILED]: TaskFailedError,
  [ErrorCodes.UNKNOWN_TASK]: UnknownTaskError,
  [ErrorCodes.WORKER_CRASHED]: WorkerCrashedError,
  [ErrorCodes.WORKER_NOT_FOUND]: WorkerNotFoundError,
  [ErrorCodes.DATA_CLONE]: DataCloneError,
  [ErrorCodes.INVALID_CONFIG]: InvalidConfigError,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: PayloadTooLargeError,
  [ErrorCodes.BAD_PAYLOAD]: BadPayloadError,
  [ErrorCodes.REDIS_AUTH]: RedisAuthError,
  [ErrorCodes.REDIS_UNAVAILABLE]: RedisUnavailableError,
  [ErrorCodes.MISSING_PEER]: MissingPeerError,
  [ErrorCodes.JOB_FAILED]: JobFailedError,
  [ErrorCodes.CLIENT_DISCONNECTED]: ClientDisconnectedError,
  [ErrorCodes.NOT_CACHEABLE]: NotCacheableError,
  [ErrorCodes.INVALID_METRIC]: InvalidMetricError,
  [ErrorCodes.METRIC_CONFLICT]: MetricConflictError,
  [ErrorCodes.IMAGE_DECODE]: ImageDecodeError,
} satisfies Record<ErrorCode, ErrorClass>;

/** Bounds what one error may carry from an untrusted result. */
const MAX_TEXT = 64 * 1024;

/** Turns anything thrown or any abort reason into its wire form. @internal */
export function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code } = error as { code?: unknown };
  const wire: WireError = {
    name: error.name,
    message: error.message,
    code: typeof code === 'string' ? code : undefined,
    stack: error.stack,
  };
  if (error instanceof TaskFailedError) {
    return { ...wire, taskName: error.taskName, remoteName: error.remoteName, remoteCode: error.remoteCode };
  }
  return wire;
}

/**
 * Rebuilds an error from its wire form (untrusted: fields are checked and bounded). Our codes
 * become our classes; anything else becomes an Error with the name, code and stack it had.
 * @param where - appended to the stack, e.g. `on node host-1234, job 17`.
 * @internal
 */
export function fromWire(value: unknown, where: string): Error {
  const wire = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const message = text(wire['message']) ?? 'Unknown error';
  const name = text(wire['name']) ?? 'Error';
  const code = text(wire['code']);
  const Class = code !== undefined && Object.hasOwn(CLASSES, code) ? CLASSES[code as ErrorCode] : undefined;
  const error = Class === undefined ? new Error(message) : new Class(message);
  if (Class === undefined) {
    Object.defineProperty(error, 'name', { value: name, configurable: true, writable: true });
    if (code !== undefined) Object.assign(error, { code });
  }
  if (error instanceof TaskFailedError) {
    error.taskName = text(wire['taskName']) ?? '';
    error.remoteName = text(wire['remoteName']) ?? 'Error';
    error.remoteCode = text(wire['remoteCode']);
  }
  const stack = text(wire['stack']);
  error.stack = `${stack ?? `${error.name}: ${message}`}\n    [${where}]`;
  return error;
}

/** BullMQ's `failedReason` for a job that fails as a whole: `ERR_CODE: message`. @internal */
export function failedReason(error: OrchestratorError): string {
  return `${error.code}: ${error.message}`;
}

/** BullMQ's own reason for a job that stalled more than `maxStalledCount` times. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/**
 * Rebuilds the error of a job that ended in BullMQ's failed state from its `failedReason`.
 * @internal
 */
export function fromFailedReason(reason: unknown, jobId: string): Error {
  const given = text(reason) ?? '';
  const match = /^(ERR_[A-Z_]+): ([\s\S]*)$/.exec(given);
  if (match !== null && Object.hasOwn(CLASSES, match[1] as string)) {
    const error = new CLASSES[match[1] as ErrorCode](match[2]);
    if (error instanceof JobFailedError) error.jobId = jobId;
    return error;
  }
  if (given === STALLED_TOO_OFTEN) {
    return new WorkerCrashedError(
      `job ${jobId} was running on nodes that stopped answering (its lock expired) more often than maxStalledCount allows`,
    );
  }
  const error = new JobFailedError(`job ${jobId} failed in BullMQ: ${given || '(no reason given)'}`);
  error.jobId = jobId;
  return error;
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
}
