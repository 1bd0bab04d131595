// Type tests (checked by `tsc --noEmit` in `npm test`, never run): ctx.metrics is typed by the
// task's declarations, and declaring metrics leaves the task's own types as they were.
import { describe, expectTypeOf, it } from 'vitest';
import type { TaskInput, TaskName, TaskOutput } from 'node-orchestrator';
import { defineTask, type TaskMetrics } from 'node-orchestrator/worker';

const declared = {
  metrics: {
    tokens_total: { type: 'counter', help: 'Tokens.', labelNames: ['model'] },
    queue_items: { type: 'gauge', help: 'Items.' },
    item_size_bytes: { type: 'histogram', help: 'Sizes.', buckets: [1, 10] },
  },
} as const;

describe('ctx.metrics', () => {
  it('takes the names and labels the task declares, each with its own methods', () => {
    const _tokenize = defineTask(
      (text: string, ctx) => {
        expectTypeOf<Parameters<typeof ctx.metrics.inc>[0]>().toEqualTypeOf<'tokens_total' | 'queue_items'>();
        expectTypeOf<Parameters<typeof ctx.metrics.observe>[0]>().toEqualTypeOf<'item_size_bytes'>();
        ctx.metrics.inc('tokens_total', 3, { model: 'gpt' });
        ctx.metrics.inc('queue_items', -1);
        ctx.metrics.set('queue_items', 4);
        ctx.metrics.observe('item_size_bytes', text.length);
        // @ts-expect-error: not a declared metric
        ctx.metrics.inc('tokens');
        // @ts-expect-error: a counter is not set
        ctx.metrics.set('tokens_total', 1);
        // @ts-expect-error: a histogram is observed, not incremented
        ctx.metrics.inc('item_size_bytes');
        // @ts-expect-error: a gauge is not observed
        ctx.metrics.observe('queue_items', 1);
        // @ts-expect-error: not one of the metric's labels
        ctx.metrics.inc('tokens_total', 1, { modle: 'gpt' });
        // @ts-expect-error: the metric has no labels
        ctx.metrics.set('queue_items', 1, { model: 'gpt' });
        return text.split(' ');
      },
      { idempotent: true, ...declared },
    );
    type Module = { tokenize: typeof _tokenize };
    expectTypeOf<TaskName<Module>>().toEqualTypeOf<'tokenize'>();
    expectTypeOf<TaskInput<Module, 'tokenize'>>().toEqualTypeOf<string>();
    expectTypeOf<TaskOutput<Module, 'tokenize'>>().toEqualTypeOf<string[]>();
  });

  it('takes any name in a task that declares none, as in plain JavaScript', () => {
    defineTask((input: number, ctx) => {
      expectTypeOf(ctx.metrics).toEqualTypeOf<TaskMetrics>();
      ctx.metrics.inc('anything_total', input, { any: 'label' });
      return input;
    });
  });
});
