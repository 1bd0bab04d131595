import type { Registry } from 'prom-client';

/** A task's worker time so far, from the histogram: seconds in all, and items counted. */
interface Reading {
  readonly seconds: number;
  readonly items: number;
}

/**
 * The worker time an item of a task takes on this node, read from the orchestrator's own
 * `task_duration_seconds` histogram (its `_sum` and `_count` for the task) around each job. A
 * client sizes its jobs from it; a job's wall time on a busy node counts queueing behind the
 * other jobs it holds, which would make jobs ever smaller. Without telemetry there is no
 * histogram, and the wall time stands in.
 * @internal
 */
export class WorkClock {
  readonly #registry: Registry | undefined;
  readonly #name: string;

  constructor(registry: Registry | undefined, prefix: string) {
    this.#registry = registry;
    this.#name = `${prefix}task_duration_seconds`;
  }

  /** The histogram's totals for `task` now, or undefined without telemetry. */
  async read(task: string): Promise<Reading | undefined> {
    const metric = this.#registry?.getSingleMetric(this.#name);
    if (metric === undefined) return undefined;
    let seconds = 0;
    let items = 0;
    for (const sample of (await metric.get()).values as {
      labels: Record<string, unknown>;
      value: number;
      metricName?: string;
    }[]) {
      if (sample.labels['task'] !== task) continue;
      if (sample.metricName?.endsWith('_sum') === true) seconds += sample.value;
      else if (sample.metricName?.endsWith('_count') === true) items += sample.value;
    }
    return { seconds, items };
  }

  /**
   * The work of a job of `count` items in ms: the mean worker time per item while it ran times
   * `count`, or `wallMs` when the histogram saw no item of the task meanwhile.
   */
  static workMs(
    before: Reading | undefined,
    after: Reading | undefined,
    count: number,
    wallMs: number,
  ): number {
    if (before === undefined || after === undefined || after.items <= before.items) return wallMs;
    return ((after.seconds - before.seconds) / (after.items - before.items)) * 1000 * count;
  }
}
