import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MapRecord } from 'node-orchestrator';
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

describe.runIf(requireRedis())('cancelling queued work', () => {
  let redis: RedisServer;
  let dir: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await redis.stop();
  });

  function setup(queue: string): QueueClient {
    dir = mkdtempSync(join(tmpdir(), 'queue-cancel-'));
    const client = new QueueClient({ queue, connection: redis.url, sweepIntervalMs: 200 });
    cleanups.push(() => client.close());
    return client;
  }

  async function nodeProcess(queue: string): Promise<NodeProcess> {
    const node = await startNodeProcess({
      queue,
      connection: redis.url,
      adaptive: false,
      baseLimit: 2,
      maxLimit: 2,
    });
    cleanups.push(() => stopNodeProcess(node));
    return node;
  }

  it('an aborted waiting job is removed from Redis and never runs', async () => {
    const client = setup('abort-waiting');
    const controller = new AbortController();
    const reason = new Error('changed my mind');
    const cancelled = client.run('countRuns', { dir, key: 'cancelled' }, { signal: controller.signal });
    await until(
      () => redis.cli('ZCARD', 'bull:abort-waiting:prioritized') === '1',
      'the job to wait in Redis',
    );
    controller.abort(reason);
    await expect(cancelled).rejects.toBe(reason);
    expect(redis.cli('ZCARD', 'bull:abort-waiting:prioritized')).toBe('0');
    // A node that starts now finds only the next job.
    const node = new QueueNode({
      worker: queueTasks,
      queue: 'abort-waiting',
      connection: redis.url,
      adaptive: false,
    });
    cleanups.push(() => node.close());
    expect(await client.run('countRuns', { dir, key: 'kept' })).toBe('kept');
    expect(markers(dir, 'runs')).toEqual([['kept']]);
  });

  it("an aborted running job fires ctx.signal in the worker thread on its node; run rejects with the signal's reason", async () => {
    const client = setup('abort-running');
    const node = await nodeProcess('abort-running');
    const controller = new AbortController();
    const reason = new Error('stop now');
    const running = client.run('holdOnce', { dir, key: 'a' }, { signal: controller.signal });
    await until(() => markers(dir, 'started').length === 1, 'the task to start on the node');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    // The task saw the abort in its worker thread, in the node's process.
    expect(markers(dir, 'aborted').map(([key, pid]) => [key, Number(pid)])).toEqual([['a', node.pid]]);
    // The job ends in BullMQ's failed state, with our code in its reason.
    const [failedId] = redis.cli('ZRANGE', 'bull:abort-running:failed', '0', '-1').split('\n');
    expect(redis.cli('HGET', `bull:abort-running:${failedId}`, 'failedReason')).toMatch(/^ERR_ABORTED: /);
  });

  it('aborting a map cancels its running jobs on their nodes and removes its waiting ones', async () => {
    const client = setup('abort-map');
    await nodeProcess('abort-map');
    const controller = new AbortController();
    const reason = new Error('enough');
    const inputs = Array.from({ length: 12 }, (_, i) => ({ dir, key: `k${i}` }));
    const iteration = (async () => {
      for await (const record of client.map('holdOnce', inputs, {
        signal: controller.signal,
        batchSize: 1,
      })) {
        throw new Error(`no record expected, got ${JSON.stringify(record)}`);
      }
    })();
    // The node holds 2 × limit = 4 jobs; 2 run, the rest wait in Redis or on the node.
    await until(() => markers(dir, 'started').length === 2, 'two tasks to start');
    controller.abort(reason);
    await expect(iteration).rejects.toBe(reason);
    const started = markers(dir, 'started')
      .map(([key]) => key)
      .sort();
    expect(
      markers(dir, 'aborted')
        .map(([key]) => key)
        .sort(),
    ).toEqual(started);
    expect(redis.cli('ZCARD', 'bull:abort-map:prioritized')).toBe('0');
    expect(redis.cli('LLEN', 'bull:abort-map:active')).toBe('0');
    expect(redis.cli('LLEN', 'bull:abort-map:wait')).toBe('0');
  });

  it('leaving a map early cancels what is in flight and waits until it has stopped', async () => {
    const client = setup('leave-map');
    await nodeProcess('leave-map');
    const inputs = [
      { dir, key: 'first' },
      ...Array.from({ length: 6 }, (_, i) => ({ dir, key: `held${i}` })),
    ];
    const seen: MapRecord[] = [];
    // "first" is released as soon as it starts; the others are held until the loop is left.
    writeFileSync(join(dir, 'release-first'), '');
    for await (const record of client.map('holdIdempotent', inputs, { batchSize: 1, ordered: true })) {
      seen.push(record);
      break;
    }
    expect(seen).toEqual([{ index: 0, ok: true, value: 'done first' }]);
    expect(client.jobsInFlight).toBe(0);
    expect(redis.cli('LLEN', 'bull:leave-map:active')).toBe('0');
    expect(
      markers(dir, 'aborted')
        .map(([key]) => key)
        .sort(),
    ).toEqual(
      markers(dir, 'started')
        .map(([key]) => key)
        .filter((key) => key !== 'first')
        .sort(),
    );
  });
});
