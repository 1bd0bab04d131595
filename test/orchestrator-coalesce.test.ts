import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, InvalidConfigError, TaskFailedError, TaskTimeoutError } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator, fixtureWorker } from './support/orchestrator.js';
import { Orchestrator } from 'node-orchestrator';

afterEach(closeAll);

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function metric(body: string, pattern: RegExp): number {
  const match = pattern.exec(body);
  if (match === null) throw new Error(`no sample matches ${String(pattern)}`);
  return Number(match[1]);
}

describe('run() coalescing (the batch option)', () => {
  it('coalesced runs travel in batches and each resolves with its own result', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 2,
      maxLimit: 2,
      batch: { maxSize: 64, maxDelayMs: 5, maxBatchMs: Infinity },
    });
    const values = await Promise.all(range(1000).map((n) => orchestrator.run('echo', n)));
    expect(values).toEqual(range(1000));
    const body = await orchestrator.registry!.metrics();
    expect(body).toContain('orchestrator_tasks_total{task="echo",outcome="success"} 1000');
    expect(metric(body, /orchestrator_batch_size_sum (\d+)/)).toBe(1000);
    const batches = metric(body, /orchestrator_batch_size_count (\d+)/);
    expect(batches).toBeGreaterThanOrEqual(Math.ceil(1000 / 64));
    expect(batches).toBeLessThan(1000);
    expect(orchestrator.inFlight).toBe(0);
  });

  it('each coalesced run keeps its own error; the others in its batch succeed', async () => {
    const orchestrator = createOrchestrator({ batch: { maxSize: 32, maxDelayMs: 0, maxBatchMs: Infinity } });
    const settled = await Promise.allSettled(
      range(100).map((n) => orchestrator.run('doubleOrFail', { n, every: 10 })),
    );
    settled.forEach((result, n) => {
      if (n % 10 === 0) {
        expect(result.status).toBe('rejected');
        const error = (result as PromiseRejectedResult).reason as TaskFailedError;
        expect(error).toBeInstanceOf(TaskFailedError);
        expect(error.message).toBe(`bad item ${n}`);
      } else expect(result).toEqual({ status: 'fulfilled', value: n * 2 });
    });
  });

  it('a run cancelled before it starts rejects at once with its reason and never runs', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 1,
      maxLimit: 1,
      batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    const gate = new Gate();
    const runs = new Int32Array(new SharedArrayBuffer(16));
    const blocker = orchestrator.run('gateOrEcho', { n: 0, runs: runs.buffer, shared: gate.shared });
    await gate.waitStarted(1);
    const cancel = new AbortController();
    const waiting = range(3).map((i) =>
      orchestrator.run(
        'gateOrEcho',
        { n: i + 1, runs: runs.buffer },
        i === 1 ? { signal: cancel.signal } : {},
      ),
    );
    cancel.abort(new Error('not run 2'));
    await expect(waiting[1]).rejects.toThrow('not run 2');
    gate.release();
    await expect(blocker).resolves.toMatchObject({ released: true });
    await expect(waiting[0]).resolves.toBe(1);
    await expect(waiting[2]).resolves.toBe(3);
    expect([...runs]).toEqual([1, 1, 0, 1]);
  });

  it('a running coalesced run sees its own abort through ctx.throwIfAborted; its batch mates finish', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 1,
      maxLimit: 1,
      batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    const gate = new Gate();
    const runs = new Int32Array(new SharedArrayBuffer(12));
    const cancel = new AbortController();
    const results = [
      orchestrator.run(
        'gateOrEcho',
        { n: 0, runs: runs.buffer, shared: gate.shared },
        { signal: cancel.signal },
      ),
      orchestrator.run('gateOrEcho', { n: 1, runs: runs.buffer }),
      orchestrator.run('gateOrEcho', { n: 2, runs: runs.buffer }),
    ];
    await gate.waitStarted(1);
    cancel.abort(new Error('stop run 0'));
    await expect(results[0]).rejects.toThrow('stop run 0');
    await expect(Promise.all(results.slice(1))).resolves.toEqual([1, 2]);
    expect([...runs]).toEqual([1, 1, 1]);
    const body = await orchestrator.registry!.metrics();
    expect(metric(body, /orchestrator_batch_size_count (\d+)/)).toBe(1);
  });

  it('a coalesced run past its deadline rejects with ERR_TASK_TIMEOUT, counted as a timeout', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 1,
      maxLimit: 1,
      batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    const gate = new Gate();
    const results = [
      orchestrator.run('gate', { shared: gate.shared }, { timeoutMs: 30 }),
      orchestrator.run('echo', 1),
    ];
    await expect(results[0]).rejects.toBeInstanceOf(TaskTimeoutError);
    await expect(results[1]).resolves.toBe(1);
    const body = await orchestrator.registry!.metrics();
    expect(body).toContain('orchestrator_tasks_total{task="gate",outcome="timeout"} 1');
  });

  it('a failing group cancels its coalesced runs with ERR_ABORTED', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 1,
      maxLimit: 1,
      batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    const gate = new Gate();
    let inner: Promise<unknown> | undefined;
    orchestrator.go('blocked', (ctx) => {
      inner = ctx.run('gate', { shared: gate.shared });
      return inner;
    });
    await gate.waitStarted(1);
    orchestrator.go('fails', () => {
      throw new Error('group failure');
    });
    await expect(orchestrator.wait()).rejects.toThrow('group failure');
    await expect(inner).rejects.toBeInstanceOf(AbortedError);
  });

  it('close() sends the batches still forming and settles every coalesced run', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 1,
      maxLimit: 1,
      batch: { maxSize: 1000, maxDelayMs: 60_000, maxBatchMs: Infinity },
    });
    const gate = new Gate();
    const blocker = orchestrator.run('gate', { shared: gate.shared });
    await gate.waitStarted(1);
    // The pool is busy, so these wait for the batch to fill (it never will) or for close().
    const waiting = range(10).map((n) => orchestrator.run('echo', n));
    // Runs waiting for their batch count in the queue depth.
    expect(await orchestrator.registry!.metrics()).toMatch(/^orchestrator_queue_depth 10$/m);
    const closing = orchestrator.close();
    gate.release();
    await closing;
    await expect(blocker).resolves.toMatchObject({ released: true });
    await expect(Promise.all(waiting)).resolves.toEqual(range(10));
  });

  /** Two threads, batches of up to 8 at the default maxBatchMs, and how many runs have travelled in batches. */
  function twoThreadsCoalescing(): { orchestrator: Orchestrator; batched: () => Promise<number> } {
    const orchestrator = createOrchestrator({
      baseLimit: 2,
      maxLimit: 2,
      batch: { maxSize: 8, maxDelayMs: 0 },
    });
    const batched = async (): Promise<number> =>
      metric(await orchestrator.registry!.metrics(), /orchestrator_batch_size_sum (\d+)/);
    return { orchestrator, batched };
  }

  it("a task's runs go alone until one has been timed, then coalesce within about 8 ms of its work", async () => {
    const { orchestrator, batched } = twoThreadsCoalescing();
    // Untimed, each run goes alone (the one-task path): a first burst of long runs must not
    // all land in one batch on one thread while the others idle.
    await Promise.all(range(4).map(() => orchestrator.run('sleep', 20)));
    expect(await orchestrator.registry!.metrics()).not.toMatch(/orchestrator_batch_size_count [1-9]/);
    // Timed now at 20 ms a run (a sleep cannot take less): a batch would hold one, so still alone.
    await Promise.all(range(8).map(() => orchestrator.run('sleep', 20)));
    expect(await orchestrator.registry!.metrics()).not.toMatch(/orchestrator_batch_size_count [1-9]/);
    // A trivial task, once timed, coalesces: 8 runs of one tick share one or two batches.
    await orchestrator.run('echo', 0);
    await Promise.all(range(8).map((n) => orchestrator.run('echo', n)));
    expect(await batched()).toBe(8);
    const body = await orchestrator.registry!.metrics();
    expect(metric(body, /orchestrator_batch_size_count (\d+)/)).toBeLessThanOrEqual(2);
    expect(body).toContain('orchestrator_tasks_total{task="sleep",outcome="success"} 12');
  });

  it("forgets a slow first run (a cold start): of a task's first three timed runs, the fastest counts", async () => {
    const { orchestrator, batched } = twoThreadsCoalescing();
    // 100 ms, then two runs of next to nothing: a moving average alone would still read ~80 ms
    // and send every run alone; the fastest of the three says a batch may hold many.
    for (const ms of [100, 0, 0]) await orchestrator.run('sleep', ms);
    const before = await batched();
    await Promise.all(range(8).map(() => orchestrator.run('sleep', 0)));
    expect((await batched()) - before).toBe(8); // all eight travelled in batches
  });

  it('names bad batch options', () => {
    const make = (): Orchestrator =>
      new Orchestrator({ worker: fixtureWorker, adaptive: false, batch: { maxSize: 0, maxDelayMs: -1 } });
    expect(make).toThrow(InvalidConfigError);
    expect(make).toThrow(
      /batch\.maxSize must be an integer >= 1, got 0.*batch\.maxDelayMs must be an integer in \[0, 2147483647\], got -1/,
    );
    const zero = (): Orchestrator =>
      new Orchestrator({
        worker: fixtureWorker,
        adaptive: false,
        batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: 0 },
      });
    expect(zero).toThrow(/batch\.maxBatchMs must be a number > 0 \(or Infinity\), got 0/);
  });
});
