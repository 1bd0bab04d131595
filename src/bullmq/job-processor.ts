import type { Job } from 'bullmq';
import { AbortedError, OrchestratorError, TaskTimeoutError, WorkerCrashedError } from '../errors.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { RunOptions } from '../orchestrator/task-types.js';
import type { PayloadSettings } from './codec.js';
import { decodeJob, encodeResult, type JobRequest, type ResultData } from './envelope.js';
import { bullmq } from './peers.js';
import { failedReason } from './wire-error.js';
import { WorkClock } from './work-clock.js';

/** What a node's job processor needs. @internal */
export interface ProcessorHost {
  readonly orchestrator: Orchestrator;
  readonly payload: PayloadSettings;
  readonly nodeName: string;
  /** Aborted when `close()` stops waiting for the jobs the node holds. */
  readonly closing: AbortSignal;
  /** Measures the work of a job, for the client's job sizing. */
  readonly clock: WorkClock;
  /** Told how each job ended. */
  onJob(event: JobEvent): void;
}

/** How a node finished with a job. */
export type JobOutcome = 'completed' | 'failed' | 'cancelled' | 'handed_back';

/** What a node reports of each job it finished (its `'job'` event). */
export interface JobEvent {
  readonly jobId: string;
  /** The task, or undefined when the job's payload could not be read. */
  readonly task: string | undefined;
  readonly items: number;
  /** Items that ended in an error: their own, or all of them when the job did not complete. */
  readonly errors: number;
  readonly outcome: JobOutcome;
}

/** The BullMQ processor signature: a third parameter makes BullMQ hand over its cancel signal. @internal */
export type Processor = (
  job: Job,
  token: string | undefined,
  signal: AbortSignal | undefined,
) => Promise<ResultData>;

/**
 * The processor of a QueueNode's BullMQ worker: decodes a job, runs its items through the
 * node's Orchestrator (`run` for one, `map` for many) with a signal that fires when the client
 * cancels the job or the node closes, and encodes the outcomes as the job's return value.
 *
 * A task's own error is an item outcome (the job completes). The job itself fails, without
 * retries, when its payload is bad; when it had been running on a node that stopped answering
 * and its task is not idempotent; when its client cancelled it; or when the node closed before
 * a non-idempotent job finished. An idempotent job the closing node did not finish goes back to
 * the queue for another node.
 * @internal
 */
export function createProcessor(host: ProcessorHost): Processor {
  return async (job, token, signal) => {
    const id = job.id ?? '(no id)';
    let request: JobRequest;
    try {
      request = await decodeJob(id, job.name, job.data, host.payload);
    } catch (error) {
      host.onJob({ jobId: id, task: undefined, items: 0, errors: 0, outcome: 'failed' });
      throw unrecoverable(error as OrchestratorError);
    }
    const { task, items } = request;
    const report = (outcome: JobOutcome, errors = items.length): void =>
      host.onJob({ jobId: id, task, items: items.length, errors, outcome });
    const idempotent = (): Promise<boolean> => host.orchestrator.isIdempotent(task);
    if (job.stalledCounter > 0 && !(await idempotent())) {
      report('failed');
      throw unrecoverable(
        new WorkerCrashedError(
          `job ${id} of task "${task}" was running on a node that stopped answering (its lock expired); ` +
            'the task is not idempotent, so it was not run again',
        ),
      );
    }
    const started = performance.now();
    const before = await host.clock.read(task);
    const stop = new AbortController();
    const onCancel = (): void => stop.abort(new AbortedError(`job ${id} was cancelled by its client`));
    const onClose = (): void => stop.abort(host.closing.reason);
    signal?.addEventListener('abort', onCancel, { once: true });
    host.closing.addEventListener('abort', onClose, { once: true });
    const values: unknown[] = new Array<unknown>(items.length);
    const errors = new Map<number, unknown>();
    try {
      if (signal?.aborted === true) onCancel();
      await runItems(host.orchestrator, request, stop.signal, values, errors);
    } finally {
      signal?.removeEventListener('abort', onCancel);
      host.closing.removeEventListener('abort', onClose);
    }
    if (stop.signal.aborted) {
      if (signal?.aborted !== true && token !== undefined && (await idempotent())) {
        await job.moveToWait(token);
        report('handed_back', 0);
        throw new bullmq.WaitingError();
      }
      report(signal?.aborted === true ? 'cancelled' : 'failed');
      throw unrecoverable(stop.signal.reason as OrchestratorError);
    }
    const ms = WorkClock.workMs(
      before,
      await host.clock.read(task),
      items.length,
      performance.now() - started,
    );
    const result = await encodeResult(values, errors, { ms, node: host.nodeName, task }, host.payload);
    report('completed', errors.size);
    return result;
  };
}

/** Runs a job's items; each outcome lands in `values` or `errors`. Returns early once `signal` aborts. */
async function runItems(
  orchestrator: Orchestrator,
  request: JobRequest,
  signal: AbortSignal,
  values: unknown[],
  errors: Map<number, unknown>,
): Promise<void> {
  const { task, items, priority, deadline, tenant } = request;
  const remaining = deadline === undefined ? undefined : Math.ceil(deadline - Date.now());
  if (remaining !== undefined && remaining <= 0) {
    const error = new TaskTimeoutError(
      `Task "${task}" timed out before a node took its job (queue time included)`,
    );
    items.forEach((_, index) => errors.set(index, error));
    return;
  }
  // `tenant` rides along for the local scheduler (issue #13); today's RunOptions ignore it.
  const options: RunOptions & { tenant?: string | undefined } = {
    signal,
    priority,
    timeoutMs: remaining,
    tenant,
  };
  if (items.length === 1) {
    try {
      values[0] = await orchestrator.run(task, items[0], options);
    } catch (error) {
      errors.set(0, error);
    }
    return;
  }
  try {
    for await (const record of orchestrator.map(task, items, { signal, priority })) {
      if (record.ok) values[record.index] = record.value;
      else errors.set(record.index, record.error);
    }
  } catch (error) {
    if (signal.aborted) return;
    // The map itself failed (the orchestrator is closing): every item without an outcome shares it.
    items.forEach((_, index) => {
      if (!errors.has(index) && !(index in values)) errors.set(index, error);
    });
  }
}

/** A BullMQ UnrecoverableError (no retries) whose failedReason carries our code. */
function unrecoverable(error: OrchestratorError): Error {
  const reason = error instanceof OrchestratorError ? failedReason(error) : String(error);
  return new bullmq.UnrecoverableError(reason);
}
