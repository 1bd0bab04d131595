import { UnknownTaskError } from '../errors.js';
import type { OrchestratorMetrics } from '../telemetry/metrics.js';
import type { ExemplarLabels } from '../tracing/run-trace.js';
import type { Adaptation } from './adaptation.js';
import type { ItemResult } from './batch-item.js';
import { errorType } from './error-type.js';
import type { RunOutcome, TaskRun } from './task-run.js';

/** The `task` label of runs whose task name is not one of the module's tasks. */
export const OTHER_TASK = 'other';

/** Task names counted under their own label before the module's task list is known. */
const MAX_UNCONFIRMED_TASKS = 64;

/**
 * The one place a settled run or batch item is counted: telemetry, the adaptive signals and the
 * run's span see the same outcomes, durations and waits, whichever path the work took. With
 * tracing, a sampled run's trace becomes the exemplar of its duration and wait observations.
 *
 * The `task` label is bounded: a name the caller supplies that is not one of the module's tasks
 * (learnt from the threads' hello) is counted as `task="other"`, so a caller cannot create series
 * at will; the library's own runs (listing the tasks) are not counted at all.
 * @internal
 */
export class RunRecorder {
  readonly #metrics: OrchestratorMetrics | undefined;
  readonly #adaptation: Adaptation;
  readonly #isTask: (task: string) => boolean | undefined;
  readonly #unconfirmed = new Set<string>();

  constructor(
    metrics: OrchestratorMetrics | undefined,
    adaptation: Adaptation,
    isTask: (task: string) => boolean | undefined,
  ) {
    this.#metrics = metrics;
    this.#adaptation = adaptation;
    this.#isTask = isTask;
  }

  /** Counts a settled run and ends its span (a batch's items are counted one by one instead). */
  recordRun(run: TaskRun, outcome: RunOutcome, error: unknown): void {
    if (run.spec.batch !== undefined || run.spec.internal === true) return;
    const ran = outcome === 'success' || outcome === 'error';
    const waited = run.startedAt > 0 ? run.startedAt - run.submittedAt : undefined;
    const workerMs = ran ? run.workerMs : undefined;
    const trace = run.spec.trace;
    trace?.end(outcome, error, workerMs, waited);
    this.record(run.task, outcome, workerMs, waited, error, trace?.exemplar);
  }

  /** Counts one settled item of a batch; `exemplar` links its observations to its span. */
  recordItem(
    task: string,
    result: ItemResult,
    workerMs: number | undefined,
    waitMs: number | undefined,
    exemplar: ExemplarLabels | undefined,
  ): void {
    if (result.ok) this.record(task, 'success', workerMs, waitMs, undefined, exemplar);
    else this.record(task, result.outcome, workerMs, waitMs, result.error, exemplar);
  }

  /**
   * Counts one item of fused pipeline stages: adaptation sees it once (the unit the limiter
   * schedules, with its whole time in the worker); `tasks_total` counts it under every stage it
   * reached — a success for each stage it passed, its outcome at the stage where it ended — and
   * the duration histogram only when the chain is one stage (per-stage time goes to the stage
   * metrics instead).
   */
  recordChain(
    chain: readonly string[],
    result: ItemResult,
    workerMs: number | undefined,
    waitMs: number | undefined,
  ): void {
    if (chain.length === 1) return this.recordItem(chain[0] as string, result, workerMs, waitMs, undefined);
    const outcome: RunOutcome = result.ok ? 'success' : result.outcome;
    this.#adaptation.recordOutcome(outcome, workerMs ?? 0);
    const metrics = this.#metrics;
    if (metrics === undefined) return;
    const error = result.ok ? undefined : result.error;
    const end = result.ok ? chain.length - 1 : (result.stage ?? 0);
    for (let k = 0; k <= end; k++) {
      const task = chain[k] as string;
      const failed = k === end && outcome !== 'success' && outcome !== 'aborted';
      metrics.record(
        this.#label(task, k === end ? error : undefined),
        k === end ? outcome : 'success',
        undefined,
        k === 0 && waitMs !== undefined ? waitMs / 1000 : undefined,
        failed ? errorType(error) : undefined,
      );
    }
  }

  /** Counts one outcome; times in ms. */
  record(
    task: string,
    outcome: RunOutcome,
    workerMs: number | undefined,
    waitMs: number | undefined,
    error: unknown,
    exemplar?: ExemplarLabels,
  ): void {
    this.#adaptation.recordOutcome(outcome, workerMs ?? 0);
    const metrics = this.#metrics;
    if (metrics === undefined) return;
    const failed = outcome !== 'success' && outcome !== 'aborted';
    metrics.record(
      this.#label(task, error),
      outcome,
      workerMs === undefined ? undefined : workerMs / 1000,
      waitMs === undefined ? undefined : waitMs / 1000,
      failed ? errorType(error) : undefined,
      exemplar,
    );
  }

  #label(task: string, error: unknown): string {
    const known = this.#isTask(task);
    if (known !== undefined) return known ? task : OTHER_TASK;
    if (error instanceof UnknownTaskError) return OTHER_TASK;
    // Before any thread has said which tasks exist: the name, for a bounded number of names.
    if (this.#unconfirmed.has(task)) return task;
    if (this.#unconfirmed.size >= MAX_UNCONFIRMED_TASKS) return OTHER_TASK;
    this.#unconfirmed.add(task);
    return task;
  }
}
