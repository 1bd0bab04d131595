/**
 * The module every pool thread runs (Piscina's `filename`). It loads the user's worker module
 * once, opens the control channel to the main thread, and runs tasks by export name. A task's
 * own throw is returned as a value, so Piscina rejects only for infrastructure failures.
 * @module
 */
import { MessageChannel, parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import Piscina from 'piscina';
import { ThreadMetrics } from '../task-metrics/recorder.js';
import { isIdempotent, isTask, isTransfer } from '../worker/define-task.js';
import { AbortBook } from '../worker/task-context.js';
import { runBatch, type BatchAnswer, type BatchThread } from './batch-runner.js';
import { cloneIssue } from './clone-check.js';
import {
  kControlHello,
  LIST_TASKS,
  type BatchResult,
  type ControlPortHello,
  type RunnerData,
  type TaskRequest,
  type TaskResponse,
} from './protocol.js';
import { serializeError, unclonable } from './serialize-error.js';

const { module: moduleUrl, abortEpoch } = Piscina.workerData as RunnerData;
const userModule = (await import(moduleUrl)) as Record<string, unknown>;
const taskNames = Object.keys(userModule).filter((name) => isTask(userModule[name]));

const taskMetrics = new ThreadMetrics(Object.fromEntries(taskNames.map((name) => [name, userModule[name]])));

const channel = new MessageChannel();
const book = new AbortBook(channel.port1, abortEpoch, (task) => taskMetrics.forTask(task));
const hello: ControlPortHello = {
  [kControlHello]: true,
  port: channel.port2,
  tasks: taskNames,
  idempotent: taskNames.filter((name) => isIdempotent(userModule[name])),
  metrics: taskMetrics.declared,
};
parentPort?.postMessage(hello, [channel.port2]);

const batchThread: BatchThread = {
  book,
  metrics: taskMetrics,
  serialize: serializeError,
  send: (chunk, transferList) => channel.port1.postMessage(chunk, transferList),
};

/**
 * Runs one task and answers with its value or its error. Synchronous tasks are answered
 * synchronously: no promise is created on the way unless the task itself returns one.
 */
export default function runTask(request: TaskRequest): unknown {
  if (request.task === LIST_TASKS) return { value: taskNames, durationMs: 0 } satisfies TaskResponse;
  const fn = userModule[request.task];
  if (!isTask(fn)) return unknownTask(request.task, fn);
  const conflict = taskMetrics.conflict(request.task);
  if (conflict !== undefined) return metricConflict(conflict);
  book.sync();
  if (book.abortedBeforeStart(request.id)) return notStarted();
  const context = book.open(request.id, request.task);
  if (request.batch !== undefined) {
    const batch = runBatch(fn, request, context, batchThread);
    if (!isThenable(batch)) return answerBatch(request.id, batch);
    return batch.then((done) => answerBatch(request.id, done));
  }
  const started = performance.now();
  let result: unknown;
  try {
    result = fn(request.input, context);
  } catch (error) {
    book.close(request.id);
    return failed(error, started);
  }
  if (!isThenable(result)) {
    book.close(request.id);
    return respond(result, performance.now() - started);
  }
  return Promise.resolve(result).then(
    (value) => {
      book.close(request.id);
      return respond(value, performance.now() - started);
    },
    (error: unknown) => {
      book.close(request.id);
      return failed(error, started);
    },
  );
}

function answerBatch(id: number, batch: BatchAnswer): unknown {
  book.close(id);
  const value: BatchResult = { from: batch.from, items: batch.items };
  const response: TaskResponse = { value, durationMs: batch.durationMs, metrics: taskMetrics.take() };
  if (batch.transferList.length === 0) return response;
  return Piscina.move({
    [Symbol.for('Piscina.transferable')]: batch.transferList,
    [Symbol.for('Piscina.valueOf')]: response,
  } as never);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function failed(error: unknown, started: number): TaskResponse {
  return {
    error: serializeError(error),
    durationMs: performance.now() - started,
    metrics: taskMetrics.ship(),
  };
}

/** The answer for a task cancelled before it started: the main thread settles it as cancelled. */
function notStarted(): TaskResponse {
  return {
    error: { name: 'AbortError', message: 'Cancelled before it started', stack: undefined, code: undefined },
    durationMs: 0,
  };
}

function respond(result: unknown, durationMs: number): unknown {
  const metrics = taskMetrics.ship();
  const transfer = isTransfer(result);
  const issue = transfer
    ? cloneIssue(result.value, 'the result', result.transferList)
    : cloneIssue(result, 'the result');
  if (issue !== undefined) return { error: unclonable(issue), durationMs, metrics } satisfies TaskResponse;
  if (!transfer) return { value: result, durationMs, metrics } satisfies TaskResponse;
  const response: TaskResponse = { value: result.value, durationMs, metrics };
  // Piscina moves whatever object carries its two public symbols and was passed through move().
  return Piscina.move({
    [Symbol.for('Piscina.transferable')]: result.transferList,
    [Symbol.for('Piscina.valueOf')]: response,
  } as never);
}

/** The answer for a task whose metric declarations conflict with another task's: it never runs. */
function metricConflict(message: string): TaskResponse {
  return {
    error: {
      name: 'MetricConflictError',
      message,
      stack: undefined,
      code: undefined,
      kind: 'metric-conflict',
    },
    durationMs: 0,
  };
}

function unknownTask(name: string, found: unknown): TaskResponse {
  const hint =
    typeof found === 'function'
      ? `"${name}" is exported but not wrapped with defineTask()`
      : `the module exports no task "${name}"`;
  return {
    error: {
      name: 'UnknownTaskError',
      message: `Unknown task "${name}": ${hint}; its tasks are: ${taskNames.join(', ') || '(none)'}`,
      stack: undefined,
      code: undefined,
      kind: 'unknown-task',
      exports: taskNames,
    },
    durationMs: 0,
  };
}
