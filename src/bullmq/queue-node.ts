import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { AbortedError } from '../errors.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import type { OrchestratorOptions } from '../orchestrator/options.js';
import type { TaskMap } from '../orchestrator/task-types.js';
import { cancelChannel, subscribeCancels } from './cancel-channel.js';
import type { RetentionOptions } from './client-jobs.js';
import { CLOSE_CONNECTIONS_MS, closeConnections, quitting } from './close-connections.js';
import { bullmqConnection, checkConnection, createClient } from './connection.js';
import { createProcessor } from './job-processor.js';
import { NodeMetrics } from './node-metrics.js';
import { Issues, resolveQueue, type QueueOptions, type ResolvedQueue } from './options.js';
import { bullmq } from './peers.js';
import { BacklogSource, readCounts } from './queue-counts.js';
import { WorkClock } from './work-clock.js';

/** Options of {@link QueueNode}: the local Orchestrator's, plus the queue's and the node's own. */
export type QueueNodeOptions = OrchestratorOptions & QueueOptions & QueueNodeOwnOptions;

/** The options of {@link QueueNode} that are neither the Orchestrator's nor the queue's. */
export interface QueueNodeOwnOptions {
  /** This node's name: BullMQ's worker name on each job, and the `node` label of its metrics. @default `<hostname>-<pid>` */
  nodeName?: string | undefined;
  /** How long a job's lock lasts without renewal; a node that stops answering loses its jobs after it. @default 30000 */
  lockDurationMs?: number | undefined;
  /** How often BullMQ looks for jobs whose lock expired (stalled) and puts them back. @default 30000 */
  stalledIntervalMs?: number | undefined;
  /** How often an idempotent job may be recovered from a lost node before it fails. @default 1 */
  maxStalledCount?: number | undefined;
  /** Jobs held per slot of the limit (`worker.concurrency = jobsPerSlot × limit`), so a slot never waits for Redis. @default 2 */
  jobsPerSlot?: number | undefined;
  /** Retention for jobs that set none themselves (a QueueClient's jobs set their own). */
  retention?: RetentionOptions | undefined;
}

/** Keys of {@link QueueNodeOptions} that are not the Orchestrator's. */
const OWN = [
  'queue',
  'connection',
  'prefix',
  'maxPayloadBytes',
  'compression',
  'nodeName',
  'lockDurationMs',
  'stalledIntervalMs',
  'maxStalledCount',
  'jobsPerSlot',
  'retention',
] as const;

/** Counting Redis for a scrape or an adaptation step may take this long. */
const COUNT_TIMEOUT_MS = 1000;

/**
 * One node of a cluster: consumes a BullMQ queue and runs each job's tasks through a local
 * {@link Orchestrator} built from the same options (pool, limits, adaptation, metrics). Its
 * adaptive limit drives the BullMQ worker's concurrency live; the queue's backlog in Redis feeds
 * its queue-depth signal; its metrics carry a `node` label, beside cluster gauges read from
 * Redis.
 *
 * It connects at once. `ready()` resolves when it consumes, or rejects with ERR_REDIS_AUTH /
 * ERR_REDIS_UNAVAILABLE. Redis errors (that one, when nobody has called `ready()`, and errors
 * while reconnecting later) are `'error'` events when someone listens, else one process warning.
 *
 * Each job it finishes is a `'job'` event: `{ jobId, task, items, errors, outcome }`, where
 * outcome is `completed` (its items' own errors are results, counted in `errors`), `failed`,
 * `cancelled` or `handed_back`.
 *
 * `close()` stops taking jobs, lets the jobs it holds finish within `closeTimeoutMs`, then stops
 * the rest: idempotent ones go back to the queue for another node, others fail with
 * ERR_ABORTED. Then every connection, thread and timer is closed.
 *
 * @example
 * ```ts
 * const node = new QueueNode({ worker: new URL('./tasks.js', import.meta.url), queue: 'tokenize',
 *   connection: process.env.REDIS_URL, maxLimit: 8 });
 * await node.ready();
 * process.once('SIGTERM', () => void node.close());
 * ```
 */
export class QueueNode<M extends TaskMap = TaskMap> extends EventEmitter {
  /** This node's name. */
  readonly name: string;
  /** The local orchestrator that runs the jobs (its registry, limit, `'adapt'` events). */
  readonly orchestrator: Orchestrator<M>;
  readonly #options: ResolvedQueue;
  readonly #own: Required<
    Pick<QueueNodeOptions, 'lockDurationMs' | 'stalledIntervalMs' | 'maxStalledCount' | 'jobsPerSlot'>
  > &
    Pick<QueueNodeOptions, 'retention'>;
  readonly #closeTimeoutMs: number;
  readonly #prefix: string;
  readonly #closing = new AbortController();
  readonly #backlog: BacklogSource;
  readonly #metrics: NodeMetrics | undefined;
  readonly #ready: Promise<void>;
  #readyObserved = false;
  #warned = false;
  #queue: Queue | undefined;
  #subscriber: Redis | undefined;
  #worker: Worker | undefined;
  #active = 0;
  #closed: Promise<void> | undefined;
  readonly #onAdapt = (): void => this.#syncConcurrency();

  /**
   * @param options - the Orchestrator's options, plus {@link QueueNodeOptions}' own.
   * @throws InvalidConfigError naming every bad option; WorkerNotFoundError.
   */
  constructor(options: QueueNodeOptions) {
    super();
    const issues = new Issues();
    const resolved = resolveQueue(options, issues);
    const {
      nodeName = `${hostname()}-${process.pid}`,
      lockDurationMs = 30_000,
      stalledIntervalMs = 30_000,
      maxStalledCount = 1,
      jobsPerSlot = 2,
      retention,
    } = options;
    issues.check(
      'nodeName',
      nodeName,
      typeof nodeName === 'string' && nodeName.length > 0 && nodeName.length <= 128,
      'a non-empty string of at most 128 characters',
    );
    issues.integer('lockDurationMs', lockDurationMs, 1);
    issues.integer('stalledIntervalMs', stalledIntervalMs, 1);
    issues.integer('maxStalledCount', maxStalledCount, 0);
    issues.integer('jobsPerSlot', jobsPerSlot, 1);
    issues.throwIfAny('QueueNode');
    this.name = nodeName;
    this.#options = resolved as ResolvedQueue;
    this.#own = { lockDurationMs, stalledIntervalMs, maxStalledCount, jobsPerSlot, retention };
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.#prefix = options.metricsPrefix ?? 'orchestrator_';
    this.#backlog = new BacklogSource(() => this.#counts());
    const own = new Set<string>(OWN);
    const local = Object.fromEntries(Object.entries(options).filter(([key]) => !own.has(key)));
    this.orchestrator = new Orchestrator<M>({
      ...(local as OrchestratorOptions<M>),
      // Later sources override earlier ones: the user's own may replace the backlog.
      signals: [this.#backlog, ...(options.signals ?? [])],
    });
    const registry = this.orchestrator.registry;
    if (registry !== undefined) {
      registry.setDefaultLabels({ node: nodeName });
      try {
        this.#metrics = new NodeMetrics(
          registry,
          options.metricsPrefix ?? 'orchestrator_',
          this.#options.queue,
          {
            concurrency: () => this.concurrency,
            active: () => this.#active,
            counts: () => this.#counts(),
          },
        );
      } catch (error) {
        void this.orchestrator.close();
        throw error;
      }
    }
    this.#ready = this.#start();
    this.#ready.catch((error: unknown) => {
      if (!this.#readyObserved) this.#redisError(error as Error);
    });
  }

  /** Resolves once the node consumes its queue. @throws RedisAuthError, RedisUnavailableError. */
  ready(): Promise<void> {
    this.#readyObserved = true;
    return this.#ready;
  }

  /** Jobs this node may hold at once: `jobsPerSlot × orchestrator.limit` (0 before it consumes). */
  get concurrency(): number {
    return this.#worker?.concurrency ?? 0;
  }

  /** Jobs this node holds now. */
  get jobsActive(): number {
    return this.#active;
  }

  async #counts(): ReturnType<typeof readCounts> {
    if (this.#queue === undefined) throw new Error('not connected yet');
    return readCounts(this.#queue, COUNT_TIMEOUT_MS);
  }

  async #start(): Promise<void> {
    const { connection, queue: name, prefix, payload } = this.#options;
    await checkConnection(connection);
    if (this.#isClosing()) return;
    const forward = (error: Error): void => this.#redisError(error);
    const connectionOptions = bullmqConnection(connection);
    this.#queue = new bullmq.Queue(name, { connection: connectionOptions, prefix, skipMetasUpdate: true });
    this.#queue.on('error', forward);
    this.#subscriber = createClient(connection);
    this.#subscriber.on('error', forward);
    // Subscribed before the first job is taken, so no cancel of a job of ours goes unheard.
    await subscribeCancels(this.#subscriber, cancelChannel(this.#queue), (ids) => {
      for (const id of ids) this.#worker?.cancelJob(id, 'cancelled by its client');
    });
    if (this.#isClosing()) return;
    const processor = createProcessor({
      orchestrator: this.orchestrator as unknown as Orchestrator,
      payload,
      nodeName: this.name,
      closing: this.#closing.signal,
      clock: new WorkClock(this.orchestrator.registry, this.#prefix),
      onJob: (event) => {
        this.#metrics?.job(event.outcome);
        if (event.outcome === 'completed') this.#backlog.record(event.items);
        this.emit('job', event);
      },
    });
    const { lockDurationMs, stalledIntervalMs, maxStalledCount, jobsPerSlot, retention } = this.#own;
    this.#worker = new bullmq.Worker(
      name,
      async (job, token, signal) => {
        this.#active++;
        try {
          return await processor(job, token, signal);
        } finally {
          this.#active--;
          this.#syncConcurrency();
        }
      },
      {
        connection: connectionOptions,
        prefix,
        name: this.name,
        concurrency: jobsPerSlot * this.orchestrator.limit,
        lockDuration: lockDurationMs,
        stalledInterval: stalledIntervalMs,
        maxStalledCount,
        ...(retention?.completed === undefined ? {} : { removeOnComplete: retention.completed }),
        ...(retention?.failed === undefined ? {} : { removeOnFail: retention.failed }),
      },
    );
    this.#worker.on('error', forward);
    this.orchestrator.on('adapt', this.#onAdapt);
    await this.#worker.waitUntilReady();
  }

  /** Whether close() has begun (a method, so checks after an await are not narrowed away). */
  #isClosing(): boolean {
    return this.#closed !== undefined;
  }

  /** Keeps BullMQ's concurrency at `jobsPerSlot × limit`; BullMQ applies a change to its next fetch. */
  #syncConcurrency(): void {
    const worker = this.#worker;
    if (worker === undefined || this.#closing.signal.aborted) return;
    const wanted = this.#own.jobsPerSlot * this.orchestrator.limit;
    if (worker.concurrency !== wanted) worker.concurrency = wanted;
  }

  #redisError(error: Error): void {
    if (this.listenerCount('error') > 0) {
      this.emit('error', error);
      return;
    }
    if (this.#warned) return;
    this.#warned = true;
    process.emitWarning(`QueueNode ${this.name}: ${error.message} (listen to 'error' for every Redis error)`);
  }

  /**
   * Stops taking jobs, lets held jobs finish within `closeTimeoutMs`, hands back or fails the
   * rest, then closes the worker, the connections and the orchestrator. Idempotent.
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
    const reason = new AbortedError(`Node ${this.name} closed before the job finished`);
    const giveUp = setTimeout(() => this.#closing.abort(reason), this.#closeTimeoutMs);
    await this.#ready.catch(() => undefined);
    const worker = this.#worker;
    this.orchestrator.off('adapt', this.#onAdapt);
    // BullMQ's close stops fetching, then waits for the jobs held (which `giveUp` cuts short) and
    // for Redis to record how they ended; a Redis that has stopped answering gets dropped.
    if (worker !== undefined) await closeConnections([worker], this.#closeTimeoutMs + CLOSE_CONNECTIONS_MS);
    clearTimeout(giveUp);
    this.#closing.abort(reason);
    const subscriber = this.#subscriber === undefined ? [] : [quitting(this.#subscriber)];
    await closeConnections([...subscriber, ...(this.#queue === undefined ? [] : [this.#queue])]);
    this.#metrics?.dispose();
    await this.orchestrator.close();
  }
}
