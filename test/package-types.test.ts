import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'orchestrator-types-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A consumer's TypeScript file: every public type is used, and none may be `any`. */
const consumer = `
import {
  Orchestrator, AdaptiveLimiter, TaskGroup, OrchestratorError,
  type Outcome, type MapRecord, type RunOptions, type OrchestratorOptions, type AdaptEvent,
  type GaugeSnapshot, type ErrorCode, type ConfigIssue, type GoContext, type AdaptSample,
  type PipelineRecord, type PipelineOptions, type CacheOptions, NotCacheableError,
  type TracingOptions, type TracerProviderLike, type WorkerOption,
} from 'node-orchestrator';
import {
  defineTask, transfer, registerTracerProvider, type TaskContext, type Task, type TraceContext,
  type WorkerTracerProvider,
} from 'node-orchestrator/worker';

type IsAny<T> = 0 extends 1 & T ? true : false;
type NoneAny<T extends readonly unknown[]> = { [K in keyof T]: IsAny<T[K]> }[number] extends false ? true : false;
const typed: NoneAny<[
  Outcome, MapRecord, RunOptions, OrchestratorOptions, AdaptEvent, GaugeSnapshot, ErrorCode,
  ConfigIssue, GoContext, AdaptSample, TaskContext, Task<string, number>,
  PipelineRecord, PipelineOptions, CacheOptions, TracingOptions,
  TracerProviderLike, WorkerOption, TraceContext, WorkerTracerProvider, TaskContext['traceContext'],
]> = true;

export const double = defineTask((n: number, ctx: TaskContext) => { ctx.throwIfAborted(); return n * 2; });
export const bytes = defineTask(() => { const a = new Uint8Array(4); return transfer(a, [a.buffer]); });
const orchestrator = new Orchestrator<{ double: typeof double; bytes: typeof bytes }>({ worker: './w.js' });
const four: Promise<number> = orchestrator.run('double', 2);
// @ts-expect-error -- the input of "double" is a number
void orchestrator.run('double', 'two');
const outcome: Outcome = 'success';
// A pipeline's records are typed from its stages: double gives numbers, batch(2) arrays of them.
const piped: AsyncIterable<PipelineRecord<number[]>> = orchestrator.pipeline([1, 2]).map('double').batch(2);
// @ts-expect-error -- "triple" is not a task of the module
orchestrator.pipeline([1]).map('triple');
const cache: CacheOptions = { tasks: { double: { cacheKey: (n) => String(n), maxBytes: 2 ** 20 } } };
// Several modules, traced: names are qualified and typed per module (no @opentelemetry/api here).
const many = new Orchestrator<{ w: { double: typeof double; bytes: typeof bytes } }>({
  workers: { w: './w.js' },
  tracing: true,
});
const eight: Promise<number> = many.run('w.double', 4);
// @ts-expect-error -- names of a module map are qualified
void many.run('double', 4);
// @ts-expect-error -- workers must name the module map's modules
void new Orchestrator<{ w: { double: typeof double } }>({ workers: { v: './w.js' } });
console.log(typed, four, eight, outcome, piped, cache, AdaptiveLimiter, TaskGroup, OrchestratorError, NotCacheableError, registerTracerProvider);
`;

describe('the shipped type declarations', () => {
  it('compile in a consumer with skipLibCheck: false, without @opentelemetry/api, and no public type is any (#14)', () => {
    execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], {
      cwd: root,
      env: { ...process.env, npm_config_ignore_scripts: 'true' },
    });
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', type: 'module', private: true }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], {
      cwd: app,
      env: { ...process.env, npm_config_ignore_scripts: 'true' },
    });
    // The consumer's own @types/node, as any TypeScript app has.
    symlinkSync(join(root, 'node_modules', '@types'), join(app, 'node_modules', '@types'));
    // An app without OpenTelemetry (prom-client brings the API along; take it away): our
    // declarations must not need it, whatever the tracing option says.
    rmSync(join(app, 'node_modules', '@opentelemetry'), { recursive: true, force: true });
    writeFileSync(join(app, 'main.ts'), consumer);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'ESNext.Disposable'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['main.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', app], { encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: unknown }).stdout);
    }
    expect(output).toBe('');
  }, 180_000);
});
