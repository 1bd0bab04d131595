/**
 * `npm run bench`: runs every benchmark side by side, prints the tables, and writes
 * bench/results/latest.json and bench/results/REPORT.md with the machine they came from.
 * Pass names to run a subset: `npm run bench -- limiter overhead`. Long suites run only when
 * named (`npm run bench:knee` names adaptive-knee).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { pathToFileURL } from 'node:url';
import { benchAbortLatency } from './abort-latency.bench.js';
import { benchCacheHit, benchCacheMemory, benchCacheRepeat } from './cache.bench.js';
import { benchPipeline, benchPipelineMemory } from './pipeline.bench.js';
import { benchBatch, benchCoalesce, benchMapLatency, benchMapMemory } from './batch.bench.js';
import { benchRealWorkers, benchSimulation } from './adaptive.bench.js';
import { benchKnee } from './adaptive-knee.bench.js';
import { benchGcThreads, gcThreadsMarkdown } from './gc-threads.bench.js';
import { benchLimiter } from './limiter.bench.js';
import { benchModules, modulesMarkdown } from './modules.bench.js';
import { benchOverhead } from './overhead.bench.js';
import { benchImages, benchPreprocessMemory, benchTokenize } from './preprocess.bench.js';
import { benchRunMemory, benchScaling } from './scaling.bench.js';
import { benchService, serviceMarkdown } from './service.bench.js';
import { benchTaskMetrics } from './task-metrics.bench.js';
import { benchTelemetry } from './telemetry.bench.js';
import { benchTenants } from './tenants.bench.js';
import { queueSuites } from './queue-report.js';
import { benchTracing } from './tracing.bench.js';
import { toMarkdown, type ComparisonResult } from './support/compare.js';

/** One section of the report. */
interface Section {
  name: string;
  markdown: string;
  data: unknown;
}

type Suite = () => Promise<Section>;

const comparison =
  (name: string, run: () => Promise<ComparisonResult | ComparisonResult[]>): Suite =>
  async () => {
    const results = [await run()].flat();
    return { name, markdown: results.map(toMarkdown).join('\n\n'), data: results };
  };

// Written into the repository's bench/results whether this runs from source or compiled.
const resultsDir = new URL('bench/results/', pathToFileURL(`${process.cwd()}/`));

const suites: Record<string, Suite> = {
  'adaptive-model': () => {
    const report = benchSimulation(resultsDir);
    return Promise.resolve({ name: 'adaptive-model', markdown: report.markdown, data: report.charts });
  },
  'adaptive-real': async () => {
    const result = await benchRealWorkers();
    return { name: 'adaptive-real', markdown: result.markdown, data: result.rows };
  },
  'adaptive-knee': async () => {
    const result = await benchKnee();
    return { name: 'adaptive-knee', markdown: result.markdown, data: result };
  },
  'gc-threads': async () => {
    const rows = await benchGcThreads();
    return { name: 'gc-threads', data: rows, markdown: gcThreadsMarkdown(rows) };
  },
  limiter: comparison('limiter', () => benchLimiter()),
  tenants: async () => {
    const report = await benchTenants(resultsDir);
    return { name: 'tenants', markdown: report.markdown, data: report };
  },
  overhead: comparison('overhead', () => benchOverhead()),
  telemetry: comparison('telemetry', () => benchTelemetry()),
  tracing: comparison('tracing', () => benchTracing()),
  modules: async () => {
    const rows = await benchModules();
    return { name: 'modules', data: rows, markdown: modulesMarkdown(rows) };
  },
  'task-metrics': async () => {
    const { result, observations } = await benchTaskMetrics();
    const ratio = result.rows[1]!.ratio;
    return {
      name: 'task-metrics',
      data: { ...result, observations },
      markdown: `${toMarkdown(result)}\n\n${observations.toLocaleString('en-US')} observations recorded in all, every one found on the registry; goal ≥ 0.95: ${ratio >= 0.95 ? 'met' : 'missed'} (${ratio.toFixed(3)}).`,
    };
  },
  batch: comparison('batch', () => benchBatch()),
  coalesce: comparison('coalesce', () => benchCoalesce()),
  scaling: async () => {
    const rows = await benchScaling();
    return {
      name: 'scaling',
      data: rows,
      markdown: [
        '### Scaling on 1 ms CPU tasks (efficiency against ideal linear scaling)',
        '',
        '| threads | tasks/s | efficiency |',
        '| ---: | ---: | ---: |',
        ...rows.map(
          (r) =>
            `| ${r.threads} | ${Math.round(r.tasksPerSecond).toLocaleString('en-US')} | ${r.efficiency.toFixed(2)} |`,
        ),
      ].join('\n'),
    };
  },
  'run-memory': async () => {
    const rows = await benchRunMemory();
    return {
      name: 'run-memory',
      data: rows,
      markdown: [
        '### Memory while 1,000,000 trivial tasks stream through run() (64 in flight)',
        '',
        '| tasks | heap MiB | RSS MiB |',
        '| ---: | ---: | ---: |',
        ...rows.map((r) => `| ${r.tasks.toLocaleString('en-US')} | ${r.heapMiB} | ${r.rssMiB} |`),
      ].join('\n'),
    };
  },
  'map-latency': async () => {
    const r = await benchMapLatency();
    return {
      name: 'map-latency',
      data: r,
      markdown: `### map latency at half of peak (20 µs tasks)\n\nOffered ${Math.round(r.offeredPerSecond).toLocaleString('en-US')} items/s: p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms from an item entering to its result leaving.`,
    };
  },
  'map-memory': async () => {
    const rows = await benchMapMemory();
    return {
      name: 'map-memory',
      data: rows,
      markdown: [
        '### map memory over 5,000,000 generated inputs',
        '',
        '| items | heap MiB | RSS MiB |',
        '| ---: | ---: | ---: |',
        ...rows.map((r) => `| ${r.items.toLocaleString('en-US')} | ${r.heapMiB} | ${r.rssMiB} |`),
      ].join('\n'),
    };
  },
  'preprocess-text': async () => {
    const { result, cpu, markdown } = await benchTokenize();
    return { name: 'preprocess-text', markdown, data: { result, cpu } };
  },
  'preprocess-image': async () => {
    const { result, cpu, markdown } = await benchImages();
    return { name: 'preprocess-image', markdown, data: { result, cpu } };
  },
  'preprocess-memory': async () => {
    const rows = await benchPreprocessMemory();
    return {
      name: 'preprocess-memory',
      data: rows,
      markdown: [
        '### Memory per pool thread of the shipped workers (process RSS gained / threads)',
        '',
        '| what | RSS MiB per thread |',
        '| --- | ---: |',
        ...rows.map((r) => `| ${r.what} | ${r.rssMiBPerThread} |`),
      ].join('\n'),
    };
  },
  service: async () => {
    const report = await benchService();
    return { name: 'service', data: report, markdown: serviceMarkdown(report) };
  },
  ...queueSuites,
  cache: comparison('cache', async () => [await benchCacheHit(), await benchCacheRepeat()]),
  'cache-memory': async () => {
    const rows = await benchCacheMemory();
    return {
      name: 'cache-memory',
      data: rows,
      markdown: [
        '### Memory while 1,000,000 distinct inputs stream through a cached task (maxBytes 8 MiB, maxEntries 200,000, 64 in flight)',
        '',
        '| calls | heap MiB | RSS MiB | cache MiB |',
        '| ---: | ---: | ---: | ---: |',
        ...rows.map(
          (r) => `| ${r.calls.toLocaleString('en-US')} | ${r.heapMiB} | ${r.rssMiB} | ${r.cacheMiB} |`,
        ),
      ].join('\n'),
    };
  },
  pipeline: comparison('pipeline', () => benchPipeline()),
  'pipeline-memory': async () => {
    const rows = await benchPipelineMemory();
    return {
      name: 'pipeline-memory',
      data: rows,
      markdown: [
        '### Pipeline memory: three fused trivial stages over 5,000,000 generated inputs',
        '',
        '| items | heap MiB | RSS MiB |',
        '| ---: | ---: | ---: |',
        ...rows.map((r) => `| ${r.items.toLocaleString('en-US')} | ${r.heapMiB} | ${r.rssMiB} |`),
      ].join('\n'),
    };
  },
  'abort-latency': async () => {
    const result = await benchAbortLatency();
    return {
      name: 'abort-latency',
      data: result,
      markdown: [
        '### Abort-to-stop latency (synchronous loop calling ctx.throwIfAborted)',
        '',
        `${result.trials} runs: p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms, max ${result.maxMs.toFixed(3)} ms`,
      ].join('\n'),
    };
  },
};

/** The machine a report came from. */
export function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** Suites of many minutes, run only when named. */
const LONG = new Set(['adaptive-knee']);

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(suites).filter((name) => !LONG.has(name));
const unknown = names.filter((name) => !(name in suites));
if (unknown.length > 0) {
  console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Known: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}

const sections: Section[] = [];
for (const name of names) {
  console.error(`running ${name} …`);
  const section = await suites[name]!();
  console.log(section.markdown + '\n');
  sections.push(section);
}

const host = machine();
mkdirSync(resultsDir, { recursive: true });
// A run of some suites updates their sections and keeps the others from the previous run.
const latestFile = new URL('latest.json', resultsDir);
const previous = existsSync(latestFile)
  ? ((JSON.parse(readFileSync(latestFile, 'utf8')) as { sections?: Section[] }).sections ?? [])
  : [];
const merged = Object.keys(suites)
  .map((name) => sections.find((s) => s.name === name) ?? previous.find((s) => s.name === name))
  .filter((s): s is Section => s !== undefined);
writeFileSync(latestFile, JSON.stringify({ machine: host, sections: merged }, null, 2) + '\n');
const header = [
  '# Benchmark report',
  '',
  `Machine: ${host['cpu']}, ${host['cores']} cores, ${host['memoryGiB']} GiB, Node ${host['node']} (${host['platform']}), ${host['date']}.`,
  'Each comparison runs its contenders side by side in one process, alternating their order between rounds; figures are medians of the rounds.',
  '',
];
writeFileSync(
  new URL('REPORT.md', resultsDir),
  header.concat(merged.map((s) => s.markdown + '\n')).join('\n'),
);
console.error(`wrote ${new URL('REPORT.md', resultsDir).pathname}`);
