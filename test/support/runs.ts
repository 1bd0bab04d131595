import type { OrchestratorOptions } from 'node-orchestrator';

/**
 * The two paths a `run()` takes: alone, or coalesced into a batch with the runs of its tick.
 * A guarantee about runs holds on both, so tests run on both.
 */
export const RUN_MODES: readonly [string, Partial<OrchestratorOptions>][] = [
  ['a run', {}],
  ['a coalesced run', { batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity } }],
];

/** The error a promise rejects with; throws if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in result)) throw new Error(`expected a rejection, got ${String(result.value)}`);
  return result.error as Error;
}

/** What a settled run gave: its value, or its error's code. */
export function valueOrCode(result: PromiseSettledResult<unknown>): unknown {
  return result.status === 'fulfilled' ? result.value : (result.reason as { code?: string }).code;
}
