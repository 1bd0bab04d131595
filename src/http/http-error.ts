import { STATUS_CODES } from 'node:http';
import { ErrorCodes, OrchestratorError, type ErrorCode } from '../errors.js';
import { assertFinite, describe } from '../internal/validate.js';

/** Options of {@link httpErrorFor}. */
export interface HttpErrorOptions {
  /**
   * The `Retry-After` (seconds) of a shed submission (`ERR_QUEUE_FULL`: 503, or 429 for a tenant
   * over its cap); rounded up, at least 1. The Fastify plugin passes its drain-rate estimate.
   * @default 1
   */
  retryAfterSeconds?: number | undefined;
  /**
   * Put the error's own message in the body. Off, every status has a fixed public message, so
   * nothing a worker threw (its message, paths, input fragments) reaches the client; the error
   * itself is for your logs. Stacks are never put in a body.
   * @default false
   */
  exposeErrors?: boolean | undefined;
}

/** The JSON body of an error response: the shape Fastify gives its own errors. */
export interface HttpErrorBody {
  /** The HTTP status, repeated. */
  statusCode: number;
  /** The error's stable code (`ERR_*`); absent for errors that are not the library's. */
  code?: string;
  /** The status text, e.g. `Service Unavailable`. */
  error: string;
  /** A fixed public message per status, or the error's own with `exposeErrors`. */
  message: string;
}

/** How to answer an error over HTTP: see {@link httpErrorFor}. */
export interface HttpError {
  /** The HTTP status. */
  readonly statusCode: number;
  /** Headers to set, e.g. `Retry-After`; may be empty. */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body. */
  readonly body: HttpErrorBody;
}

interface Rule {
  readonly status: number;
  readonly message: string;
  readonly retry?: true;
}

/**
 * One rule per code: `Record<ErrorCode, …>` makes a new code fail to compile until it is
 * mapped here (and in the README's table).
 */
const RULES: Readonly<Record<ErrorCode, Rule>> = {
  [ErrorCodes.QUEUE_FULL]: { status: 503, message: 'The service is at capacity; retry later', retry: true },
  [ErrorCodes.CLOSED]: { status: 503, message: 'The service is shutting down' },
  [ErrorCodes.ABORTED]: { status: 503, message: 'The work was cancelled because the service is stopping' },
  [ErrorCodes.TASK_TIMEOUT]: { status: 504, message: 'The task did not finish in time' },
  [ErrorCodes.CLIENT_DISCONNECTED]: { status: 499, message: 'The client closed the request' },
  [ErrorCodes.TASK_FAILED]: { status: 500, message: 'The task failed' },
  [ErrorCodes.WORKER_CRASHED]: { status: 500, message: 'The worker running the task crashed' },
  [ErrorCodes.UNKNOWN_TASK]: { status: 500, message: 'Internal Server Error' },
  [ErrorCodes.DATA_CLONE]: { status: 500, message: 'Internal Server Error' },
  [ErrorCodes.WORKER_NOT_FOUND]: { status: 500, message: 'Internal Server Error' },
  [ErrorCodes.INVALID_CONFIG]: { status: 500, message: 'Internal Server Error' },
  [ErrorCodes.PAYLOAD_TOO_LARGE]: { status: 413, message: 'The request is too large to queue' },
  [ErrorCodes.REDIS_UNAVAILABLE]: {
    status: 503,
    message: 'The queue is unavailable; retry later',
    retry: true,
  },
  [ErrorCodes.BAD_PAYLOAD]: { status: 502, message: 'A queue node sent back a malformed result' },
  [ErrorCodes.JOB_FAILED]: { status: 502, message: 'The queued job failed' },
  [ErrorCodes.REDIS_AUTH]: { status: 500, message: 'Internal Server Error' },
  [ErrorCodes.MISSING_PEER]: { status: 500, message: 'Internal Server Error' },
  [ErrorCodes.NOT_CACHEABLE]: { status: 500, message: 'Internal Server Error' },
  [ErrorCodes.INVALID_METRIC]: { status: 500, message: 'Internal Server Error' },
  [ErrorCodes.METRIC_CONFLICT]: { status: 500, message: 'Internal Server Error' },
  // The bytes the client sent are not an image we can read: its request, not the service, is at fault.
  [ErrorCodes.IMAGE_DECODE]: { status: 422, message: 'The image could not be decoded' },
};

/** A shed submission that names a tenant: that tenant is over its own cap, not the service. */
const TENANT_RULE: Rule = {
  status: 429,
  message: 'Too many requests for this tenant; retry later',
  retry: true,
};

const FOREIGN_RULE: Rule = { status: 500, message: 'Internal Server Error' };

/**
 * Maps an error from `orchestrator.run` (or anything else a handler caught) to an HTTP answer,
 * for Express, Koa, node:http or a Fastify error handler of your own. The table:
 * `ERR_QUEUE_FULL` 503 with `Retry-After` (429 when the error names a `tenant`: that tenant is
 * over its cap); `ERR_CLOSED` and `ERR_ABORTED` 503; `ERR_TASK_TIMEOUT` 504;
 * `ERR_CLIENT_DISCONNECTED` 499 (nginx's "client closed request": nobody reads it, but logs
 * and metrics tell it apart); `ERR_TASK_FAILED`, `ERR_WORKER_CRASHED` and the configuration
 * codes 500; `ERR_IMAGE_DECODE` 422; an error that is not the library's, 500.
 *
 * The rule is keyed on the error's `code` and fields, not its class, so errors from another copy
 * of the package, or revived from a worker, map alike.
 *
 * @param error - what `run` rejected with (any value).
 * @param options - `retryAfterSeconds` (default 1), `exposeErrors` (default false).
 * @returns the status, headers and JSON body to send.
 * @throws TypeError/RangeError for a bad option.
 * @example
 * ```ts
 * catch (error) {
 *   const { statusCode, headers, body } = httpErrorFor(error);
 *   res.status(statusCode).set(headers).json(body);
 * }
 * ```
 */
export function httpErrorFor(error: unknown, options: HttpErrorOptions = {}): HttpError {
  const { retryAfterSeconds = 1, exposeErrors = false } = options;
  assertFinite('retryAfterSeconds', retryAfterSeconds);
  if (retryAfterSeconds < 0) {
    throw new RangeError(`retryAfterSeconds must be >= 0, got ${describe(retryAfterSeconds)}`);
  }
  if (typeof exposeErrors !== 'boolean') {
    throw new TypeError(`exposeErrors must be a boolean, got ${describe(exposeErrors)}`);
  }
  const code = libraryCode(error);
  const rule = code === undefined ? FOREIGN_RULE : ruleFor(code, error as OrchestratorError);
  const own = exposeErrors && error instanceof Error ? error.message : undefined;
  const body: HttpErrorBody = {
    statusCode: rule.status,
    ...(code === undefined ? {} : { code }),
    error: STATUS_CODES[rule.status] ?? (rule.status === 499 ? 'Client Closed Request' : 'Error'),
    message: own ?? rule.message,
  };
  const headers: Record<string, string> =
    rule.retry === true ? { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } : {};
  return { statusCode: rule.status, headers, body };
}

function ruleFor(code: ErrorCode, error: OrchestratorError): Rule {
  if (code === ErrorCodes.QUEUE_FULL && (error as { tenant?: unknown }).tenant !== undefined) {
    return TENANT_RULE;
  }
  return RULES[code];
}

/** The error's code when it is one of the library's (by brand, so other package copies count). */
function libraryCode(error: unknown): ErrorCode | undefined {
  if (!(error instanceof OrchestratorError)) return undefined;
  return Object.hasOwn(RULES, error.code) ? error.code : undefined;
}
