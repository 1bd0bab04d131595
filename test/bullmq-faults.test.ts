import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, WorkerCrashedError, type MapRecord } from 'node-orchestrator';
import { QueueClient, QueueNode } from 'node-orchestrator/bullmq';
import {
  markers,
  queueTasks,
  startNodeProcess,
  stopNodeProcess,
  until,
  type NodeProcess,
} from './support/queue-node.js';
import { requireRedis, startRedis, type RedisServer } from './support/redis-server.js';

/** Short locks so a lost node's jobs come back in about two seconds. */
const FAST_LOCKS = { lockDurationMs: 2000, stalledIntervalMs: 500 };

describe.runIf(requireRedis())('faults', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  // After the Redis restart, one of these cleanups has twice outlasted the hook under full-suite
  // load (not reproduced alone; see the closing note of 2026-11-26). Each gets 15 s; one still
  // pending then is named on stderr and left behind, so that the report says which it is.
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 15_000)));
      const ended = await Promise.race([Promise.resolve(cleanup()), late]);
      clearTimeout(timer);
      if (ended === 'late')
        console.error(`bullmq-faults: cleanup still pending after 15 s: ${cleanup.toString()}`);
    }
  }, 90_000);

  async function setup(options: { appendonly?: boolean } = {}): Promise<{ redis: RedisServer; dir: string }> {
    const redis = await startRedis(options);
    const dir = mkdtempSync(join(tmpdir(), 'queue-faults-'));
    cleanups.push(() => redis.stop());
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return { redis, dir };
  }

  async function nodes(
    count: number,
    options: Parameters<typeof startNodeProcess>[0],
    killAfterMs?: number,
  ): Promise<NodeProcess[]> {
    const started = await Promise.all(Array.from({ length: count }, () => startNodeProcess(options)));
    for (const node of started) cleanups.push(() => stopNodeProcess(node, killAfterMs));
    return started;
  }

  function client(redis: RedisServer, queue: string): QueueClient {
    const created = new QueueClient({ queue, connection: redis.url, sweepIntervalMs: 500 });
    cleanups.push(() => created.close());
    return created;
  }

  async function collect(iterable: AsyncIterable<MapRecord>): Promise<Map<number, MapRecord[]>> {
    const byIndex = new Map<number, MapRecord[]>();
    for await (const record of iterable)
      byIndex.set(record.index, [...(byIndex.get(record.index) ?? []), record]);
    return byIndex;
  }

  /** Runs 18 held items on three nodes, SIGKILLs one once every node runs some, then releases them. */
  async function killOneOfThree(task: 'holdIdempotent' | 'holdOnce', queue: string) {
    const { redis, dir } = await setup();
    const started = await nodes(3, {
      queue,
      connection: redis.url,
      adaptive: false,
      baseLimit: 2,
      maxLimit: 2,
      ...FAST_LOCKS,
    });
    const inputs = Array.from({ length: 18 }, (_, i) => ({ dir, key: `k${i}` }));
    const results = collect(client(redis, queue).map(task, inputs, { batchSize: 1 }));
    await until(
      () => new Set(markers(dir, 'started').map(([, pid]) => pid)).size === 3,
      'every node to run tasks',
    );
    const [victim] = started as [NodeProcess];
    victim.child.kill('SIGKILL');
    await victim.exited;
    const onVictim = markers(dir, 'started')
      .filter(([, pid]) => Number(pid) === victim.pid)
      .map(([key]) => key);
    writeFileSync(join(dir, 'release'), '');
    const byIndex = await results;
    return { dir, inputs, byIndex, onVictim, victim };
  }

  it('SIGKILL of a node: its idempotent jobs run again elsewhere after the lock expires; every result arrives once', async () => {
    const { dir, inputs, byIndex, onVictim, victim } = await killOneOfThree(
      'holdIdempotent',
      'kill-idempotent',
    );
    expect(onVictim.length).toBeGreaterThan(0);
    expect([...byIndex.keys()].sort((a, b) => a - b)).toEqual(inputs.map((_, i) => i));
    for (const [index, records] of byIndex) {
      expect(records).toEqual([{ index, ok: true, value: `done k${index}` }]);
    }
    // What ran on the killed node ran again on a survivor.
    const reruns = markers(dir, 'started').filter(
      ([key, pid]) => onVictim.includes(key as string) && Number(pid) !== victim.pid,
    );
    expect(reruns.map(([key]) => key).sort()).toEqual([...onVictim].sort());
  });

  it('SIGKILL of a node: its jobs of a task that is not idempotent fail with WorkerCrashedError; the rest succeed, each once', async () => {
    const { dir, inputs, byIndex, onVictim } = await killOneOfThree('holdOnce', 'kill-once');
    expect([...byIndex.keys()].sort((a, b) => a - b)).toEqual(inputs.map((_, i) => i));
    const crashed: string[] = [];
    for (const [index, records] of byIndex) {
      expect(records).toHaveLength(1);
      const [record] = records as [MapRecord];
      if (record.ok) expect(record.value).toBe(`done k${index}`);
      else {
        expect(record.error).toBeInstanceOf(WorkerCrashedError);
        crashed.push(`k${index}`);
      }
    }
    // Every task that started on the killed node failed; at most the jobs it held (2 × limit) did.
    expect(crashed).toEqual(expect.arrayContaining(onVictim));
    expect(crashed.length).toBeLessThanOrEqual(4);
    // Nothing ran twice.
    const keys = markers(dir, 'started').map(([key]) => key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('Redis restarted mid-run with its append-only file: nodes and client reconnect, nothing is lost or doubled', async () => {
    const { redis, dir } = await setup({ appendonly: true });
    // A fetch whose reply the restart cut off leaves its job locked until the lock expires: short locks.
    // Under full-suite load this node's close() once outlasted the 30 s hook after the restart;
    // a clean close is other tests' subject, so it is killed if SIGTERM has not ended it in 10 s.
    await nodes(1, { queue: 'restart', connection: redis.url, adaptive: false, ...FAST_LOCKS }, 10_000);
    const inputs = Array.from({ length: 400 }, (_, i) => ({ dir, key: `r${i}` }));
    const byIndex = new Map<number, MapRecord[]>();
    let restarted = false;
    for await (const record of client(redis, 'restart').map('countRuns', inputs, { batchSize: 8 })) {
      byIndex.set(record.index, [...(byIndex.get(record.index) ?? []), record]);
      if (byIndex.size === 100 && !restarted) {
        restarted = true;
        await redis.restart();
      }
    }
    expect(restarted).toBe(true);
    expect(byIndex.size).toBe(400);
    for (const [index, records] of byIndex)
      expect(records).toEqual([{ index, ok: true, value: `r${index}` }]);
    expect(new Set(markers(dir, 'runs').map(([key]) => key)).size).toBe(400);
  });

  it('a job not made by our client fails alone with ERR_BAD_PAYLOAD in BullMQ; the node keeps working', async () => {
    const { redis } = await setup();
    const node = new QueueNode({
      worker: queueTasks,
      queue: 'foreign',
      connection: redis.url,
      adaptive: false,
      maxPayloadBytes: 1 << 20,
    });
    cleanups.push(() => node.close());
    const { Queue } = await import('bullmq');
    const queue = new Queue('foreign', { connection: { host: '127.0.0.1', port: redis.port } });
    cleanups.push(() => queue.close());
    const zlib = await import('node:zlib');
    const bomb = zlib.gzipSync(Buffer.alloc(8 << 20), { level: 1 }).toString('base64');
    const foreign: [string, unknown][] = [
      ['echo', { hello: 'world' }],
      ['echo', { no: 1, n: 1, z: 'n', p: 'not base64!' }],
      ['echo', { no: 1, n: 1, z: 'n', p: Buffer.from('not v8 data').toString('base64') }],
      ['echo', { no: 1, n: 2, z: 'n', p: Buffer.from([0xff, 0x0f, 0x49, 0x02]).toString('base64') }],
      ['echo', { no: 1, n: 1, z: 'g', p: bomb }],
      ['echo', { no: 1, n: 1, z: 'x', p: '' }],
    ];
    const jobs = await queue.addBulk(foreign.map(([name, data]) => ({ name, data })));
    const good = client(redis, 'foreign');
    expect(await good.run('echo', new Map([[1, 2n]]))).toEqual(new Map([[1, 2n]]));
    await until(async () => (await queue.getFailedCount()) === foreign.length, 'the foreign jobs to fail');
    const reasons = await Promise.all(
      jobs.map(async (job) => (await queue.getJob(job.id as string))?.failedReason),
    );
    expect(reasons.slice(0, 4).every((reason) => reason?.startsWith('ERR_BAD_PAYLOAD: '))).toBe(true);
    expect(reasons[4]).toMatch(/^ERR_PAYLOAD_TOO_LARGE: /);
    expect(reasons[5]).toMatch(/^ERR_BAD_PAYLOAD: /);
    expect(await good.run('echo', 'still working')).toBe('still working');
  });

  it("a vanished client's results expire: after its jobs ran, Redis holds a bounded number of keys", async () => {
    const { redis } = await setup();
    const queue = 'vanish';
    const options = {
      queue,
      connection: redis.url,
      retention: { completed: { count: 10 }, failed: { count: 10 } },
      eventsMaxLen: 50,
      count: 200,
    };
    const script = fileURLToPath(new URL('./fixtures/queue-submit.mjs', import.meta.url));
    const submitter = spawn(process.execPath, [script, JSON.stringify(options)], { stdio: 'ignore' });
    const gone = new Promise((resolve) => submitter.once('exit', resolve));
    cleanups.push(() => void submitter.kill('SIGKILL'));
    // The client queues 200 runs, then disappears without reading a result.
    await until(() => redis.cli('ZCARD', `bull:${queue}:prioritized`) === '200', 'the 200 jobs to be queued');
    submitter.kill('SIGKILL');
    await gone;
    const node = new QueueNode({ worker: queueTasks, queue, connection: redis.url, adaptive: false });
    cleanups.push(() => node.close());
    await until(
      () =>
        redis.cli('ZCARD', `bull:${queue}:completed`) === '10' &&
        redis.cli('ZCARD', `bull:${queue}:prioritized`) === '0' &&
        redis.cli('LLEN', `bull:${queue}:active`) === '0',
      'every job to run',
    );
    const keys = redis.cli('KEYS', `bull:${queue}:*`).split('\n');
    const jobHashes = keys.filter((key) => /^bull:vanish:[0-9a-f]{12}-\d+$/.test(key));
    expect(jobHashes.length).toBe(10);
    // The rest are the queue's own few keys (id, meta, events, completed, stalled-check…).
    expect(keys.length - jobHashes.length).toBeLessThanOrEqual(8);
    // 200 jobs wrote over 800 events; the stream is trimmed to about eventsMaxLen.
    expect(Number(redis.cli('XLEN', `bull:${queue}:events`))).toBeLessThanOrEqual(150);
  });

  it('close() hands idempotent jobs it cannot finish back to the queue, and fails the others with ERR_ABORTED', async () => {
    const { redis, dir } = await setup();
    const closing = new QueueNode({
      worker: queueTasks,
      queue: 'handback',
      connection: redis.url,
      adaptive: false,
      baseLimit: 1,
      maxLimit: 1,
      closeTimeoutMs: 200,
      ...FAST_LOCKS,
    });
    const c = client(redis, 'handback');
    const idempotent = c.run('holdIdempotent', { dir, key: 'again' });
    const once = c.run('holdOnce', { dir, key: 'once' }).catch((error: unknown) => error);
    await until(() => markers(dir, 'started').length === 1, 'the first task to start');
    await closing.close();
    expect(await once).toBeInstanceOf(AbortedError);
    writeFileSync(join(dir, 'release'), '');
    await nodes(1, { queue: 'handback', connection: redis.url, adaptive: false });
    expect(await idempotent).toBe('done again');
  });
});
