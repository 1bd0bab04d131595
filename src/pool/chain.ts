/**
 * Fused pipeline stages inside one thread: each item goes through the chain's tasks in order,
 * each stage's output passed to the next as it is (no structured clone, no trip to the main
 * thread). A `transfer()` mark on an intermediate result is dropped — the value stays in this
 * thread — and only the last stage's mark moves buffers to the main thread.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { isTransfer, type Task } from '../worker/define-task.js';
import type { TaskContext } from '../worker/task-context.js';

/** A throw inside a chain: the position of the stage that threw, and what it threw. */
export class StageFailure extends Error {
  constructor(
    readonly stage: number,
    readonly error: unknown,
  ) {
    super(`stage ${stage} failed`);
  }
}

/** A stage's view of the item's context: its own task name, the item's cancellation state. */
class StageContext implements TaskContext {
  inner!: TaskContext;

  constructor(readonly taskName: string) {}

  get signal(): AbortSignal {
    return this.inner.signal;
  }

  get aborted(): boolean {
    return this.inner.aborted;
  }

  throwIfAborted(): void {
    this.inner.throwIfAborted();
  }
}

/** Runs one item through every stage; returns the last output (or a promise of it). */
export type Chain = (input: unknown, ctx: TaskContext) => unknown;

/**
 * Makes the chain of `fns` (named `names`). Items run one at a time, so each stage has one
 * context object for the whole batch, pointed at the running item's.
 * @param stageMs - time spent in each stage is added here.
 * @throws StageFailure (from the chain it returns) naming the stage that threw or rejected.
 */
export function makeChain(
  fns: readonly Task<unknown, unknown>[],
  names: readonly string[],
  stageMs: number[],
): Chain {
  const contexts = names.map((name) => new StageContext(name));
  const last = fns.length - 1;
  const from = (stage: number, value: unknown, ctx: TaskContext): unknown => {
    for (let k = stage; k <= last; k++) {
      const context = contexts[k] as StageContext;
      context.inner = ctx;
      const started = performance.now();
      let out: unknown;
      try {
        out = (fns[k] as Task<unknown, unknown>)(value, context);
      } catch (error) {
        stageMs[k] = (stageMs[k] ?? 0) + performance.now() - started;
        throw new StageFailure(k, error);
      }
      if (typeof (out as { then?: unknown } | null)?.then === 'function') {
        const next = k + 1;
        return Promise.resolve(out).then(
          (resolved) => {
            stageMs[k] = (stageMs[k] ?? 0) + performance.now() - started;
            return next > last ? resolved : from(next, unwrap(resolved), ctx);
          },
          (error: unknown) => {
            stageMs[k] = (stageMs[k] ?? 0) + performance.now() - started;
            throw error instanceof StageFailure ? error : new StageFailure(k, error);
          },
        );
      }
      stageMs[k] = (stageMs[k] ?? 0) + performance.now() - started;
      value = k === last ? out : unwrap(out);
    }
    return value;
  };
  return (input, ctx) => from(0, input, ctx);
}

function unwrap(value: unknown): unknown {
  return isTransfer(value) ? value.value : value;
}
