import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'orchestrator-pack-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_ignore_scripts: 'true' },
  });

const node = (app: string, args: string[], input?: string): string =>
  execFileSync(process.execPath, args, {
    cwd: app,
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
  });

let packed: string | undefined;

/** Packs the package once; the path of the tarball. */
function tarball(): string {
  if (packed === undefined) {
    npm(['pack', '--pack-destination', work, '--silent'], root);
    packed = join(
      work,
      readdirSync(work).find((name) => name.endsWith('.tgz'))!,
    );
  }
  return packed;
}

/** An empty ESM app in `work/<name>` with the tarball (and `extra` packages) installed. */
function emptyApp(name: string, extra: string[] = []): string {
  const app = join(work, name);
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }),
  );
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball(), ...extra], app);
  return app;
}

describe('the packed package', () => {
  const app = join(work, 'app');

  beforeAll(() => {
    emptyApp('app');
    writeFileSync(
      join(app, 'worker.js'),
      [
        `import { defineTask } from 'node-orchestrator/worker';`,
        `export const double = defineTask((n) => n * 2);`,
        `export const square = defineTask((n) => n * n, { cache: true });`,
      ].join('\n'),
    );
  }, 180_000);

  it('installs from its tarball into an empty ESM app and works from plain JavaScript', () => {
    writeFileSync(
      join(app, 'main.js'),
      [
        `import { AdaptiveLimiter, TaskGroup, Orchestrator } from 'node-orchestrator';`,
        `const limiter = new AdaptiveLimiter({ limit: 2 });`,
        `const group = new TaskGroup();`,
        `let sum = 0;`,
        `group.go(async () => { sum += await limiter.run(() => 20); });`,
        `await group.wait();`,
        `const orchestrator = new Orchestrator({ worker: new URL('./worker.js', import.meta.url) });`,
        `sum += await orchestrator.run('double', 11);`,
        `const squares = await Promise.all([orchestrator.run('square', 3), orchestrator.run('square', 3)]);`,
        `const staged = [];`,
        `for await (const r of orchestrator.pipeline([1, 2], { ordered: true }).map('double').map('square')) staged.push(r.value);`,
        `await orchestrator.close();`,
        `console.log('sum', sum, 'squares', squares.join(','), 'pipeline', staged.join(','));`,
      ].join('\n'),
    );
    const output = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' });
    expect(output.trim()).toBe('sum 42 squares 9,9 pipeline 4,16');
  });

  it('serves the dashboard page, with uPlot from its installed dependency, and its data', () => {
    writeFileSync(
      join(app, 'dashboard.js'),
      [
        `import { Orchestrator, serveMetrics } from 'node-orchestrator';`,
        `const orchestrator = new Orchestrator({ worker: new URL('./worker.js', import.meta.url), name: 'app' });`,
        `await orchestrator.run('double', 21);`,
        `const server = await serveMetrics({ registry: orchestrator.registry, port: 0 });`,
        `const origin = 'http://127.0.0.1:' + server.address().port;`,
        `const page = await fetch(origin + '/dashboard');`,
        `const html = await page.text();`,
        `const data = await (await fetch(origin + '/dashboard/data')).json();`,
        `const events = await fetch(origin + '/dashboard/events');`,
        `const reader = events.body.getReader();`,
        `let text = '';`,
        `while (!text.includes('data: ')) text += new TextDecoder().decode((await reader.read()).value);`,
        `await reader.cancel();`,
        `server.close();`,
        `await orchestrator.close();`,
        `console.log(JSON.stringify({ status: page.status, type: page.headers.get('content-type'),`,
        `  csp: page.headers.get('content-security-policy'), html, data, eventsType: events.headers.get('content-type'), text }));`,
      ].join('\n'),
    );
    const output = JSON.parse(
      execFileSync(process.execPath, ['dashboard.js'], { cwd: app, encoding: 'utf8' }),
    ) as {
      status: number;
      type: string;
      csp: string;
      html: string;
      data: { orchestrator: { name: string; total: { outcomes: Record<string, number> } } };
      eventsType: string;
      text: string;
    };
    const uplot = JSON.parse(readFileSync(join(app, 'node_modules/uplot/package.json'), 'utf8')) as {
      version: string;
    };
    expect(output.status).toBe(200);
    expect(output.type).toBe('text/html; charset=utf-8');
    expect(output.html).toContain(`https://github.com/leeoniya/uPlot (v${uplot.version})`);
    // Self-contained: no script or stylesheet from anywhere, and the CSP allows no other origin.
    expect(output.html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
    expect(output.csp).toContain("default-src 'none'");
    expect(output.csp).toContain("connect-src 'self'");
    expect(output.data.orchestrator.name).toBe('app');
    expect(output.data.orchestrator.total.outcomes['success']).toBe(1);
    expect(output.eventsType).toBe('text/event-stream; charset=utf-8');
    expect(output.text).toMatch(/^retry: 2000\n\nid: \d+\ndata: \{"v":1,/);
  });

  it('exports the metrics a worker module declares, on /metrics and /dashboard/data (#17)', () => {
    writeFileSync(
      join(app, 'words.js'),
      [
        `import { defineTask, InvalidMetricError } from 'node-orchestrator/worker';`,
        `export const count = defineTask((text, ctx) => {`,
        `  const words = text.split(' ');`,
        `  ctx.metrics.inc('words_total', words.length, { language: 'en' });`,
        `  ctx.metrics.observe('text_length_bytes', text.length);`,
        `  try { ctx.metrics.inc('undeclared_total'); } catch (error) { if (!(error instanceof InvalidMetricError)) throw error; }`,
        `  return words.length;`,
        `}, { metrics: {`,
        `  words_total: { type: 'counter', help: 'Words counted, by language.', labelNames: ['language'] },`,
        `  text_length_bytes: { type: 'histogram', help: 'Length of the texts, in bytes.', buckets: [10, 100] },`,
        `} });`,
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'task-metrics.js'),
      [
        `import { Orchestrator, serveMetrics } from 'node-orchestrator';`,
        `const orchestrator = new Orchestrator({ worker: new URL('./words.js', import.meta.url), name: 'app' });`,
        `const texts = ['one two three', 'four five', 'a much longer text that has eleven words in it all told'];`,
        `let words = 0;`,
        `for await (const record of orchestrator.map('count', texts)) words += record.value;`,
        `const server = await serveMetrics({ registry: orchestrator.registry, port: 0 });`,
        `const origin = 'http://127.0.0.1:' + server.address().port;`,
        `const metrics = await (await fetch(origin + '/metrics')).text();`,
        `const data = await (await fetch(origin + '/dashboard/data')).json();`,
        `server.close();`,
        `await orchestrator.close();`,
        `console.log(JSON.stringify({ words, metrics, taskMetrics: data.orchestrator.taskMetrics }));`,
      ].join('\n'),
    );
    const output = JSON.parse(
      execFileSync(process.execPath, ['task-metrics.js'], { cwd: app, encoding: 'utf8' }),
    ) as {
      words: number;
      metrics: string;
      taskMetrics: { name: string; series: { labels: Record<string, string>; value: number }[] }[];
    };
    expect(output.words).toBe(17);
    expect(output.metrics).toContain('# TYPE orchestrator_words_total counter');
    expect(output.metrics).toContain('orchestrator_words_total{orchestrator="app",language="en"} 17');
    expect(output.metrics).toContain('orchestrator_text_length_bytes_bucket{orchestrator="app",le="10"} 1');
    expect(output.metrics).toContain('orchestrator_text_length_bytes_bucket{orchestrator="app",le="100"} 3');
    expect(output.metrics).toContain('orchestrator_text_length_bytes_sum{orchestrator="app"} 77');
    expect(output.metrics).not.toContain('undeclared_total');
    expect(output.taskMetrics.map((m) => [m.name, m.series.map((s) => [s.labels, s.value])])).toEqual([
      ['text_length_bytes', [[{}, 3]]],
      ['words_total', [[{ language: 'en' }, 17]]],
    ]);
  });
  it('runs the shipped workers through their exports, node-orchestrator/workers/text and /image', () => {
    copyFileSync(join(root, 'test/fixtures/images/chelsea.png'), join(app, 'cat.png'));
    writeFileSync(
      join(app, 'shipped.js'),
      [
        `import { readFileSync } from 'node:fs';`,
        `import { Orchestrator } from 'node-orchestrator';`,
        `const text = new Orchestrator({ worker: import.meta.resolve('node-orchestrator/workers/text') });`,
        `const images = new Orchestrator({ worker: import.meta.resolve('node-orchestrator/workers/image') });`,
        `const tokens = await text.run('tokenize', { text: 'hello world<|endoftext|>', encoding: 'o200k_base' });`,
        `const batch = await text.run('tokenizeBatch', { texts: ['hello world', 'hi'], encoding: 'o200k_base', eosId: 199999 });`,
        `const image = await images.run('preprocessImage', { image: readFileSync('cat.png'), width: 224, height: 224, fit: 'cover' });`,
        `// Both shipped workers as the modules of one orchestrator: tasks named module.task.`,
        `const both = new Orchestrator({ workers: {`,
        `  text: import.meta.resolve('node-orchestrator/workers/text'),`,
        `  image: import.meta.resolve('node-orchestrator/workers/image'),`,
        `} });`,
        `const tableTokens = await both.run('text.tokenize', { text: 'hello world<|endoftext|>', encoding: 'o200k_base' });`,
        `const tableImage = await both.run('image.preprocessImage', { image: readFileSync('cat.png'), width: 224, height: 224, fit: 'cover' });`,
        `console.log(JSON.stringify({`,
        `  ids: Array.from(tokens.ids), batchIds: Array.from(batch.ids), shape: batch.shape,`,
        `  tensor: image.tensor.constructor.name, tensorShape: image.shape, length: image.tensor.length,`,
        `  tableIds: Array.from(tableTokens.ids),`,
        `  sameTensor: tableImage.tensor.length === image.tensor.length && tableImage.tensor.every((v, i) => v === image.tensor[i]),`,
        `  tasks: (await both.taskNames()).sort(),`,
        `}));`,
        `await Promise.all([text.close(), images.close(), both.close()]);`,
      ].join('\n'),
    );
    expect(JSON.parse(node(app, ['shipped.js']))).toEqual({
      // o200k_base, special-token text encoded as text: the ids tiktoken gives.
      ids: [24912, 2375, 27, 91, 419, 1440, 919, 91, 29],
      batchIds: [24912, 2375, 199999, 3686, 199999, 0],
      shape: [2, 3],
      tensor: 'Float32Array',
      tensorShape: [3, 224, 224],
      length: 3 * 224 * 224,
      tableIds: [24912, 2375, 27, 91, 419, 1440, 919, 91, 29],
      sameTensor: true,
      tasks: ['image.preprocessImage', 'text.tokenize', 'text.tokenizeBatch', 'text.tokenizeJson'],
    });
  }, 60_000);

  it('types the shipped workers: run() knows their task names, inputs and outputs', () => {
    writeFileSync(
      join(app, 'typed.ts'),
      [
        `import { Orchestrator } from 'node-orchestrator';`,
        `import type { TokenizeOutput } from 'node-orchestrator/workers/text';`,
        `import type { ImageOutput } from 'node-orchestrator/workers/image';`,
        `const text = new Orchestrator<typeof import('node-orchestrator/workers/text')>({ worker: import.meta.resolve('node-orchestrator/workers/text') });`,
        `const images = new Orchestrator<typeof import('node-orchestrator/workers/image')>({ worker: import.meta.resolve('node-orchestrator/workers/image') });`,
        `export const tokens: Promise<TokenizeOutput> = text.run('tokenize', { text: 'x', encoding: 'o200k_base' });`,
        `export const tensor: Promise<ImageOutput> = images.run('preprocessImage', { image: new Uint8Array(), width: 1, height: 1 });`,
        `// @ts-expect-error: not a task of the text worker`,
        `void text.run('preprocessImage', {});`,
        `// @ts-expect-error: not an encoding`,
        `void text.run('tokenize', { text: 'x', encoding: 'gpt2' });`,
      ].join('\n'),
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck'];
    const types = ['--typeRoots', join(root, 'node_modules/@types'), '--types', 'node'];
    expect(() => node(app, [tsc, ...flags, ...types, 'typed.ts'])).not.toThrow();
  }, 60_000);

  it('runs a shipped worker by name from the CLI: orchestrator run text --task tokenize', () => {
    const cli = join(app, 'node_modules/node-orchestrator/dist/src/cli/main.js');
    const input = `${JSON.stringify({ text: 'hello world', maxLength: 4, padding: true })}\n`;
    const output = node(app, [cli, 'run', 'text', '--task', 'tokenize'], input);
    expect(JSON.parse(output)).toEqual({
      line: 1,
      result: { ids: [15339, 1917, 0, 0], attentionMask: [1, 1, 0, 0], length: 2, truncated: false },
    });
  }, 60_000);

  it('names the optional peers to install when node-orchestrator/bullmq is imported without them', () => {
    // bullmq and ioredis are optional peers: without them the queue subpath names what to install.
    writeFileSync(
      join(app, 'peer.js'),
      `import('node-orchestrator/bullmq').catch((e) => console.log(e.name, e.code, e.packages.join(' '), e.message));\n`,
    );
    const peer = execFileSync(process.execPath, ['peer.js'], { cwd: app, encoding: 'utf8' });
    expect(peer.trim()).toMatch(
      /^MissingPeerError ERR_MISSING_PEER bullmq ioredis .*npm install bullmq ioredis$/,
    );
  });

  it('runs several worker modules and traces across the thread hop, as the README says (#14)', () => {
    const otel = ['@opentelemetry/sdk-trace-base@^2.12.1', '@opentelemetry/context-async-hooks@^2.12.1'];
    const app = emptyApp('traced-app', otel);
    // Each worker module is a user's; text.js traces its tasks with a provider of its own.
    writeFileSync(
      join(app, 'text.js'),
      [
        `import { trace, context } from '@opentelemetry/api';`,
        `import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';`,
        `import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';`,
        `import { defineTask, registerTracerProvider } from 'node-orchestrator/worker';`,
        `const channel = new BroadcastChannel('spans');`,
        `channel.unref();`,
        `const exporter = { export(spans, done) { channel.postMessage(spans.map((s) => ({ name: s.name, parent: s.parentSpanContext?.spanId }))); done({ code: 0 }); }, shutdown: async () => {} };`,
        `registerTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }));`,
        `context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());`,
        `export const shout = defineTask((text) => trace.getTracer('text').startActiveSpan('uppercase', (span) => { span.end(); return text.toUpperCase(); }));`,
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'image.js'),
      `import { defineTask } from 'node-orchestrator/worker';\nexport const area = defineTask(({ width, height }) => width * height);\n`,
    );
    writeFileSync(
      join(app, 'main.js'),
      [
        `import { context, trace } from '@opentelemetry/api';`,
        `import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';`,
        `import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';`,
        `import { Orchestrator } from 'node-orchestrator';`,
        `context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());`,
        `const exporter = new InMemorySpanExporter();`,
        `const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });`,
        `const workerSpans = [];`,
        `const channel = new BroadcastChannel('spans');`,
        `channel.onmessage = (event) => workerSpans.push(...event.data);`,
        `const orchestrator = new Orchestrator({`,
        `  workers: { text: new URL('./text.js', import.meta.url), image: new URL('./image.js', import.meta.url) },`,
        `  tracing: { tracerProvider },`,
        `});`,
        `const results = await tracerProvider.getTracer('app').startActiveSpan('request', async (request) => {`,
        `  const out = [await orchestrator.run('text.shout', 'hi'), await orchestrator.run('image.area', { width: 3, height: 4 })];`,
        `  for await (const record of orchestrator.map('image.area', [{ width: 1, height: 2 }])) out.push(record.value);`,
        `  request.end();`,
        `  return out;`,
        `});`,
        `const names = await orchestrator.taskNames();`,
        `await orchestrator.close();`,
        `while (workerSpans.length === 0) await new Promise((resolve) => setImmediate(resolve));`,
        `channel.close();`,
        `const spans = exporter.getFinishedSpans();`,
        `const id = (name) => spans.find((s) => s.name === name)?.spanContext().spanId;`,
        `console.log(JSON.stringify({`,
        `  results, names,`,
        `  runs: spans.filter((s) => s.name.endsWith(' process')).map((s) => [s.name, s.parentSpanContext?.spanId === id('request')]),`,
        `  uppercaseUnderRun: workerSpans.find((s) => s.name === 'uppercase')?.parent === id('text.shout process'),`,
        `}));`,
      ].join('\n'),
    );
    const output = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' });
    expect(JSON.parse(output.trim().split('\n').at(-1)!)).toEqual({
      results: ['HI', 12, 2],
      names: ['text.shout', 'image.area'],
      runs: [
        ['text.shout process', true],
        ['image.area process', true],
        ['image.area process', true],
      ],
      uppercaseUnderRun: true,
    });
  }, 180_000);
});
