import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, NotCacheableError, type Orchestrator } from 'node-orchestrator';
import { defineTask } from 'node-orchestrator/worker';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

/** One sample of a metric, by its full series name (0 when absent). */
async function sample(orchestrator: Orchestrator, series: string): Promise<number> {
  const text = await orchestrator.registry!.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const ran = (o: Orchestrator, task: string, outcome = 'success') =>
  sample(o, `orchestrator_tasks_total{task="${task}",outcome="${outcome}"}`);

describe('result caching', () => {
  it('answers a repeated input from the cache without running the task again', async () => {
    const orchestrator = createOrchestrator({ cache: { tasks: ['add'] } });
    expect(await orchestrator.run('add', { a: 1, b: 2 })).toBe(3);
    expect(await orchestrator.run('add', { b: 2, a: 1 })).toBe(3); // keys in another order: one key
    expect(await orchestrator.run('add', { a: 2, b: 2 })).toBe(4);
    expect(await ran(orchestrator, 'add')).toBe(2);
    expect(await sample(orchestrator, 'orchestrator_cache_hits_total{task="add"}')).toBe(1);
    expect(await sample(orchestrator, 'orchestrator_cache_misses_total{task="add"}')).toBe(2);
    expect(await sample(orchestrator, 'orchestrator_cache_entries{task="add"}')).toBe(2);
  });

  it('freeze mode: every caller gets the same frozen result, which no caller can change', async () => {
    const orchestrator = createOrchestrator({ cache: { tasks: ['echo'] } });
    const first = (await orchestrator.run('echo', { list: [1, 2], nested: { n: 1 } })) as {
      list: number[];
      nested: { n: number };
    };
    expect(Object.isFrozen(first) && Object.isFrozen(first.list) && Object.isFrozen(first.nested)).toBe(true);
    expect(() => first.list.push(3)).toThrow(TypeError);
    expect(() => {
      first.nested.n = 2;
    }).toThrow(TypeError);
    const again = await orchestrator.run('echo', { list: [1, 2], nested: { n: 1 } });
    expect(again).toEqual({ list: [1, 2], nested: { n: 1 } });
  });

  it('clone mode, and values freezing cannot protect: each caller gets its own copy', async () => {
    const orchestrator = createOrchestrator({
      cache: { tasks: { echo: { immutability: 'clone' } } },
    });
    const first = (await orchestrator.run('echo', { list: [1, 2] })) as { list: number[] };
    expect(Object.isFrozen(first)).toBe(false);
    first.list.push(99);
    expect(await orchestrator.run('echo', { list: [1, 2] })).toEqual({ list: [1, 2] });
    // withBytes (cached by its worker, freeze mode) returns a typed array: cloned per caller.
    const bytes = (await orchestrator.run('withBytes', 1)) as { bytes: Uint8Array };
    bytes.bytes[0] = 255;
    expect(((await orchestrator.run('withBytes', 1)) as { bytes: Uint8Array }).bytes).toEqual(
      new Uint8Array([1, 2, 3]),
    );
    expect(await ran(orchestrator, 'withBytes')).toBe(1);
  });

  it('does not keep failures unless cacheFailures is set', async () => {
    const plain = createOrchestrator({ cache: { tasks: ['fail'] } });
    await expect(plain.run('fail', 'boom')).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    await expect(plain.run('fail', 'boom')).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    expect(await ran(plain, 'fail', 'error')).toBe(2);
    const keeping = createOrchestrator({ cache: { tasks: ['fail'], cacheFailures: true } });
    await expect(keeping.run('fail', 'boom')).rejects.toMatchObject({ remoteCode: 'E_FIXTURE' });
    await expect(keeping.run('fail', 'boom')).rejects.toMatchObject({ remoteCode: 'E_FIXTURE' });
    expect(await ran(keeping, 'fail', 'error')).toBe(1);
  });

  it('cache: false runs the task and keeps nothing', async () => {
    const orchestrator = createOrchestrator({ cache: { tasks: ['add'] } });
    await orchestrator.run('add', { a: 1, b: 1 }, { cache: false });
    await orchestrator.run('add', { a: 1, b: 1 });
    await orchestrator.run('add', { a: 1, b: 1 }, { cache: false });
    expect(await ran(orchestrator, 'add')).toBe(3);
    await expect(orchestrator.run('add', { a: 1, b: 1 }, { cache: 'no' as never })).rejects.toThrow(
      /cache must be a boolean, got "no"/,
    );
  });

  it('refuses an input it cannot key with ERR_NOT_CACHEABLE, unless a cacheKey or cache: false says how', async () => {
    const orchestrator = createOrchestrator({ cache: { tasks: ['byteLength'] } });
    const shared = new Uint8Array(new SharedArrayBuffer(4));
    const refused = orchestrator.run('byteLength', shared);
    await expect(refused).rejects.toBeInstanceOf(NotCacheableError);
    await expect(refused).rejects.toThrow(/The input is \(or views\) a SharedArrayBuffer/);
    expect(await orchestrator.run('byteLength', shared, { cache: false })).toBe(4);
    const keyed = createOrchestrator({
      cache: { tasks: { byteLength: { cacheKey: (input) => (input as Uint8Array).byteLength } } },
    });
    expect(await keyed.run('byteLength', shared)).toBe(4);
    expect(await keyed.run('byteLength', new Uint8Array(new SharedArrayBuffer(4)))).toBe(4);
    expect(await ran(keyed, 'byteLength')).toBe(1);
  });

  it('keeps at most maxBytes of results, evicting the least recently used', async () => {
    const orchestrator = createOrchestrator({ cache: { tasks: { sized: { maxBytes: 50_000 } } } });
    for (let i = 0; i < 40; i++) await orchestrator.run('sized', { length: 5_000 + i });
    const bytes = await sample(orchestrator, 'orchestrator_cache_bytes{task="sized"}');
    expect(bytes).toBeLessThanOrEqual(50_000);
    expect(bytes).toBeGreaterThan(40_000);
    const evictions = await sample(orchestrator, 'orchestrator_cache_evictions_total{task="sized"}');
    const entries = await sample(orchestrator, 'orchestrator_cache_entries{task="sized"}');
    expect(evictions + entries).toBe(40);
    // The most recent is kept; the first was evicted.
    await orchestrator.run('sized', { length: 5_039 });
    await orchestrator.run('sized', { length: 5_000 });
    expect(await ran(orchestrator, 'sized')).toBe(41);
  });

  it('keeps at most maxEntries results', async () => {
    const orchestrator = createOrchestrator({ cache: { tasks: ['echo'], maxEntries: 3 } });
    for (let i = 0; i < 10; i++) await orchestrator.run('echo', i);
    expect(await sample(orchestrator, 'orchestrator_cache_entries{task="echo"}')).toBe(3);
    expect(await sample(orchestrator, 'orchestrator_cache_evictions_total{task="echo"}')).toBe(7);
  });

  it('forgets a result after ttlMs', async () => {
    const orchestrator = createOrchestrator({ cache: { tasks: ['echo'], ttlMs: 1 } });
    await orchestrator.run('echo', 'x');
    // Expiry can only have happened once more than ttlMs has passed: no race either way.
    await sleep(30);
    await orchestrator.run('echo', 'x');
    expect(await ran(orchestrator, 'echo')).toBe(2);
  });

  it("honours the worker's defineTask cache declaration, which the orchestrator may turn off", async () => {
    const declared = createOrchestrator();
    await declared.taskNames(); // the declarations arrive with the first thread
    await declared.run('cachedEcho', 'a');
    await declared.run('cachedEcho', 'a');
    expect(await ran(declared, 'cachedEcho')).toBe(1);
    const off = createOrchestrator({ cache: { tasks: { cachedEcho: false } } });
    await off.run('cachedEcho', 'a');
    await off.run('cachedEcho', 'a');
    expect(await ran(off, 'cachedEcho')).toBe(2);
  });

  it('clearCache drops kept results', async () => {
    const orchestrator = createOrchestrator({ cache: { tasks: ['echo'] } });
    await orchestrator.run('echo', 1);
    orchestrator.clearCache('echo');
    await orchestrator.run('echo', 1);
    expect(await ran(orchestrator, 'echo')).toBe(2);
  });

  it('refuses bad cache options, naming each field and its value', () => {
    let caught: unknown;
    try {
      createOrchestrator({
        cache: {
          tasks: { echo: { maxBytes: 0 } },
          ttlMs: -1,
          immutability: 'deep' as never,
          cacheKey: 'id' as never,
        },
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidConfigError);
    expect((caught as InvalidConfigError).issues.map((i) => i.field).sort()).toEqual([
      'cache.cacheKey',
      'cache.immutability',
      'cache.tasks.echo.maxBytes',
      'cache.ttlMs',
    ]);
    expect(() => defineTask((x) => x, { cache: { maxEntries: 1.5 } })).toThrow(
      'defineTask(fn, options): cache.maxEntries must be an integer >= 1, got 1.5',
    );
    expect(() => defineTask((x) => x, { cache: { cacheKey: () => 'k' } as never })).toThrow(
      /cache\.cacheKey/,
    );
  });
});
