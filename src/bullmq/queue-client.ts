import { EventEmitter } from 'node:events';
import type { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { AbortedError, ClosedError, TaskTimeoutError } from '../errors.js';
import { assertInteger, describe } from '../internal/validate.js';
import type { MapRecord } from '../orchestrator/map.js';
import type { TaskInput, TaskMap, TaskName, TaskOutput } from '../orchestrator/task-types.js';
import { AddBatcher } from './add-batcher.js';
import { cancelChannel, publishCancel } from './cancel-channel.js';
import { ClientJobs } from './client-jobs.js';
import {
  checkRun,
  checkTask,
  resolveClient,
  type ClientSettings,
  type QueueClientOptions,
  type QueueRunOptions,
} from './client-options.js';
import { mapOverQueue, type QueueMapOptions } from './client-map.js';
import { closeConnections, quitting } from './close-connections.js';
import { checkConnection, createClient, bullmqConnection } from './connection.js';
import { JobTracker } from './job-tracker.js';
import type { ResolvedQueue } from './options.js';
import { bullmq } from './peers.js';
import { settledWithin } from '../internal/settled-within.js';

interface Parts {
  readonly queue: Queue;
  readonly events: QueueEvents;
  readonly control: Redis;
  readonly tracker: JobTracker;
  readonly jobs: ClientJobs;
}

/**
 * Submits tasks to a BullMQ queue that {@link QueueNode}s consume, with the local
 * `Orchestrator`'s `run` and `map` contracts: the same records, the same typed errors (name,
 * message, code and stack cross the wire), cancellation that reaches the task on its node.
 *
 * Every job's end reaches the caller exactly once. It connects on first use (or `ready()`): a
 * wrong password rejects with ERR_REDIS_AUTH, an unreachable Redis with ERR_REDIS_UNAVAILABLE;
 * later outages are ridden out by reconnecting. Redis errors while reconnecting are emitted as
 * `'error'` events when someone listens.
 *
 * @example
 * ```ts
 * const client = new QueueClient({ queue: 'tokenize', connection: 'redis://127.0.0.1:6379' });
 * const ids = await client.run('tokenize', 'hello world', { timeoutMs: 5000 });
 * for await (const record of client.map('tokenize', lines, { ordered: true })) write(record);
 * await client.close();
 * ```
 */
export class QueueClient<M extends TaskMap = TaskMap> extends EventEmitter {
  readonly #options: ResolvedQueue;
  readonly #settings: ClientSettings;
  readonly #closing = new AbortController();
  #parts: Promise<Parts> | undefined;
  #tracker: JobTracker | undefined;
  #jobs: ClientJobs | undefined;
  #closed: Promise<void> | undefined;
  #active = 0;
  readonly #costs = new Map<string, { perItemMs: number; bytesPerItem: number }>();
  #idle: (() => void) | undefined;

  /**
   * @throws InvalidConfigError naming every bad option and its value.
   */
  constructor(options: QueueClientOptions) {
    super();
    const { queue, settings } = resolveClient(options);
    this.#options = queue;
    this.#settings = settings;
  }

  /** The queue's name. */
  get queue(): string {
    return this.#options.queue;
  }

  /** Jobs this client has submitted so far (a `map` packs many inputs per job). */
  get jobsSubmitted(): number {
    return this.#jobs?.submitted ?? 0;
  }

  /** Jobs in Redis (queued or running) that this client waits for. */
  get jobsInFlight(): number {
    return this.#tracker?.size ?? 0;
  }

  /**
   * Connects (once): checks the login, opens BullMQ's Queue and QueueEvents. `run` and `map`
   * call it themselves.
   * @throws RedisAuthError, RedisUnavailableError.
   */
  ready(): Promise<void> {
    return this.#connect().then(() => undefined);
  }

  #connect(): Promise<Parts> {
    if (this.#closing.signal.aborted) return Promise.reject(new ClosedError('The QueueClient is closed'));
    this.#parts ??= this.#open();
    return this.#parts;
  }

  async #open(): Promise<Parts> {
    const { connection, queue: name, prefix, payload } = this.#options;
    await checkConnection(connection);
    const forward = (error: Error): void => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    };
    const connectionOptions = bullmqConnection(connection);
    const queue = new bullmq.Queue(name, {
      connection: connectionOptions,
      prefix,
      streams: { events: { maxLen: this.#settings.eventsMaxLen } },
    });
    queue.on('error', forward);
    const control = createClient(connection);
    control.on('error', forward);
    // Read events from the stream's end as it is now: a job added after this point cannot end unseen.
    const last = await control.xrevrange(queue.toKey('events'), '+', '-', 'COUNT', 1);
    const events = new bullmq.QueueEvents(name, {
      connection: connectionOptions,
      prefix,
      lastEventId: last[0]?.[0] ?? '0-0',
    });
    events.on('error', forward);
    const channel = cancelChannel(queue);
    const tracker = new JobTracker({
      queue,
      events,
      publishCancel: (ids) => publishCancel(control, channel, ids),
      sweepIntervalMs: this.#settings.sweepIntervalMs,
    });
    this.#tracker = tracker;
    const jobs = new ClientJobs(new AddBatcher(queue), tracker, payload, this.#settings.retention);
    this.#jobs = jobs;
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return { queue, events, control, tracker, jobs };
  }

  /**
   * Runs one task on some node.
   * @returns the task's output. Rejects with the errors of a local run (ERR_TASK_FAILED with the
   *   node's stack, ERR_UNKNOWN_TASK, ERR_WORKER_CRASHED — also when the node running it was lost
   *   and the task is not idempotent —, ERR_TASK_TIMEOUT, ERR_DATA_CLONE), ERR_PAYLOAD_TOO_LARGE,
   *   ERR_CLOSED, ERR_ABORTED (the client closed), ERR_JOB_FAILED, the signal's reason, or a
   *   TypeError/RangeError for bad arguments.
   */
  run<K extends TaskName<M>>(
    task: K,
    input: TaskInput<M, K>,
    options?: QueueRunOptions,
  ): Promise<TaskOutput<M, K>>;
  run(task: string, input: unknown, options: QueueRunOptions = {}): Promise<unknown> {
    try {
      checkTask(task);
      checkRun(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#track(() => this.#run(task, input, options));
  }

  async #run(task: string, input: unknown, options: QueueRunOptions): Promise<unknown> {
    const { signal, priority = 0, timeoutMs, tenant } = options;
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    signal?.throwIfAborted();
    const { jobs } = await this.#connect();
    signal?.throwIfAborted();
    const started = await jobs.start(task, [input], { priority, deadline, tenant });
    const stop = new AbortController();
    const onAbort = (): void => {
      if (!stop.signal.aborted) stop.abort(signal?.reason);
      jobs.cancel([started.jobId]);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
    const timer =
      deadline === undefined
        ? undefined
        : setTimeout(
            () => {
              stop.abort(
                new TaskTimeoutError(`Task "${task}" timed out after ${timeoutMs} ms (queue time included)`),
              );
              jobs.cancel([started.jobId]);
            },
            Math.max(0, deadline - Date.now()),
          );
    try {
      const finished = await jobs.finish(started);
      if (stop.signal.aborted) throw stop.signal.reason;
      if (finished.kind === 'failed') throw finished.error;
      if (finished.kind === 'removed')
        throw new AbortedError(`job ${started.jobId} was removed before it ran`);
      const [outcome] = finished.outcomes;
      if (outcome === undefined || !outcome.ok) throw outcome?.error ?? new AbortedError('No outcome');
      return outcome.value;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Runs a task over many inputs on the nodes, packed many per job, and yields one record per
   * input, as `Orchestrator.map` does. See {@link QueueMapOptions}.
   * @returns an async iterable of {@link MapRecord}s.
   */
  map<K extends TaskName<M>>(
    task: K,
    inputs: Iterable<TaskInput<M, K>> | AsyncIterable<TaskInput<M, K>>,
    options?: QueueMapOptions,
  ): AsyncGenerator<MapRecord<TaskOutput<M, K>>, void, undefined>;
  map(
    task: string,
    inputs: Iterable<unknown> | AsyncIterable<unknown>,
    options: QueueMapOptions = {},
  ): AsyncGenerator<MapRecord, void, undefined> {
    return this.#map(task, inputs, options);
  }

  async *#map(
    task: string,
    inputs: Iterable<unknown> | AsyncIterable<unknown>,
    options: QueueMapOptions,
  ): AsyncGenerator<MapRecord, void, undefined> {
    checkTask(task);
    if (
      typeof inputs !== 'object' ||
      (inputs as unknown) === null ||
      !(Symbol.iterator in inputs || Symbol.asyncIterator in inputs)
    ) {
      throw new TypeError(`inputs must be an iterable or async iterable, got ${describe(inputs)}`);
    }
    checkRun(options);
    const { batchSize = this.#settings.maxItemsPerJob } = options;
    assertInteger('batchSize', batchSize, 1);
    options.signal?.throwIfAborted();
    this.#active++;
    try {
      const { jobs } = await this.#connect();
      const host = {
        jobs,
        closing: this.#closing.signal,
        jobTargetMs: this.#settings.jobTargetMs,
        maxJobsInFlight: this.#settings.maxJobsInFlight,
        maxPayloadBytes: this.#options.payload.maxPayloadBytes,
        costs: this.#costs,
      };
      yield* mapOverQueue(host, task, inputs, { ...options, batchSize });
    } finally {
      this.#settled();
    }
  }

  /** Counts an operation in flight, for `close()`. */
  async #track<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closing.signal.aborted) throw new ClosedError('The QueueClient is closed');
    this.#active++;
    try {
      return await operation();
    } finally {
      this.#settled();
    }
  }

  #settled(): void {
    if (--this.#active === 0) this.#idle?.();
  }

  /**
   * Stops accepting work, lets jobs in flight end within `closeTimeoutMs`, then cancels the rest
   * (their runs reject with ERR_ABORTED) and closes every connection. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#closing.abort(new ClosedError('The QueueClient is closing'));
    const parts = await this.#parts?.catch(() => undefined);
    if (this.#active > 0) {
      const idle = new Promise<void>((resolve) => (this.#idle = resolve));
      await settledWithin(idle, this.#settings.closeTimeoutMs);
    }
    if (parts === undefined) return;
    await parts.tracker.close(new AbortedError('The QueueClient closed before the job ended'));
    // After a Redis restart QueueEvents' blocking read may never be answered.
    await closeConnections([parts.events, parts.queue, quitting(parts.control)]);
  }
}
