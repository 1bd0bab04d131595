/**
 * The queue suites of `npm run bench` (`npm run bench -- queue-throughput queue-payload
 * queue-kill queue-scaling`), each rendered as a report section.
 */
import { benchQueuePayload } from './queue-payload.bench.js';
import {
  benchQueueKill,
  benchQueueNodes,
  benchQueueRedisCost,
  benchQueueThroughput,
  type RedisCostRow,
} from './queue.bench.js';
import { toMarkdown } from './support/compare.js';

interface Section {
  name: string;
  markdown: string;
  data: unknown;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Jobs/s one Redis core carries at `itemsPerJob`, interpolated (log-log) between measured sizes. */
function jobsPerCore(rows: readonly RedisCostRow[], itemsPerJob: number): number {
  const sorted = [...rows].sort((a, b) => a.itemsPerJob - b.itemsPerJob);
  const lower = [...sorted].reverse().find((r) => r.itemsPerJob <= itemsPerJob) ?? sorted[0]!;
  const upper = sorted.find((r) => r.itemsPerJob >= itemsPerJob) ?? sorted.at(-1)!;
  if (lower === upper) return lower.jobsPerRedisCore;
  const t = Math.log(itemsPerJob / lower.itemsPerJob) / Math.log(upper.itemsPerJob / lower.itemsPerJob);
  return Math.exp(
    Math.log(lower.jobsPerRedisCore) + t * Math.log(upper.jobsPerRedisCore / lower.jobsPerRedisCore),
  );
}

export const queueSuites: Record<string, () => Promise<Section>> = {
  'queue-throughput': async () => {
    const results = await benchQueueThroughput();
    return { name: 'queue-throughput', markdown: results.map(toMarkdown).join('\n\n'), data: results };
  },
  'queue-payload': async () => {
    const rows = await benchQueuePayload();
    const encodings = Object.keys(rows[0]?.stored ?? {});
    return {
      name: 'queue-payload',
      data: rows,
      markdown: [
        "### Bytes a job's payload takes in Redis (the job's `data` field), by encoding",
        '',
        `| corpus (one job) | v8 bytes | ${encodings.join(' | ')} |`,
        `| --- | ---: | ${encodings.map(() => '---:').join(' | ')} |`,
        ...rows.map(
          (r) =>
            `| ${r.corpus} | ${int(r.serialized)} | ${encodings
              .map((e) => `${int(r.stored[e]!.bytes)} (${r.stored[e]!.encodeMs.toFixed(2)} ms)`)
              .join(' | ')} |`,
        ),
        '',
        'In parentheses: the median time to encode the job (serialize, compress, base64) on this machine.',
      ].join('\n'),
    };
  },
  'queue-kill': async () => {
    const r = await benchQueueKill();
    return {
      name: 'queue-kill',
      data: r,
      markdown: [
        '### A node SIGKILLed among three (5 ms CPU items, 4 per job, idempotent task)',
        '',
        `${int(r.items)} items: ${r.lost} lost, ${r.duplicated} duplicated; ${r.orphans} items the killed node was running finished on the others ` +
          `${(r.killToOrphansDoneMs / 1000).toFixed(2)} s after the kill (lockDurationMs ${r.lockDurationMs}, stalledIntervalMs ${r.stalledIntervalMs}: ` +
          'a lost job comes back within about lockDurationMs + stalledIntervalMs).',
      ].join('\n'),
    };
  },
  'queue-scaling': async () => {
    const cost = await benchQueueRedisCost();
    const nodes = await benchQueueNodes();
    const perNodeCore = nodes[0]!.itemsPerSecond;
    const model = [
      ['1 ms CPU items, ~40 per job (the 50 ms job target)', 1000 / 1, 40],
      ['20 µs items, 512 per job', 1000 / 0.02, 512],
    ].map(([label, perCore, perJob]) => {
      const redisItems = jobsPerCore(cost, perJob as number) * (perJob as number);
      const nodeItems = (perCore as number) * 8 * (perNodeCore / 1000);
      return { label: label as string, redisItems, nodeItems, knee: redisItems / nodeItems };
    });
    return {
      name: 'queue-scaling',
      data: { cost, nodes, model },
      markdown: [
        '### What a job costs Redis (trivial items, one node; Redis CPU from INFO)',
        '',
        '| items per job | jobs | Redis CPU per job | jobs/s per Redis core | items/s per Redis core |',
        '| ---: | ---: | ---: | ---: | ---: |',
        ...cost.map(
          (r) =>
            `| ${r.itemsPerJob} | ${int(r.jobs)} | ${(r.redisCpuMsPerJob * 1000).toFixed(0)} µs | ${int(r.jobsPerRedisCore)} | ${int(r.itemsPerRedisCore)} |`,
        ),
        '',
        '### Measured: 1 ms CPU items on node processes of one thread each (this machine: 2 cores)',
        '',
        '| nodes | items/s |',
        '| ---: | ---: |',
        ...nodes.map((r) => `| ${r.nodes} | ${int(r.itemsPerSecond)} |`),
        '',
        '### Model: nodes of 8 cores until Redis (one core) saturates',
        '',
        `Each node core does ${int(perNodeCore)} items/s of 1 ms work as measured above; Redis carries the measured jobs/s per core at the job size.`,
        '',
        '| work | one 8-core node, items/s | Redis limit, items/s | nodes before Redis is the bottleneck |',
        '| --- | ---: | ---: | ---: |',
        ...model.map(
          (m) => `| ${m.label} | ${int(m.nodeItems)} | ${int(m.redisItems)} | ${m.knee.toFixed(0)} |`,
        ),
      ].join('\n'),
    };
  },
};
