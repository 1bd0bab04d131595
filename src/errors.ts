/**
 * The error taxonomy of node-orchestrator.
 *
 * Every error the library raises on purpose is an {@link OrchestratorError} with a stable `code`
 * string. Codes are the API; messages are for humans and may change. `instanceof` works across
 * duplicate installs of the package because each class is branded with a `Symbol.for` key and
 * checks it in `Symbol.hasInstance`.
 *
 * @module
 */

const kBrand = Symbol.for('node-orchestrator.error');
const kCodeBrand = Symbol.for('node-orchestrator.error.code');

/** Every stable error code the library raises. */
export const ErrorCodes = {
  ABORTED: 'ERR_ABORTED',
  CLOSED: 'ERR_CLOSED',
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  TASK_TIMEOUT: 'ERR_TASK_TIMEOUT',
  TASK_FAILED: 'ERR_TASK_FAILED',
  UNKNOWN_TASK: 'ERR_UNKNOWN_TASK',
  WORKER_CRASHED: 'ERR_WORKER_CRASHED',
  WORKER_NOT_FOUND: 'ERR_WORKER_NOT_FOUND',
  DATA_CLONE: 'ERR_DATA_CLONE',
  INVALID_CONFIG: 'ERR_INVALID_CONFIG',
  CLIENT_DISCONNECTED: 'ERR_CLIENT_DISCONNECTED',
  PAYLOAD_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  BAD_PAYLOAD: 'ERR_BAD_PAYLOAD',
  REDIS_AUTH: 'ERR_REDIS_AUTH',
  REDIS_UNAVAILABLE: 'ERR_REDIS_UNAVAILABLE',
  MISSING_PEER: 'ERR_MISSING_PEER',
  JOB_FAILED: 'ERR_JOB_FAILED',
  NOT_CACHEABLE: 'ERR_NOT_CACHEABLE',
  INVALID_METRIC: 'ERR_INVALID_METRIC',
  METRIC_CONFLICT: 'ERR_METRIC_CONFLICT',
  IMAGE_DECODE: 'ERR_IMAGE_DECODE',
} as const;

/** The union of every code in {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Options every {@link OrchestratorError} accepts. */
export interface OrchestratorErrorOptions {
  /** The underlying error, kept on `error.cause`. */
  cause?: unknown;
}

/**
 * The base class of every error the library raises on purpose.
 *
 * @example
 * ```ts
 * try { await orchestrator.run('tokenize', text); }
 * catch (error) { if (error instanceof OrchestratorError && error.code === 'ERR_QUEUE_FULL') retryLater(); }
 * ```
 */
export class OrchestratorError extends Error {
  /** The stable, machine-readable identity of the error. */
  readonly code: ErrorCode;

  /**
   * @param code - the stable code.
   * @param message - a human-readable message that names the field or task involved.
   * @param options - `cause`.
   */
  constructor(code: ErrorCode, message: string, options?: OrchestratorErrorOptions) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, kBrand, { value: true });
    Object.defineProperty(this, kCodeBrand, { value: code });
  }

  override get name(): string {
    return 'OrchestratorError';
  }

  /** Branded check so that errors from another copy of the package still match. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isBranded(value, undefined);
  }
}

function isBranded(value: unknown, code: ErrorCode | undefined): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<symbol, unknown>;
  if (record[kBrand] !== true) return false;
  return code === undefined || record[kCodeBrand] === code;
}

/**
 * Declares a subclass that matches by code across package copies.
 * @internal
 */
function codedError<C extends ErrorCode>(code: C, name: string, defaultMessage: string) {
  return class extends OrchestratorError {
    declare readonly code: C;
    constructor(message: string = defaultMessage, options?: OrchestratorErrorOptions) {
      super(code, message, options);
    }
    override get name(): string {
      return name;
    }
    static override [Symbol.hasInstance](value: unknown): boolean {
      return isBranded(value, code);
    }
  };
}

/** Work was cancelled: by `close()`, by a failed {@link TaskGroup}, or by the library itself. Code `ERR_ABORTED`. */
export class AbortedError extends codedError(
  ErrorCodes.ABORTED,
  'AbortedError',
  'The operation was aborted',
) {}

/** The orchestrator is closing or closed and accepts no new work. Code `ERR_CLOSED`. */
export class ClosedError extends codedError(ErrorCodes.CLOSED, 'ClosedError', 'The orchestrator is closed') {}

/**
 * The waiting queue is at `maxQueue`, or the run's tenant has its own `maxQueue` runs waiting;
 * the submission was shed. Code `ERR_QUEUE_FULL`.
 */
export class QueueFullError extends codedError(ErrorCodes.QUEUE_FULL, 'QueueFullError', 'The queue is full') {
  /** The tenant that was over its own `maxQueue`; undefined when the orchestrator's queue was full. */
  tenant: string | undefined;
}

/** A run's `timeoutMs` passed (queue time included). Code `ERR_TASK_TIMEOUT`. */
export class TaskTimeoutError extends codedError(
  ErrorCodes.TASK_TIMEOUT,
  'TaskTimeoutError',
  'The task timed out',
) {}

/**
 * A task threw inside the worker. `message` and `stack` are the worker's own; `taskName` names the
 * task and `remoteCode` keeps the thrown error's own `code`, if it had one. Code `ERR_TASK_FAILED`.
 */
export class TaskFailedError extends codedError(
  ErrorCodes.TASK_FAILED,
  'TaskFailedError',
  'The task failed',
) {
  /** The task that threw. */
  taskName = '';
  /** The `name` of the error thrown in the worker (e.g. `TypeError`). */
  remoteName = 'Error';
  /** The `code` of the error thrown in the worker, when it had a string code. */
  remoteCode: string | undefined;
}

/** The worker module does not export the requested task. Code `ERR_UNKNOWN_TASK`. */
export class UnknownTaskError extends codedError(
  ErrorCodes.UNKNOWN_TASK,
  'UnknownTaskError',
  'Unknown task',
) {}

/** The worker thread running the task died (exit, uncaught error, resource limits). Code `ERR_WORKER_CRASHED`. */
export class WorkerCrashedError extends codedError(
  ErrorCodes.WORKER_CRASHED,
  'WorkerCrashedError',
  'The worker running the task crashed',
) {}

/** The worker module given to the orchestrator does not exist. Code `ERR_WORKER_NOT_FOUND`. */
export class WorkerNotFoundError extends codedError(
  ErrorCodes.WORKER_NOT_FOUND,
  'WorkerNotFoundError',
  'The worker module was not found',
) {}

/** A task's input or output cannot be structured-cloned. Code `ERR_DATA_CLONE`. */
export class DataCloneError extends codedError(
  ErrorCodes.DATA_CLONE,
  'DataCloneError',
  'The value cannot be structured-cloned',
) {}

/** A configuration object has one or more invalid fields; the message names each. Code `ERR_INVALID_CONFIG`. */
export class InvalidConfigError extends codedError(
  ErrorCodes.INVALID_CONFIG,
  'InvalidConfigError',
  'Invalid configuration',
) {
  /** One entry per bad field: the field, the value given, and what was expected. */
  issues: readonly ConfigIssue[] = [];
}

/**
 * The HTTP client went away before its response was sent: the reason of a signal made by
 * `requestSignal(req, res)` (and so of `request.run` in the Fastify plugin). Code `ERR_CLIENT_DISCONNECTED`.
 */
export class ClientDisconnectedError extends codedError(
  ErrorCodes.CLIENT_DISCONNECTED,
  'ClientDisconnectedError',
  'The client disconnected before the response was sent',
) {}

/**
 * A run of a cached task has an input that cannot be made into a cache key: it holds a function,
 * a symbol, a SharedArrayBuffer (whose bytes may change under the key) or another value that
 * cannot be structured-cloned. The message names the part. Pass `cache: false` for that run, or
 * give the task a `cacheKey`. Code `ERR_NOT_CACHEABLE`.
 */
export class NotCacheableError extends codedError(
  ErrorCodes.NOT_CACHEABLE,
  'NotCacheableError',
  'The input cannot be made into a cache key',
) {}

/**
 * A task recorded a metric wrongly through `ctx.metrics`: a metric it did not declare, a method
 * its type has not (`observe` on a counter), a label it did not declare, a non-finite value or
 * a negative counter increment. Thrown in the worker, at the call, so the task can catch it;
 * uncaught, its run fails with ERR_TASK_FAILED and `remoteCode` `ERR_INVALID_METRIC`. Code
 * `ERR_INVALID_METRIC`.
 */
export class InvalidMetricError extends codedError(
  ErrorCodes.INVALID_METRIC,
  'InvalidMetricError',
  'Invalid metric observation',
) {}

/**
 * Two tasks of the worker module declare one metric differently (`defineTask(fn, { metrics })`):
 * every run of either task fails with it, naming both tasks and the difference, and the metric
 * is not registered. Code `ERR_METRIC_CONFLICT`.
 */
export class MetricConflictError extends codedError(
  ErrorCodes.METRIC_CONFLICT,
  'MetricConflictError',
  'Conflicting metric declarations',
) {}

/** One invalid field of a configuration object. */
export interface ConfigIssue {
  /** The field's name, e.g. `minLimit`. */
  readonly field: string;
  /** The value that was given. */
  readonly value: unknown;
  /** What was expected, e.g. `an integer >= 1`. */
  readonly expected: string;
}

/**
 * A payload is larger than `maxPayloadBytes`: a job's input or result when it is encoded for
 * Redis, or a payload read back from Redis (checked before it is inflated). `bytes` is the size
 * found (a lower bound when decoding stopped at the limit) and `limit` the limit. Code
 * `ERR_PAYLOAD_TOO_LARGE`.
 */
export class PayloadTooLargeError extends codedError(
  ErrorCodes.PAYLOAD_TOO_LARGE,
  'PayloadTooLargeError',
  'The payload is too large',
) {
  /** The size found, in bytes. */
  bytes = 0;
  /** The limit, in bytes. */
  limit = 0;
}

/**
 * A job or result read from Redis is not in node-orchestrator's format or is malformed (not
 * base64, a corrupt compressed stream, bytes v8 cannot deserialize, the wrong shape). Only that
 * job fails. Code `ERR_BAD_PAYLOAD`.
 */
export class BadPayloadError extends codedError(
  ErrorCodes.BAD_PAYLOAD,
  'BadPayloadError',
  'The payload is malformed',
) {}

/** Redis refused the credentials (wrong password or ACL user, or none given). Code `ERR_REDIS_AUTH`. */
export class RedisAuthError extends codedError(
  ErrorCodes.REDIS_AUTH,
  'RedisAuthError',
  'Redis refused the credentials',
) {}

/** Redis could not be reached at start-up (refused, timed out, a TLS failure). Code `ERR_REDIS_UNAVAILABLE`. */
export class RedisUnavailableError extends codedError(
  ErrorCodes.REDIS_UNAVAILABLE,
  'RedisUnavailableError',
  'Redis is unavailable',
) {}

/**
 * An optional peer dependency a feature needs is not installed (e.g. `bullmq` and `ioredis` for
 * `node-orchestrator/bullmq`); `packages` names them. Code `ERR_MISSING_PEER`.
 */
export class MissingPeerError extends codedError(
  ErrorCodes.MISSING_PEER,
  'MissingPeerError',
  'An optional peer dependency is missing',
) {
  /** The npm packages to install. */
  packages: readonly string[] = [];
}

/**
 * A queued job ended without a result from a node: BullMQ failed it for a reason outside our
 * taxonomy, or it vanished from Redis (removed, or its result expired before the client read
 * it). `jobId` names it. Code `ERR_JOB_FAILED`.
 */
export class JobFailedError extends codedError(ErrorCodes.JOB_FAILED, 'JobFailedError', 'The job failed') {
  /** The BullMQ job id. */
  jobId = '';
}

/**
 * The shipped image worker could not decode an image: bytes that are not PNG or JPEG, a corrupt
 * or truncated file, or one larger than `maxPixels`. The message names the format and the
 * reason. Thrown in the worker; a `run` or `map` record carries it as a {@link TaskFailedError}
 * whose `remoteCode` is `ERR_IMAGE_DECODE`. Code `ERR_IMAGE_DECODE`.
 */
export class ImageDecodeError extends codedError(
  ErrorCodes.IMAGE_DECODE,
  'ImageDecodeError',
  'The image could not be decoded',
) {}
