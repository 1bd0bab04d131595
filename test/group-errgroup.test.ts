import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AbortedError, TaskGroup } from 'node-orchestrator';
import { deferred, flushMicrotasks, track } from './support/deferred.js';

describe('TaskGroup first error', () => {
  it('resolves wait() when every task succeeded', async () => {
    const group = new TaskGroup();
    const results: number[] = [];
    for (const n of [1, 2, 3]) group.go(async () => void results.push(await Promise.resolve(n)));
    await group.wait();
    expect(results.sort()).toEqual([1, 2, 3]);
    expect(group.aborted).toBe(false);
  });

  it('aborts the signal with the first rejection as its reason; every task sees it', async () => {
    const group = new TaskGroup();
    const boom = new Error('boom');
    const seen: unknown[] = [];
    const failing = deferred();
    for (let i = 0; i < 3; i++) {
      group.go(
        (signal) =>
          new Promise<void>((resolve) =>
            signal.addEventListener('abort', () => {
              seen.push(signal.reason);
              resolve();
            }),
          ),
      );
    }
    group.go(() => failing.promise);
    failing.reject(boom);
    await expect(group.wait()).rejects.toBe(boom);
    expect(group.signal.reason).toBe(boom);
    expect(seen).toEqual([boom, boom, boom]);
  });

  it('counts a synchronous throw as a failure', async () => {
    const group = new TaskGroup();
    const error = new TypeError('sync');
    group.go(() => {
      throw error;
    });
    expect(group.aborted).toBe(true);
    await expect(group.wait()).rejects.toBe(error);
  });

  it('wait() waits for every task, including one that ignores the abort', async () => {
    const group = new TaskGroup();
    const stubborn = deferred();
    group.go(() => stubborn.promise);
    group.go(() => Promise.reject(new Error('first')));
    const waiting = track(group.wait());
    await flushMicrotasks();
    expect(group.aborted).toBe(true);
    expect(waiting.settled).toBe(false);
    stubborn.resolve();
    await expect(waiting.promise).rejects.toThrow('first');
  });

  it('keeps later errors, in order, on errors; wait() rejects with the first', async () => {
    const group = new TaskGroup();
    const a = deferred();
    const b = deferred();
    const c = deferred();
    group.go(() => a.promise);
    group.go(() => b.promise);
    group.go(() => c.promise);
    b.reject('second-started fails first');
    await flushMicrotasks();
    c.reject('third');
    a.reject('first-started fails last');
    await expect(group.wait()).rejects.toBe('second-started fails first');
    expect(group.errors).toEqual(['second-started fails first', 'third', 'first-started fails last']);
  });
});

describe('TaskGroup limit', () => {
  it('runs at most limit tasks; go() queues FIFO beyond it and tryGo() refuses', async () => {
    const group = new TaskGroup({ limit: 2 });
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    gates.forEach((gate, i) =>
      group.go(() => {
        started.push(i);
        return gate.promise;
      }),
    );
    expect(started).toEqual([0, 1]);
    expect(group.active).toBe(2);
    expect(group.queued).toBe(2);
    expect(group.tryGo(() => undefined)).toBe(false);
    gates[1]!.resolve();
    await flushMicrotasks();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    await flushMicrotasks();
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]!.resolve();
    gates[3]!.resolve();
    await group.wait();
    expect(group.tryGo(() => undefined)).toBe(true);
    await group.wait();
  });

  it('runs a task queued when the group aborts once, with the aborted signal (errgroup: nothing is dropped)', async () => {
    const group = new TaskGroup({ limit: 1 });
    const first = deferred();
    const seen: boolean[] = [];
    group.go(() => first.promise);
    group.go((signal) => {
      seen.push(signal.aborted);
    });
    first.reject(new Error('stop'));
    await expect(group.wait()).rejects.toThrow('stop');
    expect(seen).toEqual([true]);
    expect(group.queued).toBe(0);
  });

  it('rejects a bad limit or fn naming the value', () => {
    expect(() => new TaskGroup({ limit: 0 })).toThrow(/limit must be a positive integer or Infinity, got 0/);
    expect(() => new TaskGroup({ limit: 1.5 })).toThrow(RangeError);
    expect(() => new TaskGroup({ signal: 'x' as never })).toThrow(/signal must be an AbortSignal, got "x"/);
    expect(() => new TaskGroup().go(42 as never)).toThrow(/fn must be a function, got 42/);
  });
});

describe('TaskGroup hierarchy and lifecycle', () => {
  it('aborts when the parent signal aborts, with its reason, and wait() rejects with it', async () => {
    const parent = new AbortController();
    const group = new TaskGroup({ signal: parent.signal });
    const task = deferred();
    let sawAbort = false;
    group.go((signal) => {
      signal.addEventListener('abort', () => (sawAbort = true));
      return task.promise;
    });
    parent.abort('shutting down');
    expect(group.signal.reason).toBe('shutting down');
    expect(sawAbort).toBe(true);
    task.resolve();
    await expect(group.wait()).rejects.toBe('shutting down');
  });

  it('a child group fails without failing the parent, and a parent failure cancels the child', async () => {
    const parent = new TaskGroup();
    const child = new TaskGroup({ signal: parent.signal });
    child.go(() => Promise.reject(new Error('child failed')));
    await expect(child.wait()).rejects.toThrow('child failed');
    expect(parent.aborted).toBe(false);

    const grandchildTask = deferred();
    const nested = new TaskGroup({ signal: parent.signal });
    let nestedSignal: AbortSignal | undefined;
    nested.go((signal) => {
      nestedSignal = signal;
      return grandchildTask.promise;
    });
    parent.go(() => Promise.reject(new Error('parent failed')));
    await flushMicrotasks();
    expect(nestedSignal?.aborted).toBe(true);
    expect((nestedSignal?.reason as Error).message).toBe('parent failed');
    grandchildTask.resolve();
    await expect(nested.wait()).rejects.toThrow('parent failed');
    await expect(parent.wait()).rejects.toThrow('parent failed');
  });

  it('a group created under an already-aborted signal starts aborted; its tasks run with that signal', async () => {
    const group = new TaskGroup({ signal: AbortSignal.abort('too late') });
    const reasons: unknown[] = [];
    group.go((signal) => {
      reasons.push(signal.reason);
    });
    expect(reasons).toEqual(['too late']);
    await expect(group.wait()).rejects.toBe('too late');
  });

  it('catches up on a parent abort that came while the group was idle (found by the property test)', async () => {
    const parent = new AbortController();
    const group = new TaskGroup({ signal: parent.signal });
    group.go(() => Promise.resolve());
    await group.wait();
    parent.abort('gone');
    expect(group.aborted).toBe(true);
    expect(group.signal.reason).toBe('gone');
    await expect(group.wait()).rejects.toBe('gone');
  });

  it('10,000 finished child groups leave no listener on a long-lived parent', async () => {
    const parent = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      const child = new TaskGroup({ signal: parent.signal });
      child.go(() => Promise.resolve());
      await child.wait();
    }
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });

  it('many tasks listening to the group signal raise no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const group = new TaskGroup();
      const gate = deferred();
      for (let i = 0; i < 50; i++) {
        group.go((signal) => {
          signal.addEventListener('abort', () => {});
          return gate.promise;
        });
      }
      gate.resolve();
      await group.wait();
      // Warnings are emitted on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('drains 100,000 queued synchronous tasks without deepening the stack', async () => {
    const group = new TaskGroup({ limit: 1 });
    let ran = 0;
    for (let i = 0; i < 100_000; i++)
      group.go(() => {
        ran++;
      });
    await group.wait();
    expect(ran).toBe(100_000);
  });

  it('may be reused after wait() resolved; a failed group stays failed, and a later go() still runs (#11.2)', async () => {
    const group = new TaskGroup();
    group.go(() => Promise.resolve());
    await group.wait();
    let secondRound = false;
    group.go(() => {
      secondRound = true;
    });
    await group.wait();
    expect(secondRound).toBe(true);

    group.go(() => Promise.reject(new Error('broken')));
    await expect(group.wait()).rejects.toThrow('broken');
    const afterFailure: boolean[] = [];
    group.go((signal) => {
      afterFailure.push(signal.aborted);
    });
    expect(afterFailure).toEqual([true]);
    expect(group.tryGo(() => undefined)).toBe(true);
    await expect(group.wait()).rejects.toThrow('broken');
  });

  it('asyncDispose aborts running work with ERR_ABORTED, waits for it, and is memoised', async () => {
    const group = new TaskGroup();
    const task = deferred();
    group.go((signal) => {
      signal.addEventListener('abort', () => task.resolve());
      return task.promise;
    });
    const disposing = group[Symbol.asyncDispose]();
    expect(group[Symbol.asyncDispose]()).toBe(disposing);
    await disposing;
    expect(group.signal.reason).toBeInstanceOf(AbortedError);
    expect(group.active).toBe(0);
  });
});
