import type { Queue } from 'bullmq';
import type { SignalReading, SignalSource } from '../signals/signal-source.js';

/** The job states the cluster gauges report. */
export const CLUSTER_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;

/** Jobs of a queue by state, as Redis counts them now. @internal */
export type JobCounts = Readonly<Record<(typeof CLUSTER_STATES)[number], number>>;

/**
 * The queue's job counts (BullMQ `getJobCounts`), or a rejection after `timeoutMs`: a scrape or
 * an adaptation step must not hang while Redis is away.
 * @internal
 */
export async function readCounts(queue: Queue, timeoutMs: number): Promise<JobCounts> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const counts = await Promise.race([queue.getJobCounts(...CLUSTER_STATES), timeout]);
    return Object.fromEntries(CLUSTER_STATES.map((state) => [state, counts[state] ?? 0])) as JobCounts;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The cluster-wide backlog as a signal for a node's adaptation: jobs waiting in Redis (plain
 * and prioritized), in items, estimated with the mean items per job this node has run. Every
 * node sees the whole backlog, so each one's limit grows while work waits anywhere in the queue
 * (and shrinks, as locally, under CPU load or errors). A read that fails or times out is absent
 * for that interval.
 * @internal
 */
export class BacklogSource implements SignalSource {
  readonly #counts: () => Promise<JobCounts>;
  #itemsPerJob = 1;

  constructor(counts: () => Promise<JobCounts>) {
    this.#counts = counts;
  }

  /** Learns the size of jobs from one this node ran. */
  record(items: number): void {
    this.#itemsPerJob = 0.9 * this.#itemsPerJob + 0.1 * items;
  }

  /** {@link SignalSource} */
  async read(): Promise<SignalReading> {
    const counts = await this.#counts();
    return { queueDepth: Math.round((counts.waiting + counts.prioritized) * this.#itemsPerJob) };
  }
}
