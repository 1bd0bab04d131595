import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, ClosedError } from 'node-orchestrator';
import { deferred } from './support/deferred.js';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

describe('Orchestrator.go and wait', () => {
  it('runs main-thread functions whose ctx.run calls pass the limiter; wait() joins them all', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1 });
    const totals: number[] = [];
    for (const base of [10, 20, 30]) {
      orchestrator.go(`sum-${base}`, async (ctx) => {
        const parts = await Promise.all([1, 2, 3].map((n) => ctx.run('add', { a: base, b: n })));
        totals.push(parts.reduce((a, b) => (a as number) + (b as number), 0) as number);
      });
    }
    // fn holds no slot: three functions fan out nine runs at limit 1 without deadlock.
    await orchestrator.wait();
    expect(totals.sort((a, b) => a - b)).toEqual([36, 66, 96]);
  });

  it('a failing function cancels every run started through any ctx with ERR_ABORTED; wait() rejects with the error', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 2,
      minLimit: 1,
      maxLimit: 2,
      cancelGraceMs: 60_000,
    });
    const gate = new Gate();
    const failure = deferred();
    let runOutcome: unknown;
    orchestrator.go('long', async (ctx) => {
      runOutcome = await ctx.run('gate', { shared: gate.shared }).catch((e: unknown) => e);
    });
    orchestrator.go('fails', () => failure.promise);
    await gate.waitStarted(1);
    failure.reject(new Error('bad record'));
    await expect(orchestrator.wait()).rejects.toThrow('bad record');
    expect(runOutcome).toBeInstanceOf(AbortedError);
    expect((runOutcome as AbortedError).cause).toEqual(new Error('bad record'));
    expect(orchestrator.inFlight).toBe(0);
  });

  it('runs outside the group (orchestrator.run) are not cancelled by a group failure', async () => {
    const orchestrator = createOrchestrator();
    const gate = new Gate();
    const outside = orchestrator.run('gate', { shared: gate.shared });
    orchestrator.go('fails', () => Promise.reject(new Error('x')));
    await expect(orchestrator.wait()).rejects.toThrow('x');
    gate.release();
    await expect(outside).resolves.toMatchObject({ released: true });
  });

  it('close() waits for go functions, then cancels them after closeTimeoutMs', async () => {
    const orchestrator = createOrchestrator({ closeTimeoutMs: 1, cancelGraceMs: 60_000 });
    const gate = new Gate();
    let seen: unknown;
    orchestrator.go('stuck', async (ctx) => {
      seen = await ctx.run('gate', { shared: gate.shared }).catch((e: unknown) => e);
    });
    await gate.waitStarted(1);
    await orchestrator.close();
    expect(seen).toBeInstanceOf(AbortedError);
    expect(() => orchestrator.go('late', () => undefined)).toThrow(ClosedError);
    await expect(orchestrator.wait()).rejects.toBeInstanceOf(AbortedError);
  });
});
