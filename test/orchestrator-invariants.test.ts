import { afterEach, describe, expect, it } from 'vitest';
import { Orchestrator } from 'node-orchestrator';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { seededRandom } from './support/random.js';

afterEach(closeAll);

type Kind = 'success' | 'error' | 'abort-queued' | 'abort-running' | 'timeout' | 'crash';

const expected: Record<Kind, (result: PromiseSettledResult<unknown>) => boolean> = {
  success: (r) => r.status === 'fulfilled',
  error: (r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_TASK_FAILED',
  'abort-queued': (r) => r.status === 'rejected' && r.reason === 'abort-queued',
  // A run aborted late may already have finished; either way it settles once.
  'abort-running': (r) => r.status === 'fulfilled' || r.reason === 'abort-running',
  timeout: (r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_TASK_TIMEOUT',
  crash: (r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_WORKER_CRASHED',
};

function submit(orchestrator: Orchestrator, kind: Kind, random: () => number): Promise<unknown> {
  switch (kind) {
    case 'success':
      return orchestrator.run('echo', kind);
    case 'error':
      return orchestrator.run('fail', kind);
    case 'abort-queued': {
      const controller = new AbortController();
      const run = orchestrator.run('spin', 1, { signal: controller.signal });
      controller.abort(kind);
      return run;
    }
    case 'abort-running': {
      const controller = new AbortController();
      const run = orchestrator.run('spin', 2, { signal: controller.signal });
      // Abort at a random later moment: queued, staged for a starting thread, running or already done.
      setTimeout(() => controller.abort(kind), Math.floor(random() * 20));
      return run;
    }
    case 'timeout':
      return orchestrator.run('spin', 200, { timeoutMs: 1 + Math.floor(random() * 10) });
    case 'crash':
      return orchestrator.run('exit', 1);
  }
}

describe('Orchestrator invariants', () => {
  it('every one of 2,000 mixed runs settles exactly once as its kind says, and no slot leaks', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 4, minLimit: 1, maxLimit: 4, cancelGraceMs: 50 });
    const random = seededRandom(2024);
    const kinds: Kind[] = ['success', 'error', 'abort-queued', 'abort-running', 'timeout'];
    const plan: Kind[] = Array.from({ length: 2000 }, (_, i) =>
      i % 100 === 50 ? 'crash' : kinds[Math.floor(random() * kinds.length)]!,
    );
    let settledCount = 0;
    const runs = plan.map((kind) => {
      const run = submit(orchestrator, kind, random);
      void run.then(
        () => settledCount++,
        () => settledCount++,
      );
      return run;
    });
    const results = await Promise.allSettled(runs);
    const wrong = results
      .map((result, i) => ({ kind: plan[i]!, result }))
      .filter(({ kind, result }) => !expected[kind](result));
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(settledCount).toBe(plan.length);
    expect(orchestrator.inFlight).toBe(0);
    expect(orchestrator.queued).toBe(0);
    await expect(orchestrator.run('echo', 'still serving')).resolves.toBe('still serving');
  });
});
