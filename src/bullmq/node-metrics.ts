import { Counter, Gauge, type Registry } from 'prom-client';
import { configError } from '../internal/config-error.js';
import type { JobOutcome } from './job-processor.js';
import { CLUSTER_STATES, type JobCounts } from './queue-counts.js';

/** What the node's gauges read at scrape time. @internal */
export interface NodeGauges {
  /** The BullMQ worker's concurrency: jobs it may hold. */
  concurrency(): number;
  /** Jobs it holds now. */
  active(): number;
  /** The queue's job counts from Redis. */
  counts(): Promise<JobCounts>;
}

/**
 * A QueueNode's own metrics, beside its orchestrator's on the same registry: jobs by outcome,
 * jobs held, the BullMQ worker's concurrency, and the cluster's job counts by state, read from
 * Redis at every scrape (a scrape while Redis is away reports no cluster samples rather than
 * stale ones).
 * @internal
 */
export class NodeMetrics {
  readonly #registry: Registry;
  readonly #names: string[];
  readonly #jobs: Counter<'outcome'>;

  /**
   * @throws InvalidConfigError when the registry already holds one of these metrics (one
   *   QueueNode per registry).
   */
  constructor(registry: Registry, prefix: string, queue: string, gauges: NodeGauges) {
    this.#registry = registry;
    this.#names = ['node_jobs_total', 'node_jobs_active', 'node_job_concurrency', 'cluster_jobs'].map(
      (name) => prefix + name,
    );
    for (const name of this.#names) {
      if (registry.getSingleMetric(name) !== undefined) {
        throw configError(
          'registry',
          name,
          'a registry without another QueueNode (it already has this metric)',
        );
      }
    }
    const [jobsName, activeName, concurrencyName, clusterName] = this.#names as [
      string,
      string,
      string,
      string,
    ];
    this.#jobs = new Counter({
      name: jobsName,
      help: 'Jobs this node finished, by outcome (completed, failed, cancelled, handed_back)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    new Gauge({
      name: activeName,
      help: 'Jobs this node holds now',
      registers: [registry],
      collect() {
        this.set(gauges.active());
      },
    });
    new Gauge({
      name: concurrencyName,
      help: 'Jobs this node may hold at once (the BullMQ worker concurrency its limit drives)',
      registers: [registry],
      collect() {
        this.set(gauges.concurrency());
      },
    });
    new Gauge({
      name: clusterName,
      help: 'Jobs in the queue by state, read from Redis at scrape time (the same on every node)',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        try {
          const counts = await gauges.counts();
          for (const state of CLUSTER_STATES) this.set({ queue, state }, counts[state]);
        } catch {
          // Redis away: no samples, rather than stale ones.
        }
      },
    });
  }

  /** Counts one finished job. */
  job(outcome: JobOutcome): void {
    this.#jobs.inc({ outcome });
  }

  /** Removes these metrics from the registry. */
  dispose(): void {
    for (const name of this.#names) this.#registry.removeSingleMetric(name);
  }
}
