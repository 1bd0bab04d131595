import { afterEach, describe, expect, it } from 'vitest';
import type { Controller } from 'node-orchestrator';
import { closeAll, createOrchestrator, fixtureWorker } from './support/orchestrator.js';
import { sampleSum, samples } from './support/probe.js';

afterEach(closeAll);

/** Every value label `label` takes across the series of every metric on the registry. */
async function labelValues(
  registry: Parameters<typeof samples>[0],
  label: string,
  metric?: string,
): Promise<Set<string>> {
  const json = (await registry.getMetricsAsJSON()) as unknown as { name: string }[];
  const names = metric === undefined ? json.map((m) => m.name) : [metric];
  const values = new Set<string>();
  for (const name of names) {
    for (const sample of await samples(registry, name)) {
      const value = sample.labels[label];
      if (value !== undefined) values.add(String(value));
    }
  }
  return values;
}

describe('metric labels stay bounded and printable (#11.16)', () => {
  it('#11.16 taskNames() records no series: no label value carries a NUL byte', async () => {
    const orchestrator = createOrchestrator();
    expect(await orchestrator.taskNames()).toContain('echo');
    await orchestrator.run('echo', 1);
    const tasks = [...(await labelValues(orchestrator.registry!, 'task'))];
    expect(tasks.filter((task) => task.includes('\u0000'))).toEqual([]);
    expect(tasks).toContain('echo');
  });

  it('#11.16 runs of 50 unknown task names share one bounded task label value', async () => {
    const orchestrator = createOrchestrator();
    const known = new Set(await orchestrator.taskNames());
    const unknown = Array.from({ length: 50 }, (_, i) => `no-such-task-${i}`);
    const codes = await Promise.all(
      unknown.map((task) =>
        orchestrator.run(task, 1).then(
          () => 'resolved',
          (error: unknown) => (error as { code?: string }).code,
        ),
      ),
    );
    expect(new Set(codes)).toEqual(new Set(['ERR_UNKNOWN_TASK']));
    const tasks = await labelValues(orchestrator.registry!, 'task', 'orchestrator_tasks_total');
    const extra = [...tasks].filter((task) => !known.has(task));
    expect(extra.length).toBeLessThanOrEqual(1);
    // The totals stay exact under the shared value.
    expect(
      await sampleSum(orchestrator.registry!, 'orchestrator_tasks_total', { task: extra[0] ?? '' }),
    ).toBe(50);
  });

  it('#11.16 a custom controller’s reason strings are bounded like error types (32 names, then "other")', async () => {
    let step = 0;
    const controller: Controller = {
      name: 'chatty',
      // Alternates the limit so every step is a change, each with a reason never seen before.
      decide: () => ({ limit: step % 2 === 0 ? 2 : 1, reason: `reason-${step++}` as never }),
    };
    const orchestrator = createOrchestrator({
      worker: fixtureWorker,
      baseLimit: 1,
      minLimit: 1,
      maxLimit: 2,
      controller,
    });
    for (let i = 0; i < 100; i++) expect(await orchestrator.adapt()).toBeDefined();
    const reasons = await labelValues(orchestrator.registry!, 'reason', 'orchestrator_limit_changes_total');
    expect(reasons.size).toBeLessThanOrEqual(33);
    expect(await sampleSum(orchestrator.registry!, 'orchestrator_limit_changes_total')).toBe(100);
  });
});
