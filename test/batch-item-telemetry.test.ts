import type { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { edgeWorker, sampleSum } from './support/probe.js';

afterEach(closeAll);

/** Runs of `task` that ran to an answer, and the duration samples recorded for it. */
async function ranAndTimed(registry: Registry, task: string): Promise<{ ran: number; timed: number }> {
  const ran =
    (await sampleSum(registry, 'orchestrator_tasks_total', { task, outcome: 'success' })) +
    (await sampleSum(registry, 'orchestrator_tasks_total', { task, outcome: 'error' }));
  const timed = await sampleSum(
    registry,
    'orchestrator_task_duration_seconds',
    { task },
    'orchestrator_task_duration_seconds_count',
  );
  return { ran, timed };
}

describe('per-item worker time travels with each result (#11.10)', () => {
  it('#11.10 an item whose result arrives while another batch answers still gets its duration', async () => {
    const orchestrator = createOrchestrator({
      worker: edgeWorker,
      baseLimit: 2,
      maxLimit: 2,
      batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    const gate = new Gate();
    // Batch A: an async item (its result leaves at once), then an item held on the gate.
    const a = [
      orchestrator.run('probeAsync', { n: 0 }),
      orchestrator.run('probeAsync', { n: 1, shared: gate.shared }),
    ];
    await gate.waitStarted(1);
    // Batch B (another priority, so another batch) runs to its answer on the other thread
    // while A's first result is already on its way.
    await expect(orchestrator.run('probeAsync', { n: 2 }, { priority: 1 })).resolves.toBe(2);
    gate.release();
    await expect(Promise.all(a)).resolves.toEqual([0, 1]);
    expect(await ranAndTimed(orchestrator.registry!, 'probeAsync')).toEqual({ ran: 3, timed: 3 });
  });

  it('#11.10 every item of a map that ran gets a duration sample', async () => {
    const orchestrator = createOrchestrator({ worker: edgeWorker, baseLimit: 2, maxLimit: 2 });
    const inputs = Array.from({ length: 256 }, (_, n) => ({ n }));
    let ok = 0;
    for await (const record of orchestrator.map('probeAsync', inputs)) if (record.ok) ok++;
    expect(ok).toBe(256);
    expect(await ranAndTimed(orchestrator.registry!, 'probeAsync')).toEqual({ ran: 256, timed: 256 });
  });
});
