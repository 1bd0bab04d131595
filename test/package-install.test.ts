import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

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
  it('installs from its tarball into an empty ESM app and works from plain JavaScript', () => {
    const app = emptyApp('app');
    writeFileSync(
      join(app, 'worker.js'),
      `import { defineTask } from 'node-orchestrator/worker';\nexport const double = defineTask((n) => n * 2);\n`,
    );
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
        `await orchestrator.close();`,
        `console.log('sum', sum);`,
      ].join('\n'),
    );
    const output = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' });
    expect(output.trim()).toBe('sum 42');
  }, 180_000);

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
