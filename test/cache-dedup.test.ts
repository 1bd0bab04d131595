import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, TaskTimeoutError } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

/** The gate fixture cached under a key of the test's choosing (its input holds shared memory). */
function gateCached(options: Record<string, unknown> = {}) {
  return createOrchestrator({
    baseLimit: 2,
    maxLimit: 2,
    cache: { tasks: { gate: { cacheKey: (input: unknown) => (input as { key: string }).key } } },
    ...options,
  });
}

/** How many runs of `task` settled with `outcome`, from the metrics. */
async function runs(
  orchestrator: ReturnType<typeof createOrchestrator>,
  task: string,
  outcome: string,
): Promise<number> {
  const text = await orchestrator.registry!.metrics();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`orchestrator_tasks_total{task="${task}",outcome="${outcome}"}`));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('in-flight deduplication', () => {
  it('concurrent identical runs share one execution and get one result', async () => {
    const orchestrator = gateCached();
    const gate = new Gate();
    const input = { shared: gate.shared, key: 'k' };
    const callers = [
      orchestrator.run('gate', input),
      orchestrator.run('gate', input),
      orchestrator.run('gate', input),
    ];
    await gate.waitStarted(1);
    gate.release();
    const results = await Promise.all(callers);
    expect(results.map((r) => (r as { released: boolean }).released)).toEqual([true, true, true]);
    expect(results[1]).toBe(results[0]); // frozen and shared
    expect(gate.started).toBe(1);
    const text = await orchestrator.registry!.metrics();
    expect(text).toContain('orchestrator_cache_deduplicated_total{task="gate"} 2');
    expect(text).toContain('orchestrator_cache_misses_total{task="gate"} 1');
  });

  it("one caller's abort detaches that caller alone: the run goes on and the others get its result", async () => {
    const orchestrator = gateCached();
    const gate = new Gate();
    const input = { shared: gate.shared, key: 'k' };
    const leaving = new AbortController();
    const first = orchestrator.run('gate', input, { signal: leaving.signal });
    const second = orchestrator.run('gate', input);
    await gate.waitStarted(1);
    const reason = new Error('caller one left');
    leaving.abort(reason);
    await expect(first).rejects.toBe(reason);
    gate.release();
    await expect(second).resolves.toMatchObject({ released: true });
    // Not cancelled: the run succeeded, and its result is kept for the next caller.
    expect(await runs(orchestrator, 'gate', 'success')).toBe(1);
    await expect(orchestrator.run('gate', input)).resolves.toMatchObject({ released: true });
    expect(gate.started).toBe(1);
  });

  it('a caller leaving by its timeout or its group detaches it alone', async () => {
    const orchestrator = gateCached();
    const gate = new Gate();
    const input = { shared: gate.shared, key: 'k' };
    const timed = orchestrator.run('gate', input, { timeoutMs: 20 });
    const waiting = orchestrator.run('gate', input);
    let grouped: Promise<unknown> | undefined;
    orchestrator.go('member', (ctx) => {
      grouped = ctx.run('gate', input);
      return grouped;
    });
    orchestrator.go('failing', () => {
      throw new Error('the group fails');
    });
    // Handlers first: under load the timeout may fire before the gate reports its start.
    const timedOut = timed.catch((error: unknown) => error);
    const groupLeft = (grouped as Promise<unknown>).catch((error: unknown) => error);
    await gate.waitStarted(1);
    expect(await timedOut).toBeInstanceOf(TaskTimeoutError);
    expect(await groupLeft).toBeInstanceOf(AbortedError);
    gate.release();
    await expect(waiting).resolves.toMatchObject({ released: true });
    expect(gate.started).toBe(1);
    await expect(orchestrator.wait()).rejects.toThrow('the group fails');
  });

  it('the shared run is cancelled only once every caller has left, and the next caller starts afresh', async () => {
    const orchestrator = gateCached();
    const gate = new Gate();
    const input = { shared: gate.shared, key: 'k' };
    const a = new AbortController();
    const b = new AbortController();
    const first = orchestrator.run('gate', input, { signal: a.signal });
    const second = orchestrator.run('gate', input, { signal: b.signal });
    await gate.waitStarted(1);
    a.abort(new Error('a left'));
    await expect(first).rejects.toThrow('a left');
    expect(orchestrator.inFlight).toBe(1); // still running for b
    b.abort(new Error('b left'));
    await expect(second).rejects.toThrow('b left');
    // The cooperative gate sees the abort and stops: nothing is left in the pool.
    await expect.poll(() => orchestrator.inFlight).toBe(0);
    expect(await runs(orchestrator, 'gate', 'aborted')).toBe(1);
    const third = orchestrator.run('gate', input);
    await gate.waitStarted(2);
    gate.release();
    await expect(third).resolves.toMatchObject({ released: true });
  });

  it('close() during a shared run lets it finish for every caller', async () => {
    const orchestrator = gateCached();
    const gate = new Gate();
    const input = { shared: gate.shared, key: 'k' };
    const callers = [orchestrator.run('gate', input), orchestrator.run('gate', input)];
    await gate.waitStarted(1);
    const closing = orchestrator.close();
    await expect(orchestrator.run('gate', input)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    gate.release();
    await expect(Promise.all(callers)).resolves.toHaveLength(2);
    await closing;
  });

  it('close() past its deadline cancels the shared run and rejects every caller with ERR_ABORTED', async () => {
    const orchestrator = gateCached({ closeTimeoutMs: 0 });
    const gate = new Gate();
    const input = { shared: gate.shared, key: 'k' };
    const callers = [orchestrator.run('gate', input), orchestrator.run('gate', input)];
    await gate.waitStarted(1);
    const outcomes = callers.map((caller) =>
      caller.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
    );
    await orchestrator.close();
    for (const outcome of await Promise.all(outcomes)) expect(outcome).toBeInstanceOf(AbortedError);
  });

  it('runs made before the first thread said hello wait for it, so they are deduplicated too', async () => {
    const orchestrator = createOrchestrator({ cache: { tasks: ['echo'] } });
    const callers = Array.from({ length: 5 }, () => orchestrator.run('echo', { same: 'input' }));
    const results = await Promise.all(callers);
    expect(results.every((r) => r === results[0])).toBe(true);
    expect(await runs(orchestrator, 'echo', 'success')).toBe(1);
  });
});
