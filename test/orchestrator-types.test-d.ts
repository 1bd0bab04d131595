// Type tests (checked by `tsc --noEmit` in `npm test`, never run): what a caller's code may and
// may not write against the task maps of one and of several worker modules.
import type { Context } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expectTypeOf, it } from 'vitest';
import {
  Orchestrator,
  type MapRecord,
  type OrchestratorOptions,
  type TaskInput,
  type TaskName,
  type TaskOutput,
} from 'node-orchestrator';
import type { TaskContext } from 'node-orchestrator/worker';
import type * as Image from '../dist/workers/image.js';
import type * as Text from '../dist/workers/text.js';
import type { ImageInput } from '../dist/workers/image.js';
import type { TokenizeInput, TokenizeOutput } from '../dist/workers/text.js';

type Modules = { text: typeof Text; image: typeof Image };
declare const url: URL;

describe('one worker module', () => {
  it('names its task exports and types their inputs and outputs', () => {
    expectTypeOf<TaskName<typeof Text>>().toEqualTypeOf<'tokenize' | 'tokenizeJson' | 'tokenizeBatch'>();
    expectTypeOf<TaskInput<typeof Text, 'tokenize'>>().toEqualTypeOf<TokenizeInput>();
    // transfer() is unwrapped: the caller gets the value, not the Transfer.
    expectTypeOf<TaskOutput<typeof Text, 'tokenize'>>().toEqualTypeOf<TokenizeOutput>();
  });

  it('takes worker, not workers', () => {
    new Orchestrator<typeof Text>({ worker: url });
    // @ts-expect-error -- one module is given with `worker`
    new Orchestrator<typeof Text>({ workers: { text: url } });
  });
});

describe('several worker modules', () => {
  it('qualifies task names by module', () => {
    expectTypeOf<TaskName<Modules>>().toEqualTypeOf<
      'text.tokenize' | 'text.tokenizeJson' | 'text.tokenizeBatch' | 'image.preprocessImage'
    >();
    expectTypeOf<TaskInput<Modules, 'image.preprocessImage'>>().toEqualTypeOf<ImageInput>();
    expectTypeOf<TaskOutput<Modules, 'text.tokenize'>>().toEqualTypeOf<TokenizeOutput>();
  });

  it('types run, map and go by the qualified name', () => {
    const orchestrator = new Orchestrator<Modules>({ workers: { text: url, image: url } });
    expectTypeOf(orchestrator.run('text.tokenize', 'hello')).resolves.toEqualTypeOf<TokenizeOutput>();
    expectTypeOf(orchestrator.map('text.tokenizeJson', ['a', 'b'])).toEqualTypeOf<
      AsyncGenerator<MapRecord<TaskOutput<Modules, 'text.tokenizeJson'>>, void, undefined>
    >();
    orchestrator.go('job', async (ctx) => {
      expectTypeOf(await ctx.run('image.preprocessImage', {} as ImageInput)).toEqualTypeOf<
        TaskOutput<Modules, 'image.preprocessImage'>
      >();
    });
    // @ts-expect-error -- names are qualified: "tokenize" alone is no task of a module map
    void orchestrator.run('tokenize', 'hello');
    // @ts-expect-error -- the module has no such export
    void orchestrator.run('text.preprocessImage', 'hello');
    // @ts-expect-error -- the input of text.tokenize is text or TokenizeInput
    void orchestrator.run('text.tokenize', 42);
  });

  it('requires workers to name exactly the modules of the map', () => {
    // @ts-expect-error -- image is missing
    new Orchestrator<Modules>({ workers: { text: url } });
    // @ts-expect-error -- a module map is given with `workers`
    new Orchestrator<Modules>({ worker: url });
    new Orchestrator<Modules>({ workers: { text: url, image: './image.js' } });
  });

  it('leaves an untyped orchestrator open to either form, but never both', () => {
    const one = new Orchestrator({ worker: url });
    const many = new Orchestrator({ workers: { text: url } });
    expectTypeOf(one.run('any name', 1)).resolves.toBeUnknown();
    expectTypeOf(many.run('text.tokenize', 1)).resolves.toBeUnknown();
    // @ts-expect-error -- worker and workers are exclusive
    new Orchestrator({ worker: url, workers: { text: url } });
    expectTypeOf<OrchestratorOptions>().toExtend<{ tracing?: unknown }>();
  });
});

describe('tracing types', () => {
  it('takes an OpenTelemetry TracerProvider, and ctx.traceContext is an OpenTelemetry Context', () => {
    new Orchestrator({ worker: url, tracing: { tracerProvider: new BasicTracerProvider() } });
    new Orchestrator({ worker: url, tracing: true });
    // @ts-expect-error -- a tracer provider has getTracer()
    new Orchestrator({ worker: url, tracing: { tracerProvider: {} } });
    expectTypeOf<NonNullable<TaskContext['traceContext']>>().toExtend<Context>();
    expectTypeOf<TaskContext['traceparent']>().toEqualTypeOf<string | undefined>();
  });
});
