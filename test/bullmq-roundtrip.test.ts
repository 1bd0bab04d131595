import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataCloneError,
  PayloadTooLargeError,
  TaskFailedError,
  TaskTimeoutError,
  UnknownTaskError,
  type MapRecord,
} from 'node-orchestrator';
import { QueueClient, QueueNode } from 'node-orchestrator/bullmq';
import { queueTasks, until } from './support/queue-node.js';
import { requireRedis, startRedis, type RedisServer } from './support/redis-server.js';

describe.runIf(requireRedis())('QueueClient and QueueNode round trips', () => {
  let redis: RedisServer;
  let node: QueueNode;
  let client: QueueClient;

  beforeAll(async () => {
    redis = await startRedis();
    node = new QueueNode({
      worker: queueTasks,
      queue: 'roundtrip',
      connection: redis.url,
      adaptive: false,
      baseLimit: 2,
      maxLimit: 2,
    });
    client = new QueueClient({ queue: 'roundtrip', connection: redis.url, maxPayloadBytes: 64 * 1024 });
    await Promise.all([node.ready(), client.ready()]);
  });

  afterAll(async () => {
    await client.close();
    await node.close();
    await redis.stop();
  });

  const structured = {
    ints: new Int32Array([1, -2, 3]),
    floats: new Float64Array([0.5, Number.NaN, -0]),
    bytes: new Uint8Array([0, 255]),
    when: new Date(Date.UTC(2024, 1, 29, 12)),
    map: new Map<unknown, unknown>([
      ['a', 1n],
      [2, new Set(['x'])],
    ]),
    big: 2n ** 100n,
    nested: [undefined, null, { deep: [/re/gi] }],
  };

  it('run returns what the task returned, with typed arrays, Dates, Maps and bigint intact', async () => {
    const result = (await client.run('echo', structured)) as typeof structured;
    expect(result).toEqual(structured);
    expect(result.ints).toBeInstanceOf(Int32Array);
    expect(result.when).toBeInstanceOf(Date);
    expect(result.map.get('a')).toBe(1n);
    expect(result.big).toBe(2n ** 100n);
  });

  it('map yields one record per input, each equal to the local result, in order with ordered', async () => {
    const inputs = Array.from({ length: 300 }, (_, i) => ({
      i,
      at: new Date(i),
      v: BigInt(i) * 3n,
      a: new Float32Array([i]),
    }));
    const records: MapRecord[] = [];
    for await (const record of client.map('echo', inputs, { ordered: true })) records.push(record);
    expect(records.map((r) => r.index)).toEqual(inputs.map((_, i) => i));
    for (const record of records) {
      expect(record.ok).toBe(true);
      if (record.ok) expect(record.value).toEqual(inputs[record.index]);
    }
  });

  it('a task error crosses as TaskFailedError with its message, remote name, remote code and the worker stack', async () => {
    const error = await client.run('fail', 'bad input').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    const failed = error as TaskFailedError;
    expect(failed.name).toBe('TaskFailedError');
    expect(failed.code).toBe('ERR_TASK_FAILED');
    expect(failed.message).toBe('bad input');
    expect(failed.taskName).toBe('fail');
    expect(failed.remoteName).toBe('RangeError');
    expect(failed.remoteCode).toBe('E_FIXTURE');
    expect(failed.stack).toMatch(/queue-tasks\.mjs/);
    expect(failed.stack).toMatch(new RegExp(`on node ${node.name}, job `));
  });

  it('an unknown task crosses as UnknownTaskError; map gives each item its own error record', async () => {
    await expect(client.run('nope', 1)).rejects.toBeInstanceOf(UnknownTaskError);
    const records: MapRecord[] = [];
    for await (const record of client.map('fail', ['a', 'b', 'c'])) records.push(record);
    expect(records).toHaveLength(3);
    for (const record of records) {
      expect(record.ok).toBe(false);
      if (!record.ok) expect(record.error).toBeInstanceOf(TaskFailedError);
    }
    expect(records.map((r) => (r.ok ? '' : r.error.message)).sort()).toEqual(['a', 'b', 'c']);
  });

  it('an input over maxPayloadBytes rejects with PayloadTooLargeError before anything is queued', async () => {
    const error = await client
      .run(
        'echo',
        new Uint8Array(128 * 1024).map((_, i) => (i * 7919) % 251),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).limit).toBe(64 * 1024);
  });

  it('in a map, only the input that is too large or not serializable fails; its neighbours succeed', async () => {
    const big = new Uint8Array(100 * 1024).map((_, i) => (i * 7919) % 251);
    const inputs: unknown[] = [1, big, 2, () => 3, 4];
    const records = new Map<number, MapRecord>();
    for await (const record of client.map('echo', inputs, { batchSize: 5 }))
      records.set(record.index, record);
    expect(records.size).toBe(5);
    expect(records.get(1)).toMatchObject({ ok: false, error: expect.any(PayloadTooLargeError) as unknown });
    expect(records.get(3)).toMatchObject({ ok: false, error: expect.any(DataCloneError) as unknown });
    for (const index of [0, 2, 4])
      expect(records.get(index)).toEqual({ index, ok: true, value: inputs[index] });
  });

  it('timeoutMs rejects with TaskTimeoutError and stops the task on its node', async () => {
    await expect(client.run('spin', 60_000, { timeoutMs: 200 })).rejects.toBeInstanceOf(TaskTimeoutError);
    expect(await client.run('echo', 'after')).toBe('after');
  });

  it('a higher priority is taken first from a backlog', async () => {
    const paused = new QueueClient({ queue: 'priorities', connection: redis.url });
    const order: string[] = [];
    const runs = [-1, 0, 5, 0, 10].map((priority, i) =>
      paused.run('echo', `p${priority}#${i}`, { priority }).then((v) => order.push(v as string)),
    );
    await paused.ready();
    // Nothing consumes "priorities" until every job is in Redis: then one slot takes them in turn.
    await until(() => redis.cli('ZCARD', 'bull:priorities:prioritized') === '5', 'five prioritized jobs');
    const single = new QueueNode({
      worker: queueTasks,
      queue: 'priorities',
      connection: redis.url,
      adaptive: false,
      baseLimit: 1,
      minLimit: 1,
      maxLimit: 1,
      jobsPerSlot: 1,
    });
    await Promise.all(runs);
    await single.close();
    await paused.close();
    expect(order).toEqual(['p10#4', 'p5#2', 'p0#1', 'p0#3', 'p-1#0']);
  });
});
