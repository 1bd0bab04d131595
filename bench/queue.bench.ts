/**
 * node-orchestrator/bullmq on one machine: a client, node processes and a redis-server of the
 * bench's own on loopback. Throughput through Redis against the same pool's local `map`, side by
 * side; bytes stored in Redis per payload encoding; a node SIGKILLed among three; and the cost of
 * a job to Redis, from which the throughput of more nodes is modelled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Orchestrator } from 'node-orchestrator';
import { QueueClient, type QueueNodeOptions } from 'node-orchestrator/bullmq';
import { startRedis, type RedisServer } from '../test/support/redis-server.js';
import { iterationsForMs } from './support/calibrate.js';
import { compare, median, type ComparisonResult } from './support/compare.js';

const THREADS = 2;
const POOL = { baseLimit: THREADS, minLimit: THREADS, maxLimit: THREADS, adaptive: false } as const;
const tasks = new URL('./fixtures/queue-tasks.mjs', import.meta.url);

interface NodeHandle {
  readonly pid: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts bench/fixtures/queue-node.mjs and resolves once it consumes. */
async function startNode(options: Omit<QueueNodeOptions, 'worker'>): Promise<NodeHandle> {
  const script = fileURLToPath(new URL('./fixtures/queue-node.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    void exited.then(() => reject(new Error('a queue node exited before it was ready')));
  });
  return {
    pid: child.pid as number,
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Consumes a map, checking every item came back and succeeded. */
async function drain(iterable: AsyncIterable<{ ok: boolean }>, expected: number): Promise<void> {
  let count = 0;
  for await (const record of iterable) {
    if (!record.ok) throw new Error('item failed');
    count++;
  }
  if (count !== expected) throw new Error(`map yielded ${count} records for ${expected} inputs`);
}

function* repeat<T>(value: T, count: number): Generator<T> {
  for (let i = 0; i < count; i++) yield value;
}

/** Redis's own CPU time so far, in ms (INFO cpu: the server's user + system time). */
function redisCpuMs(redis: RedisServer): number {
  const info = redis.cli('INFO', 'cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/**
 * Throughput through Redis (client → Redis → one node process → Redis → client) against the
 * same pool's local `map`, trivial items and 1 ms CPU items, side by side.
 */
export async function benchQueueThroughput(
  rounds = Number(process.env['BENCH_ROUNDS'] ?? 5),
): Promise<ComparisonResult[]> {
  const redis = await startRedis();
  const node = await startNode({ queue: 'bench', connection: redis.url, ...POOL });
  const client = new QueueClient({ queue: 'bench', connection: redis.url });
  const local = new Orchestrator({ worker: tasks, ...POOL });
  const cpu = iterationsForMs(1);
  const cases: [string, 'trivial' | 'cpu', unknown, number][] = [
    ['trivial items', 'trivial', 1, 100_000],
    ['1 ms CPU items', 'cpu', cpu, 1_000],
  ];
  try {
    await client.ready();
    const results: ComparisonResult[] = [];
    for (const [label, task, input, count] of cases) {
      results.push(
        await compare(
          `Through Redis: ${label}, one node of ${THREADS} threads, ${count.toLocaleString('en-US')} items per op`,
          [
            {
              name: 'local orchestrator.map',
              run: () => drain(local.map(task, repeat(input, count)), count),
            },
            {
              name: 'QueueClient.map → Redis → node process',
              run: () => drain(client.map(task, repeat(input, count)), count),
            },
          ],
          { itemsPerOp: count, rounds, timeMs: 1000, warmupMs: 300 },
        ),
      );
    }
    return results;
  } finally {
    await client.close();
    await local.close();
    await node.stop();
    await redis.stop();
  }
}

/** A SIGKILLed node among three: lost and duplicated results, and how long its orphans took. */
export async function benchQueueKill(): Promise<{
  items: number;
  lost: number;
  duplicated: number;
  orphans: number;
  killToOrphansDoneMs: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
}> {
  const locks = { lockDurationMs: 2000, stalledIntervalMs: 500 };
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'queue-kill-'));
  const nodes = await Promise.all(
    [0, 1, 2].map(() =>
      startNode({
        queue: 'kill',
        connection: redis.url,
        adaptive: false,
        baseLimit: 1,
        maxLimit: 1,
        ...locks,
      }),
    ),
  );
  const client = new QueueClient({ queue: 'kill', connection: redis.url, sweepIntervalMs: 1000 });
  const items = 600;
  const iterations = iterationsForMs(5);
  const seen = new Map<number, { at: number; pid: unknown }[]>();
  const victim = nodes[0]!;
  let killedAt = 0;
  try {
    for await (const record of client.map(
      'marked',
      Array.from({ length: items }, (_, i) => ({ dir, key: `k${i}`, iterations })),
      { batchSize: 4 },
    )) {
      seen.set(record.index, [
        ...(seen.get(record.index) ?? []),
        { at: performance.now(), pid: record.ok ? record.value : record.error },
      ]);
      if (seen.size === items / 3 && killedAt === 0) {
        victim.child.kill('SIGKILL');
        killedAt = performance.now();
      }
    }
    const started = readFileSync(join(dir, 'started'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '));
    const onVictim = new Set(
      started.filter(([, pid]) => Number(pid) === victim.pid).map(([key]) => Number(key!.slice(1))),
    );
    const orphans = [...onVictim].filter((index) => (seen.get(index)?.[0]?.at ?? 0) > killedAt);
    const orphansDone = Math.max(...orphans.map((index) => seen.get(index)![0]!.at));
    return {
      items,
      lost: items - seen.size,
      duplicated: [...seen.values()].filter((records) => records.length > 1).length,
      orphans: orphans.length,
      killToOrphansDoneMs: orphans.length > 0 ? orphansDone - killedAt : 0,
      ...locks,
    };
  } finally {
    await client.close();
    for (const node of nodes) await node.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One row of the Redis-cost measurement. */
export interface RedisCostRow {
  itemsPerJob: number;
  jobs: number;
  redisCpuMsPerJob: number;
  jobsPerRedisCore: number;
  itemsPerRedisCore: number;
}

/**
 * What one job costs Redis (its CPU time, from INFO, over a run of trivial items at a fixed job
 * size through one node), and so how many jobs and items one Redis core carries.
 */
export async function benchQueueRedisCost(): Promise<RedisCostRow[]> {
  const redis = await startRedis();
  const node = await startNode({ queue: 'cost', connection: redis.url, ...POOL });
  const client = new QueueClient({ queue: 'cost', connection: redis.url });
  const rows: RedisCostRow[] = [];
  try {
    await client.ready();
    for (const itemsPerJob of [1, 32, 512]) {
      const items = Math.min(200_000, itemsPerJob * 3000);
      await drain(
        client.map('trivial', repeat(1, itemsPerJob * 50), { batchSize: itemsPerJob }),
        itemsPerJob * 50,
      );
      const jobsBefore = client.jobsSubmitted;
      const cpuBefore = redisCpuMs(redis);
      await drain(client.map('trivial', repeat(1, items), { batchSize: itemsPerJob }), items);
      const jobs = client.jobsSubmitted - jobsBefore;
      const perJob = (redisCpuMs(redis) - cpuBefore) / jobs;
      rows.push({
        itemsPerJob,
        jobs,
        redisCpuMsPerJob: perJob,
        jobsPerRedisCore: 1000 / perJob,
        itemsPerRedisCore: (1000 / perJob) * (items / jobs),
      });
    }
    return rows;
  } finally {
    await client.close();
    await node.stop();
    await redis.stop();
  }
}

/** Measured: 1 ms CPU items on 1, 2 and 3 node processes of one thread each (this machine has 2 cores). */
export async function benchQueueNodes(): Promise<{ nodes: number; itemsPerSecond: number }[]> {
  const redis = await startRedis();
  const client = new QueueClient({ queue: 'scale', connection: redis.url });
  const nodes: NodeHandle[] = [];
  const cpu = iterationsForMs(1);
  const rows: { nodes: number; itemsPerSecond: number }[] = [];
  try {
    for (const count of [1, 2, 3]) {
      while (nodes.length < count) {
        nodes.push(
          await startNode({
            queue: 'scale',
            connection: redis.url,
            adaptive: false,
            baseLimit: 1,
            minLimit: 1,
            maxLimit: 1,
          }),
        );
      }
      const samples: number[] = [];
      for (let round = 0; round < 3; round++) {
        const items = 1500;
        const started = performance.now();
        await drain(client.map('cpu', repeat(cpu, items)), items);
        samples.push((items / (performance.now() - started)) * 1000);
      }
      rows.push({ nodes: count, itemsPerSecond: median(samples) });
    }
    return rows;
  } finally {
    await client.close();
    for (const node of nodes) await node.stop();
    await redis.stop();
  }
}
