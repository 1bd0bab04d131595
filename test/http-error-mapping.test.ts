import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from 'node-orchestrator';
import { httpErrorFor, QueueFullError, TaskFailedError } from 'node-orchestrator';

type ErrorClass = new (message?: string) => api.OrchestratorError;

/** Every exported error class, by its code. */
const classes = new Map(
  Object.values(api as Record<string, unknown>)
    .filter(
      (value): value is ErrorClass =>
        typeof value === 'function' &&
        Object.prototype.isPrototypeOf.call(api.OrchestratorError.prototype, value.prototype) &&
        value !== api.OrchestratorError,
    )
    .map((Class) => [new Class().code, Class]),
);

const expected: Record<api.ErrorCode, number> = {
  ERR_QUEUE_FULL: 503,
  ERR_CLOSED: 503,
  ERR_ABORTED: 503,
  ERR_TASK_TIMEOUT: 504,
  ERR_CLIENT_DISCONNECTED: 499,
  ERR_TASK_FAILED: 500,
  ERR_WORKER_CRASHED: 500,
  ERR_UNKNOWN_TASK: 500,
  ERR_DATA_CLONE: 500,
  ERR_WORKER_NOT_FOUND: 500,
  ERR_INVALID_CONFIG: 500,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_REDIS_UNAVAILABLE: 503,
  ERR_BAD_PAYLOAD: 502,
  ERR_JOB_FAILED: 502,
  ERR_REDIS_AUTH: 500,
  ERR_MISSING_PEER: 500,
  ERR_NOT_CACHEABLE: 500,
  ERR_INVALID_METRIC: 500,
  ERR_METRIC_CONFLICT: 500,
  ERR_IMAGE_DECODE: 422,
};

describe('httpErrorFor', () => {
  it('maps every error code to its status, with the code and a public message in a Fastify-shaped body', () => {
    expect(Object.keys(expected).sort()).toEqual(Object.values(api.ErrorCodes).sort());
    for (const [code, status] of Object.entries(expected)) {
      const Class = classes.get(code as api.ErrorCode)!;
      const answer = httpErrorFor(new Class('internal detail: /srv/app/secret.key'));
      expect(answer.statusCode, code).toBe(status);
      expect(answer.body.statusCode).toBe(status);
      expect(answer.body.code).toBe(code);
      expect(answer.body.error.length).toBeGreaterThan(0);
      expect(answer.body.message).not.toContain('secret');
    }
    expect(httpErrorFor(new api.ClientDisconnectedError()).body.error).toBe('Client Closed Request');
    expect(httpErrorFor(new api.TaskTimeoutError()).body.error).toBe('Gateway Timeout');
  });

  it('gives a shed submission a Retry-After of whole seconds, at least 1', () => {
    expect(httpErrorFor(new QueueFullError()).headers).toEqual({ 'retry-after': '1' });
    expect(httpErrorFor(new QueueFullError(), { retryAfterSeconds: 2.1 }).headers).toEqual({
      'retry-after': '3',
    });
    expect(httpErrorFor(new QueueFullError(), { retryAfterSeconds: 0 }).headers).toEqual({
      'retry-after': '1',
    });
    expect(httpErrorFor(new api.ClosedError(), { retryAfterSeconds: 5 }).headers).toEqual({});
  });

  it('answers 429 when a shed submission names a tenant: the tenant is over its cap, not the service', () => {
    const error = Object.assign(new QueueFullError('tenant "acme" is at its cap'), { tenant: 'acme' });
    const answer = httpErrorFor(error, { retryAfterSeconds: 4 });
    expect(answer.statusCode).toBe(429);
    expect(answer.body).toMatchObject({ code: 'ERR_QUEUE_FULL', error: 'Too Many Requests' });
    expect(answer.headers).toEqual({ 'retry-after': '4' });
  });

  it("keeps a task's own message out of the body unless exposeErrors, and never sends a stack", () => {
    const error = new TaskFailedError('cannot open /etc/shadow');
    expect(httpErrorFor(error).body).toEqual({
      statusCode: 500,
      code: 'ERR_TASK_FAILED',
      error: 'Internal Server Error',
      message: 'The task failed',
    });
    const exposed = httpErrorFor(error, { exposeErrors: true }).body;
    expect(exposed.message).toBe('cannot open /etc/shadow');
    expect(Object.keys(exposed).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
  });

  it('matches by code, so an error from another copy of the package maps alike', () => {
    const foreign = new QueueFullError();
    Object.setPrototypeOf(foreign, Error.prototype); // as if another copy's class made it
    expect(foreign).toBeInstanceOf(QueueFullError);
    expect(httpErrorFor(foreign).statusCode).toBe(503);
  });

  it('answers 500 without a code for errors that are not the library’s', () => {
    for (const error of [
      new TypeError('x must be a string'),
      'a string',
      undefined,
      { code: 'ERR_QUEUE_FULL' },
    ]) {
      const answer = httpErrorFor(error);
      expect(answer).toEqual({
        statusCode: 500,
        headers: {},
        body: { statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' },
      });
    }
    expect(httpErrorFor(new TypeError('bad'), { exposeErrors: true }).body.message).toBe('bad');
  });

  it('names the option and the value when an option is wrong', () => {
    expect(() => httpErrorFor(new QueueFullError(), { retryAfterSeconds: -1 })).toThrow(
      'retryAfterSeconds must be >= 0, got -1',
    );
    expect(() => httpErrorFor(new QueueFullError(), { retryAfterSeconds: Number.NaN })).toThrow(
      'retryAfterSeconds must be a finite number, got NaN',
    );
    expect(() => httpErrorFor(new QueueFullError(), { exposeErrors: 'yes' as never })).toThrow(
      'exposeErrors must be a boolean, got "yes"',
    );
  });

  it("the README's HTTP table lists every code with its status", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, status] of Object.entries(expected)) {
      expect(readme).toMatch(new RegExp(`\\| \`${code}\`[^|\\n]*\\| ${status}\\b`));
    }
  });
});
