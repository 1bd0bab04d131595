/**
 * The module every pool thread runs (Piscina's `filename`). It loads the user's worker modules
 * once, opens the control channel to the main thread, and runs tasks by name. A task's own throw
 * is returned as a value, so Piscina rejects only for infrastructure failures.
 * @module
 */
import { MessageChannel, parentPort, threadId } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import Piscina from 'piscina';
import { ThreadMetrics } from '../task-metrics/recorder.js';
import { isTransfer, type Task } from '../worker/define-task.js';
import { AbortBook } from '../worker/task-context.js';
import { runInContext } from '../worker/trace-context.js';
import { flushTracerProviders, hasTracerProviders } from '../worker/tracer-provider.js';
import { runBatch, type BatchAnswer, type BatchThread } from './batch-runner.js';
import { cloneIssue } from './clone-check.js';
import { IdleFlush } from './idle-flush.js';
import {
  kControlHello,
  LIST_TASKS,
  type BatchResult,
  type ControlPortHello,
  type FlushedMessage,
  type RunnerData,
  type SerializedError,
  type TaskRequest,
  type TaskResponse,
} from './protocol.js';
import { serializeError, unclonable } from './serialize-error.js';
import { loadTaskTable, type TaskTable } from './task-table.js';
import { lowerThreadPriority } from './thread-nice.js';

const { modules, abortEpoch, idleTimeoutMs, threadNice } = Piscina.workerData as RunnerData;
// Before the worker modules load, so that their own start-up work already yields to the event loop.
lowerThreadPriority(threadNice);

const channel = new MessageChannel();
const taskMetrics = new ThreadMetrics();
const book = new AbortBook(
  channel.port1,
  abortEpoch,
  (id) => {
    void flushTracerProviders().then(() =>
      channel.port1.postMessage({ flushed: id } satisfies FlushedMessage),
    );
  },
  (task) => taskMetrics.forTask(task),
);
const idleFlush = new IdleFlush(idleTimeoutMs);
const batchThread: BatchThread = {
  book,
  metrics: taskMetrics,
  serialize: (error) =>
    error instanceof StageRefused ? conflictError(error.message) : serializeError(error),
  send: (chunk, transferList) => channel.port1.postMessage(chunk, transferList),
};

/**
 * The worker modules, loaded without a top-level await: Piscina loads this file with require()
 * first, and Node 20's require() of a graph with top-level await starts evaluating it, throws,
 * and leaves import() to finish a half-loaded graph (a rare fatal error in Node was traced to
 * it). Tasks that arrive first wait for the load; a module that fails to load kills the thread,
 * so they fail as crashed, with its error.
 */
let table: TaskTable | undefined;
const loaded = new Promise<void>((resolve) => {
  loadTaskTable(modules).then(
    (loadedTable) => {
      table = loadedTable;
      taskMetrics.load(loadedTable.metrics);
      const hello: ControlPortHello = {
        [kControlHello]: true,
        port: channel.port2,
        threadId,
        tasks: loadedTable.names,
        idempotent: loadedTable.idempotent,
        cache: loadedTable.cache,
        metrics: loadedTable.metrics,
      };
      parentPort?.postMessage(hello, [channel.port2]);
      resolve();
    },
    (error: unknown) => {
      process.nextTick(() => {
        throw error;
      });
    },
  );
});

/**
 * Runs one task and answers with its value or its error. Synchronous tasks are answered
 * synchronously: no promise is created on the way unless the task itself returns one.
 */
export default function runTask(request: TaskRequest): unknown {
  const tasks = table;
  if (tasks === undefined) return loaded.then(() => runTask(request));
  // Without a tracer provider in the thread there is nothing to flush: the task's own path.
  if (!hasTracerProviders()) return dispatch(tasks, request);
  idleFlush.began();
  const answer = dispatch(tasks, request);
  if (!isThenable(answer)) {
    idleFlush.ended();
    return answer;
  }
  return Promise.resolve(answer).finally(() => idleFlush.ended());
}

function dispatch(table: TaskTable, request: TaskRequest): unknown {
  if (request.task === LIST_TASKS) return { value: table.names, durationMs: 0 } satisfies TaskResponse;
  const fn = table.tasks.get(request.task);
  if (fn === undefined) return unknownTask(table, request.task);
  // Fused pipeline stages: every task of the chain, in order.
  const chain = request.batch?.chain;
  const fns: Task<unknown, unknown>[] = [fn];
  if (chain !== undefined) {
    fns.length = 0;
    for (const name of chain) {
      const stage = table.tasks.get(name);
      if (stage === undefined) return unknownTask(table, name);
      const refused = name === request.task ? undefined : taskMetrics.conflict(name);
      fns.push(refused === undefined ? stage : refusedStage(refused));
    }
  }
  // A task whose metric declarations conflict never runs. A later fused stage fails each item
  // where it is reached instead, so the records are those of the stages run apart.
  const conflict = taskMetrics.conflict(request.task);
  if (conflict !== undefined) return metricConflict(conflict);
  book.sync();
  if (book.abortedBeforeStart(request.id)) return notStarted();
  const context = book.open(request.id, request.task, undefined, request.trace);
  if (request.batch !== undefined) {
    const batch = runBatch(fns, request, context, batchThread);
    if (!isThenable(batch)) return answerBatch(request.id, batch);
    return batch.then((done) => answerBatch(request.id, done));
  }
  const started = performance.now();
  let result: unknown;
  try {
    // A traced run runs in its span's context, so that spans the task starts are its children.
    result =
      request.trace === undefined
        ? fn(request.input, context)
        : runInContext(context.traceContext, () => fn(request.input, context));
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
  const value: BatchResult = { from: batch.from, outcomes: batch.outcomes, stageMs: batch.stageMs };
  const metrics = taskMetrics.take();
  const declared = taskMetrics.announce(metrics);
  const response: TaskResponse = { value, durationMs: batch.durationMs, metrics, declared };
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
  const metrics = taskMetrics.ship();
  const durationMs = performance.now() - started;
  return { error: serializeError(error), durationMs, metrics, declared: taskMetrics.announce(metrics) };
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
  const declared = taskMetrics.announce(metrics);
  const transfer = isTransfer(result);
  const issue = transfer
    ? cloneIssue(result.value, 'the result', result.transferList)
    : cloneIssue(result, 'the result');
  if (issue !== undefined)
    return { error: unclonable(issue), durationMs, metrics, declared } satisfies TaskResponse;
  if (!transfer) return { value: result, durationMs, metrics, declared } satisfies TaskResponse;
  const response: TaskResponse = { value: result.value, durationMs, metrics, declared };
  // Piscina moves whatever object carries its two public symbols and was passed through move().
  return Piscina.move({
    [Symbol.for('Piscina.transferable')]: result.transferList,
    [Symbol.for('Piscina.valueOf')]: response,
  } as never);
}

/** The answer for a task whose metric declarations conflict with another task's: it never runs. */
function metricConflict(message: string): TaskResponse {
  return { error: conflictError(message), durationMs: 0 };
}

function conflictError(message: string): SerializedError {
  return { name: 'MetricConflictError', message, stack: undefined, code: undefined, kind: 'metric-conflict' };
}

/** What a fused stage whose task's metric declarations conflict throws, for each item reaching it. */
class StageRefused extends Error {}

function refusedStage(message: string): Task<unknown, unknown> {
  return (() => {
    throw new StageRefused(message);
  }) as unknown as Task<unknown, unknown>;
}

function unknownTask(table: TaskTable, name: string): TaskResponse {
  const { hint, tasks } = table.explainUnknown(name);
  return {
    error: {
      name: 'UnknownTaskError',
      message: `Unknown task "${name}": ${hint}; its tasks are: ${tasks.join(', ') || '(none)'}`,
      stack: undefined,
      code: undefined,
      kind: 'unknown-task',
      exports: tasks,
    },
    durationMs: 0,
  };
}
