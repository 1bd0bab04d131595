import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidConfigError,
  Orchestrator,
  UnknownTaskError,
  WorkerCrashedError,
  WorkerNotFoundError,
  type ExecutionOptions,
  type MapRecord,
} from 'node-orchestrator';
import { readFileSync } from 'node:fs';
import { get_encoding } from 'tiktoken';
import { closeAll, createOrchestrator, fixtureWorker } from './support/orchestrator.js';

afterEach(closeAll);

const moreTasks = new URL('./fixtures/other-tasks.mjs', import.meta.url);
const text = new URL('../dist/workers/text.js', import.meta.url);
const image = new URL('../dist/workers/image.js', import.meta.url);

/** An orchestrator on the fixture module as `fx` and the second fixture module as `more`. */
function twoModules(options: ExecutionOptions = {}): Orchestrator {
  return createOrchestrator({ workers: { fx: fixtureWorker, more: moreTasks }, ...options });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('several worker modules in one orchestrator (#14)', () => {
  it('runs each qualified name in its own module, though both export the name', async () => {
    const orchestrator = twoModules();
    expect(await orchestrator.run('fx.echo', 'hi')).toBe('hi');
    expect(await orchestrator.run('more.echo', 'hi')).toEqual({ module: 'other', input: 'hi' });
  });

  it('runs the shipped text and image workers in one pool: the tokenizer matches tiktoken', async () => {
    const orchestrator = createOrchestrator({ workers: { text, image }, baseLimit: 1, maxLimit: 1 });
    const sentences = ['hello world', 'Tokenize this, please.', 'ünïcödé and emoji 🚀', 'a<|im_start|>b'];
    const outputs = await Promise.all(sentences.map((s) => orchestrator.run('text.tokenize', s)));
    const cl100k = get_encoding('cl100k_base');
    try {
      outputs.forEach((output: unknown, i) => {
        const reference = cl100k.encode_ordinary(sentences[i] as string);
        expect(Array.from((output as { ids: Int32Array }).ids)).toEqual(Array.from(reference));
      });
    } finally {
      cl100k.free();
    }
    const png = readFileSync(new URL('./fixtures/images/chelsea.png', import.meta.url));
    const tensor = (await orchestrator.run('image.preprocessImage', { image: png, width: 8, height: 8 })) as {
      tensor: Float32Array;
      shape: number[];
    };
    expect(tensor.shape).toEqual([3, 8, 8]);
    expect(tensor.tensor).toHaveLength(3 * 8 * 8);
    // Namespace keys come in code-point order, and so do a module's task names.
    expect(await orchestrator.taskNames()).toEqual([
      'text.tokenize',
      'text.tokenizeBatch',
      'text.tokenizeJson',
      'image.preprocessImage',
    ]);
    // One pool: at limit 1 every task of either module ran on the one thread there is.
    expect(orchestrator.threads).toBe(1);
  });

  it('shares one pool and one limiter: tasks of both modules take turns on the same thread', async () => {
    const orchestrator = twoModules({ baseLimit: 1, maxLimit: 1 });
    const [a, b] = await Promise.all([
      orchestrator.run('fx.threadId', null),
      orchestrator.run('more.threadId', null),
    ]);
    expect(a).toBe(b);
    expect(orchestrator.limit).toBe(1);
  });

  it('lists qualified task names, module by module, in export order', async () => {
    const orchestrator = twoModules();
    const names = await orchestrator.taskNames();
    expect(names.filter((name) => name.startsWith('more.'))).toEqual([
      'more.echo',
      'more.exitOnceOn',
      'more.threadId',
    ]);
    expect(names.indexOf('fx.echo')).toBeLessThan(names.indexOf('more.echo'));
    expect(names.every((name) => /^(fx|more)\.\w+$/.test(name))).toBe(true);
  });

  it("names the module's tasks when a qualified name is not one of them", async () => {
    const orchestrator = twoModules();
    const error = await rejection(orchestrator.run('more.nope', 1));
    expect(error).toBeInstanceOf(UnknownTaskError);
    expect((error as Error).message).toBe(
      'Unknown task "more.nope": module "more" exports no task "nope"; its tasks are: more.echo, more.exitOnceOn, more.threadId',
    );
    const plain = (await rejection(orchestrator.run('more.notATask', 1))) as Error;
    expect(plain.message).toMatch(
      /"notATask" of module "more" is exported but not wrapped with defineTask\(\)/,
    );
  });

  it('explains an unqualified name and an unknown module, listing the modules', async () => {
    const orchestrator = twoModules();
    const bare = (await rejection(orchestrator.run('echo', 1))) as Error;
    expect(bare).toBeInstanceOf(UnknownTaskError);
    expect(bare.message).toMatch(
      /task names are qualified by module \("module\.task"\); the modules are fx, more; its tasks are: .*fx\.echo.*more\.echo/,
    );
    const nowhere = (await rejection(orchestrator.run('nowhere.echo', 1))) as Error;
    expect(nowhere.message).toMatch(/there is no worker module "nowhere"; the modules are fx, more/);
  });

  it('maps and coalesces over qualified names', async () => {
    const orchestrator = twoModules({ batch: { maxSize: 8, maxDelayMs: 1, maxBatchMs: Infinity } });
    const records = await collect(orchestrator.map('more.echo', [1, 2, 3], { ordered: true }));
    expect(records.map((r) => (r as MapRecord & { ok: true }).value)).toEqual([
      { module: 'other', input: 1 },
      { module: 'other', input: 2 },
      { module: 'other', input: 3 },
    ]);
    // Coalesced: the same tick's runs of two modules travel in separate batches, each to its own module.
    const results = await Promise.all([
      orchestrator.run('fx.echo', 'a'),
      orchestrator.run('more.echo', 'b'),
      orchestrator.run('fx.echo', 'c'),
    ]);
    expect(results).toEqual(['a', { module: 'other', input: 'b' }, 'c']);
  });

  it('runs qualified names from go()', async () => {
    const orchestrator = twoModules();
    let seen: unknown;
    orchestrator.go('job', async (ctx) => {
      seen = await ctx.run('more.echo', 5);
    });
    await orchestrator.wait();
    expect(seen).toEqual({ module: 'other', input: 5 });
  });

  it('keeps idempotent per qualified task: only the module that marked it runs a crashed item again', async () => {
    const orchestrator = twoModules({ baseLimit: 1, maxLimit: 1 });
    const inputs = (flag: SharedArrayBuffer) =>
      Array.from({ length: 100 }, (_, n) => ({ n, crashAt: 50, flag }));
    const safeFlag = new SharedArrayBuffer(4);
    const safe = await collect(orchestrator.map('fx.exitOnceOn', inputs(safeFlag), { ordered: true }));
    expect(Atomics.load(new Int32Array(safeFlag), 0)).toBe(1);
    expect(safe.every((r) => r.ok)).toBe(true);
    const unsafe = await collect(
      orchestrator.map('more.exitOnceOn', inputs(new SharedArrayBuffer(4)), { ordered: true }),
    );
    const failed = unsafe.filter((r) => !r.ok);
    expect(failed.map((r) => r.index)).toContain(50);
    for (const record of failed)
      expect((record as { error: Error }).error).toBeInstanceOf(WorkerCrashedError);
  });

  it('counts every module in one metric family, labelled by the qualified name', async () => {
    const orchestrator = twoModules();
    await Promise.all([
      orchestrator.run('fx.echo', 1),
      orchestrator.run('more.echo', 2),
      orchestrator.run('more.echo', 3),
    ]);
    await orchestrator.run('more.nope', 1).catch(() => undefined);
    const body = await orchestrator.registry!.metrics();
    expect(body).toContain('orchestrator_tasks_total{task="fx.echo",outcome="success"} 1');
    expect(body).toContain('orchestrator_tasks_total{task="more.echo",outcome="success"} 2');
    expect(body).toContain('orchestrator_task_duration_seconds_count{task="more.echo"} 2');
    // A name that is no task of any module is bounded like any other.
    expect(body).toContain('orchestrator_tasks_total{task="other",outcome="error"} 1');
    expect(body.match(/^# TYPE orchestrator_tasks_total /gm)).toHaveLength(1);
  });
});

describe('the workers option is validated like every option', () => {
  function invalid(options: Record<string, unknown>): InvalidConfigError {
    try {
      new Orchestrator(options as never);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      return error as InvalidConfigError;
    }
    return expect.fail('expected InvalidConfigError');
  }

  it('refuses worker and workers together, and neither', () => {
    expect(invalid({ worker: fixtureWorker, workers: { fx: fixtureWorker } }).issues).toEqual([
      {
        field: 'workers',
        value: { fx: fixtureWorker },
        expected: 'absent when worker is given (worker runs one module; workers names several)',
      },
    ]);
    expect(invalid({}).issues.map((issue) => issue.field)).toEqual(['worker']);
  });

  it('names each module whose name is not an identifier or whose location is not a module, in one error', () => {
    const error = invalid({
      workers: { 'a.b': fixtureWorker, '1x': fixtureWorker, ok: 42, web: new URL('https://x/y.js') },
    });
    expect(error.issues.map((issue) => [issue.field, issue.value])).toEqual([
      ['workers.a.b', 'a.b'],
      ['workers.1x', '1x'],
      ['workers.ok', 42],
      ['workers.web', 'https://x/y.js'],
    ]);
    expect(error.message).toMatch(/workers\.a\.b must be a module name that is an identifier/);
  });

  it('refuses an empty or non-object workers', () => {
    expect(invalid({ workers: {} }).issues[0]).toMatchObject({
      field: 'workers',
      expected: 'at least one module',
    });
    expect(invalid({ workers: [fixtureWorker] }).issues[0]).toMatchObject({ field: 'workers' });
    expect(invalid({ workers: 'tasks.mjs' }).issues[0]).toMatchObject({ field: 'workers' });
  });

  it('refuses a module that does not exist with ERR_WORKER_NOT_FOUND naming it, and builds nothing', () => {
    const missing = new URL('./fixtures/absent.mjs', import.meta.url);
    let error: unknown;
    try {
      new Orchestrator({ workers: { fx: fixtureWorker, gone: missing } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WorkerNotFoundError);
    expect((error as Error).message).toMatch(
      /The worker module "gone" \(workers\.gone\), .*absent\.mjs does not exist/,
    );
  });
});
