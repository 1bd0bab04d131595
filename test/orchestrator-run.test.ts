import { afterEach, describe, expect, it } from 'vitest';
import {
  DataCloneError,
  InvalidConfigError,
  Orchestrator,
  TaskFailedError,
  UnknownTaskError,
  WorkerNotFoundError,
} from 'node-orchestrator';
import { closeAll, createOrchestrator, fixtureWorker } from './support/orchestrator.js';

afterEach(closeAll);

describe('Orchestrator.run', () => {
  it('returns what the named task returns', async () => {
    const orchestrator = createOrchestrator();
    await expect(orchestrator.run('add', { a: 2, b: 3 })).resolves.toBe(5);
    await expect(orchestrator.run('echo', { nested: [1, 'two'] })).resolves.toEqual({ nested: [1, 'two'] });
  });

  it("rejects with the worker's message, stack, error name and code, and the task name", async () => {
    const orchestrator = createOrchestrator();
    const error = (await orchestrator.run('fail', 'bad input').catch((e: unknown) => e)) as TaskFailedError;
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error.code).toBe('ERR_TASK_FAILED');
    expect(error.message).toBe('bad input');
    expect(error.taskName).toBe('fail');
    expect(error.remoteName).toBe('RangeError');
    expect(error.remoteCode).toBe('E_FIXTURE');
    expect(error.stack).toContain('fixtures/tasks.mjs');
    await expect(orchestrator.run('failAsync', 'later')).rejects.toMatchObject({
      code: 'ERR_TASK_FAILED',
      message: 'later',
    });
  });

  it('names the task and the exports when the module does not export it as a task', async () => {
    const orchestrator = createOrchestrator();
    const missing = orchestrator.run('nope', 1);
    await expect(missing).rejects.toBeInstanceOf(UnknownTaskError);
    await expect(missing).rejects.toThrow(/Unknown task "nope".*its tasks are: .*add.*echo/);
    await expect(orchestrator.run('notATask', 1)).rejects.toThrow(
      /"notATask" is exported but not wrapped with defineTask/,
    );
  });

  it('refuses an input that cannot be structured-cloned, and stays usable', async () => {
    const orchestrator = createOrchestrator();
    const error = (await orchestrator
      .run('echo', { fn: () => 1 })
      .catch((e: unknown) => e)) as DataCloneError;
    expect(error).toBeInstanceOf(DataCloneError);
    expect(error.message).toMatch(/input of task "echo" cannot be structured-cloned/);
    await expect(orchestrator.run('echo', 'still fine')).resolves.toBe('still fine');
    expect(orchestrator.inFlight).toBe(0);
  });

  it('moves input buffers listed in transferList instead of copying them', async () => {
    const orchestrator = createOrchestrator();
    const data = new Uint8Array(1024);
    const length = orchestrator.run('byteLength', data, { transferList: [data] });
    expect(data.byteLength).toBe(0);
    await expect(length).resolves.toBe(1024);
  });

  it('delivers a result marked with transfer() with its buffer intact', async () => {
    const orchestrator = createOrchestrator();
    const result = (await orchestrator.run('bytes', 4096)) as { data: Uint8Array; length: number };
    expect(result.length).toBe(4096);
    expect(result.data).toBeInstanceOf(Uint8Array);
    expect(result.data.byteLength).toBe(4096);
    expect(result.data.every((b) => b === 7)).toBe(true);
  });

  it('starts higher-priority runs first when they wait, even ahead of runs submitted earlier (#13)', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1 });
    const order: string[] = [];
    const runs = [
      orchestrator.run('echo', 'first'),
      orchestrator.run('echo', 'second'),
      orchestrator.run('echo', 'low', { priority: -1 }),
      orchestrator.run('echo', 'high', { priority: 5 }),
      orchestrator.run('echo', 'normal'),
    ].map((p) => p.then((v) => order.push(v as string)));
    await Promise.all(runs);
    // The scheduler names the run when a thread frees, so 'high' overtakes 'second'.
    expect(order).toEqual(['first', 'high', 'second', 'normal', 'low']);
  });

  it('rejects bad arguments without throwing synchronously', async () => {
    const orchestrator = createOrchestrator();
    await expect(orchestrator.run('' as never, 1)).rejects.toThrow(/task must be a non-empty string, got ""/);
    await expect(orchestrator.run('echo', 1, { timeoutMs: -5 })).rejects.toThrow(
      /timeoutMs must be an integer >= 1 \(ms\) or Infinity, got -5/,
    );
    await expect(orchestrator.run('echo', 1, { priority: Number.NaN })).rejects.toThrow(
      /priority must be a finite number/,
    );
    await expect(orchestrator.run('echo', 1, { signal: 'x' as never })).rejects.toThrow(
      /signal must be an AbortSignal/,
    );
    expect(orchestrator.inFlight).toBe(0);
  });
});

describe('Orchestrator construction', () => {
  it('refuses a worker module that does not exist, naming it', () => {
    expect(() => new Orchestrator({ worker: '/nonexistent/worker.mjs' })).toThrow(WorkerNotFoundError);
    expect(() => new Orchestrator({ worker: '/nonexistent/worker.mjs' })).toThrow(
      /\/nonexistent\/worker\.mjs/,
    );
  });

  it('names every bad option and its value in one error', () => {
    let error: unknown;
    try {
      new Orchestrator({ worker: fixtureWorker, minLimit: 0, maxQueue: -1, cancelGraceMs: 1.5 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/minLimit must be an integer >= 1, got 0/);
    expect(message).toMatch(/maxQueue must be an integer >= 0 \(or Infinity\), got -1/);
    expect(message).toMatch(/cancelGraceMs must be an integer >= 0 \(or Infinity\), got 1.5/);
    expect((error as InvalidConfigError).issues.map((i) => i.field)).toEqual([
      'minLimit',
      'maxQueue',
      'cancelGraceMs',
    ]);
  });

  it('refuses minLimit > maxLimit and a baseLimit outside the bounds', () => {
    expect(() => new Orchestrator({ worker: fixtureWorker, minLimit: 5, maxLimit: 2 })).toThrow(
      /minLimit must be <= maxLimit \(2\), got 5/,
    );
    expect(() => new Orchestrator({ worker: fixtureWorker, baseLimit: 9, maxLimit: 8 })).toThrow(
      /baseLimit must be within \[minLimit, maxLimit\] = \[1, 8\], got 9/,
    );
  });
});
