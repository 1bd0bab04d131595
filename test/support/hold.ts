import type { Orchestrator, RunOptions } from 'node-orchestrator';
import { Gate } from './gate.js';

/**
 * Both threads of a limit-2 orchestrator held by a probe each, on gates of their own. Releasing
 * `first` frees one thread, which then takes the waiting work one item at a time (the other
 * stays held), so the start log shows the order work leaves the scheduler.
 */
export async function holdBothThreads(
  orchestrator: Orchestrator,
  options: RunOptions = {},
): Promise<{ first: Gate; second: Gate; held: Promise<unknown[]> }> {
  const first = new Gate();
  const second = new Gate();
  const held = Promise.all(
    [first, second].map((gate, n) => orchestrator.run('probe', { n: -1 - n, shared: gate.shared }, options)),
  );
  held.catch(() => undefined);
  await first.waitStarted(1);
  await second.waitStarted(1);
  return { first, second, held };
}
