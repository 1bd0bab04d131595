import type { JobsOptions, Queue } from 'bullmq';
import type { JobData } from './envelope.js';

/** One job for BullMQ's `addBulk`. @internal */
export interface BulkJob {
  readonly name: string;
  readonly data: JobData;
  readonly opts: JobsOptions;
}

/** addBulk sends one MULTI; past a few hundred jobs a single transaction blocks Redis for long. */
const MAX_PER_CALL = 500;

/**
 * Gathers the jobs added during one turn of the event loop into BullMQ `addBulk` calls: many
 * concurrent `run()`s, or the jobs a `map` forms at once, cost one round trip to Redis.
 * @internal
 */
export class AddBatcher {
  readonly #queue: Queue;
  #pending: { job: BulkJob; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #scheduled = false;

  constructor(queue: Queue) {
    this.#queue = queue;
  }

  /** Resolves once the job is in Redis; rejects with Redis's or BullMQ's error. */
  add(job: BulkJob): Promise<void> {
    const added = new Promise<void>((resolve, reject) => this.#pending.push({ job, resolve, reject }));
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => void this.#flush());
    }
    return added;
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = [];
    for (let start = 0; start < pending.length; start += MAX_PER_CALL) {
      const chunk = pending.slice(start, start + MAX_PER_CALL);
      try {
        await this.#queue.addBulk(chunk.map((entry) => entry.job));
        for (const entry of chunk) entry.resolve();
      } catch (error) {
        for (const entry of chunk) entry.reject(error);
      }
    }
  }
}
