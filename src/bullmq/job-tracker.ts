import { setTimeout as delay } from 'node:timers/promises';
import type { Queue, QueueEvents } from 'bullmq';
import { JobFailedError } from '../errors.js';
import { fromFailedReason } from './wire-error.js';

/** How a tracked job ended. @internal */
export type JobEnd =
  | { readonly state: 'completed'; readonly returnvalue: unknown }
  | { readonly state: 'failed'; readonly error: Error }
  /** Removed from Redis by a cancel before a node took it: it never ran. */
  | { readonly state: 'removed' };

/** What a {@link JobTracker} needs. @internal */
export interface TrackerHost {
  readonly queue: Queue;
  readonly events: QueueEvents;
  /** Tells every node to cancel these jobs (the cancel channel). */
  publishCancel(ids: readonly string[]): Promise<void>;
  /** How often jobs with no news are looked up in Redis, and cancels are repeated. */
  readonly sweepIntervalMs: number;
}

interface Entry {
  readonly settle: (end: JobEnd) => void;
  readonly ended: Promise<JobEnd>;
  /** When the job was last heard of (added, or looked up); 0 until it is in Redis. */
  seen: number;
}

/**
 * Delivers each of a client's jobs' ends exactly once. Ends come from BullMQ's QueueEvents
 * (`completed`, `failed`); a job with no news for `sweepIntervalMs` is looked up in Redis, so an
 * event lost to a trimmed event stream or a restart cannot leave a caller waiting forever. An
 * end that arrives twice (an event and a lookup, or an event after a cancel removed the job)
 * is ignored: the first one wins.
 *
 * Cancelling removes a job that is still waiting (it never runs); a job a node holds is
 * cancelled through the cancel channel, repeated every `sweepIntervalMs` until the job ends, so
 * a cancel published while no node was subscribed, or while the job moved between nodes, is not
 * lost.
 * @internal
 */
export class JobTracker {
  readonly #host: TrackerHost;
  readonly #entries = new Map<string, Entry>();
  readonly #closed = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #sweeping = false;

  constructor(host: TrackerHost) {
    this.#host = host;
    host.events.on('completed', ({ jobId, returnvalue }) => {
      this.#settle(jobId, { state: 'completed', returnvalue });
    });
    host.events.on('failed', ({ jobId, failedReason }) => {
      this.#settle(jobId, { state: 'failed', error: fromFailedReason(failedReason, jobId) });
    });
    this.#timer = setInterval(() => void this.#sweep(), host.sweepIntervalMs);
    this.#timer.unref();
  }

  /** Jobs tracked and not yet ended. */
  get size(): number {
    return this.#entries.size;
  }

  /** Starts tracking a job; call it before the job is added. Resolves once, when the job ends. */
  track(jobId: string): Promise<JobEnd> {
    let settle!: (end: JobEnd) => void;
    const ended = new Promise<JobEnd>((resolve) => (settle = resolve));
    this.#entries.set(jobId, { settle, ended, seen: 0 });
    return ended;
  }

  /** Whether the job is tracked and has not ended. */
  tracks(jobId: string): boolean {
    return this.#entries.has(jobId);
  }

  /** The job is in Redis: from now on a lookup that does not find it means it is lost. */
  added(jobId: string): void {
    const entry = this.#entries.get(jobId);
    if (entry !== undefined) entry.seen = Date.now();
  }

  /** Ends a job without waiting for Redis (the client is closing, or the add failed). */
  forget(jobId: string, end: JobEnd): void {
    this.#settle(jobId, end);
  }

  /**
   * Cancels jobs: removes the waiting ones, tells nodes to stop the running ones, and repeats
   * until each has ended. Their `track` promises resolve as they end.
   */
  async cancel(ids: readonly string[]): Promise<void> {
    const { queue } = this.#host;
    const signal = this.#closed.signal;
    let left = ids.filter((id) => this.#entries.has(id));
    while (left.length > 0 && !signal.aborted) {
      const removed = await Promise.all(left.map((id) => queue.remove(id).catch(() => 0)));
      left.forEach((id, i) => {
        if (removed[i] === 1) this.#settle(id, { state: 'removed' });
      });
      left = left.filter((id) => this.#entries.has(id));
      if (left.length === 0) break;
      await this.#host.publishCancel(left).catch(() => undefined);
      const pending = left.map((id) => this.#entries.get(id)?.ended ?? Promise.resolve());
      await Promise.race([
        Promise.all(pending),
        delay(this.#host.sweepIntervalMs, undefined, { signal }).catch(() => undefined),
      ]);
      left = left.filter((id) => this.#entries.has(id));
    }
  }

  /**
   * Stops sweeping and cancelling. Jobs still tracked get one round of cancelling (removed if
   * waiting, told to stop if running, for at most `sweepIntervalMs`) and end with `reason`.
   */
  async close(reason: Error): Promise<void> {
    clearInterval(this.#timer);
    this.#closed.abort();
    const ids = [...this.#entries.keys()];
    if (ids.length > 0) {
      const { queue } = this.#host;
      const round = Promise.all([
        ...ids.map((id) => queue.remove(id).catch(() => 0)),
        this.#host.publishCancel(ids).catch(() => undefined),
      ]);
      await Promise.race([round, delay(this.#host.sweepIntervalMs, undefined, { ref: false })]);
    }
    for (const id of ids) this.#settle(id, { state: 'failed', error: reason });
  }

  #settle(jobId: string, end: JobEnd): void {
    const entry = this.#entries.get(jobId);
    if (entry === undefined) return;
    this.#entries.delete(jobId);
    entry.settle(end);
  }

  /** Looks up jobs with no news: each ends as Redis says, or as lost if Redis no longer has it. */
  async #sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      const horizon = Date.now() - this.#host.sweepIntervalMs;
      const stale = [...this.#entries]
        .filter(([, entry]) => entry.seen > 0 && entry.seen < horizon)
        .map(([id]) => id);
      for (let start = 0; start < stale.length && !this.#closed.signal.aborted; start += 100) {
        await Promise.all(stale.slice(start, start + 100).map((id) => this.#lookUp(id)));
      }
    } catch {
      // Redis is unreachable: the next sweep tries again.
    } finally {
      this.#sweeping = false;
    }
  }

  async #lookUp(jobId: string): Promise<void> {
    const { queue } = this.#host;
    const state = await queue.getJobState(jobId);
    const entry = this.#entries.get(jobId);
    if (entry !== undefined) entry.seen = Date.now();
    if (state === 'completed' || state === 'failed') {
      const job = await queue.getJob(jobId);
      if (job === undefined) {
        this.#lost(jobId);
        return;
      }
      this.#settle(
        jobId,
        state === 'completed'
          ? { state, returnvalue: job.returnvalue }
          : { state, error: fromFailedReason(job.failedReason, jobId) },
      );
    } else if (state === 'unknown') {
      this.#lost(jobId);
    }
  }

  #lost(jobId: string): void {
    const error = new JobFailedError(
      `job ${jobId} is gone from Redis: it was removed, or its result expired (retention) before this client read it`,
    );
    error.jobId = jobId;
    this.#settle(jobId, { state: 'failed', error });
  }
}
