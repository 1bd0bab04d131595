import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defineTask, type MetricDeclaration } from 'node-orchestrator/worker';
import { reconcile, checkDeclarations } from '../src/task-metrics/declaration.js';
import { Registry } from 'prom-client';
import { NodeMetrics } from '../src/bullmq/node-metrics.js';
import { BUILT_IN_METRICS, ORCHESTRATOR_METRICS, QUEUE_NODE_METRICS } from '../src/task-metrics/naming.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { requireTool } from './support/tools.js';

const declare = (metrics: unknown): unknown => defineTask(() => 1, { metrics } as never);

/** Runs `promtool check metrics` on `text`: its findings, one line each ('' when clean). */
function promtool(text: string): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (_error, stdout, stderr) =>
      resolve(`${stdout}${stderr}`),
    );
    child.stdin?.end(`${text}\n`);
  });
}

/** One metric as the exposition would show it under the default prefix, with one series. */
function exposition(name: string, type: string, label?: string): string {
  const full = `orchestrator_${name}`;
  const labels = label === undefined ? '' : `${label}="1",`;
  const lines = [`# HELP ${full} Something.`, `# TYPE ${full} ${type}`];
  if (type === 'histogram') {
    lines.push(`${full}_bucket{${labels}le="1"} 1`, `${full}_bucket{${labels}le="+Inf"} 1`);
    lines.push(`${full}_sum${label === undefined ? '' : `{${label}="1"}`} 1`);
    lines.push(`${full}_count${label === undefined ? '' : `{${label}="1"}`} 1`);
  } else {
    lines.push(`${full}${label === undefined ? '' : `{${label}="1"}`} 1`);
  }
  return lines.join('\n');
}

/** Names promlint objects to, each with the type it is declared as. */
const LINTED_NAMES: [string, MetricDeclaration['type']][] = [
  ['tokens', 'counter'],
  ['queue_items_total', 'gauge'],
  ['item_size_total', 'histogram'],
  ['items_bucket', 'gauge'],
  ['items_count', 'gauge'],
  ['items_sum', 'gauge'],
  ['tokenCount_total', 'counter'],
  ['latency_ms', 'gauge'],
  ['payload_kb', 'gauge'],
  ['wait_sec', 'histogram'],
  ['latency_milliseconds', 'histogram'],
  ['payload_kilobytes', 'gauge'],
  ['uptime_hours', 'gauge'],
  ['requests_counter_total', 'counter'],
  ['depth_gauge', 'gauge'],
  ['model:tokens_total', 'counter'],
];

/** Label names promlint objects to (on a gauge). */
const LINTED_LABELS = ['le', 'quantile', 'modelName'];

/** Names and labels a user would pick, which must export cleanly. */
const GOOD: [string, MetricDeclaration['type'], string | undefined][] = [
  ['tokens_total', 'counter', 'model'],
  ['model_cache_hits_total', 'counter', undefined],
  ['images_rejected_total', 'counter', 'reason'],
  ['queue_items', 'gauge', undefined],
  ['model_temperature_celsius', 'gauge', 'gpu_index'],
  ['item_size_bytes', 'histogram', 'kind'],
  ['inference_duration_seconds', 'histogram', 'model_name'],
  ['batch_tokens', 'histogram', undefined],
];

describe('task metric declarations (defineTask(fn, { metrics }))', () => {
  it('refuses each malformed declaration where it is written, naming the field and the value', () => {
    const cases: [unknown, RegExp, ErrorConstructor][] = [
      [[], /metrics must be an object of metric declarations by name, got \[\]/, TypeError],
      [{ tokens_total: 'counter' }, /metrics\.tokens_total must be a declaration/, TypeError],
      [
        { tokens_total: { type: 'count', help: 'h' } },
        /metrics\.tokens_total\.type must be "counter", "gauge" or "histogram", got "count"/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter' } },
        /metrics\.tokens_total\.help must be a non-empty string, got undefined/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: ' ' } },
        /help must be a non-empty string, got " "/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', labels: ['model'] } },
        /metrics\.tokens_total\.labels must be absent \(a declaration has type, help, labelNames, buckets, maxSeries\)/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', labelNames: 'model' } },
        /labelNames must be an array of label names, got "model"/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', labelNames: ['model', 'model'] } },
        /labelNames\[1\] must be a label not listed twice, got "model"/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', labelNames: ['orchestrator'] } },
        /labelNames\[0\] must be a label name other than "orchestrator" \(reserved\)/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', labelNames: ['__name'] } },
        /labelNames\[0\] must be a label name not starting with "__"/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', labelNames: ['a-b'] } },
        /labelNames\[0\] must be a label name of letters, digits and underscores/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', labelNames: [7] } },
        /labelNames\[0\] must be a string, got 7/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', buckets: [1] } },
        /metrics\.tokens_total\.buckets must be absent: only histograms have buckets/,
        TypeError,
      ],
      [
        { size_bytes: { type: 'histogram', help: 'h', buckets: [] } },
        /buckets must be a non-empty array of upper bounds, got \[\]/,
        TypeError,
      ],
      [
        { size_bytes: { type: 'histogram', help: 'h', buckets: [1, 1] } },
        /buckets\[1\] must be greater than the bound before it \(1\), got 1/,
        RangeError,
      ],
      [
        { size_bytes: { type: 'histogram', help: 'h', buckets: [1, Infinity] } },
        /buckets\[1\] must be a finite number \(\+Inf is implied\), got Infinity/,
        RangeError,
      ],
      [
        { size_bytes: { type: 'histogram', help: 'h', buckets: ['1'] } },
        /buckets\[0\] must be a finite number, got "1"/,
        TypeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', maxSeries: 0 } },
        /maxSeries must be an integer from 1 to 10000, got 0/,
        RangeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', maxSeries: 10_001 } },
        /maxSeries must be an integer from 1 to 10000, got 10001/,
        RangeError,
      ],
      [
        { tokens_total: { type: 'counter', help: 'h', maxSeries: '5' } },
        /maxSeries must be an integer from 1 to 10000, got "5"/,
        TypeError,
      ],
      [
        { tasks_total: { type: 'counter', help: 'h' } },
        /the name of metrics\.tasks_total must be a name other than one of the orchestrator's \(or a QueueNode's\) own metrics, got "tasks_total"/,
        TypeError,
      ],
      [
        { __tokens_total: { type: 'counter', help: 'h' } },
        /must be a name not starting with "__"/,
        TypeError,
      ],
      [
        { '9lives_total': { type: 'counter', help: 'h' } },
        /must be a name of letters, digits and underscores, not starting with a digit, got "9lives_total"/,
        TypeError,
      ],
    ];
    for (const [metrics, message, kind] of cases) {
      expect(() => declare(metrics), message.source).toThrow(kind);
      expect(() => declare(metrics), message.source).toThrow(message);
    }
  });

  it.runIf(requireTool('promtool'))(
    'refuses exactly names that promtool check metrics flags, and accepts names that export cleanly',
    async () => {
      for (const [name, type] of LINTED_NAMES) {
        expect(() => declare({ [name]: { type, help: 'h' } }), name).toThrow(TypeError);
        expect(() => declare({ [name]: { type, help: 'h' } }), name).toThrow(`the name of metrics.${name}`);
      }
      for (const label of LINTED_LABELS) {
        expect(
          () => declare({ queue_items: { type: 'gauge', help: 'h', labelNames: [label] } }),
          label,
        ).toThrow('metrics.queue_items.labelNames[0]');
      }
      // The reference: promtool flags each of them when exported as they are.
      const linted = await promtool(
        [
          ...LINTED_NAMES.map(([name, type]) => exposition(name, type)),
          ...LINTED_LABELS.map((label, i) => exposition(`labelled_${i}`, 'gauge', label)),
        ].join('\n'),
      );
      for (const [name] of LINTED_NAMES) expect(linted, name).toContain(`orchestrator_${name} `);
      LINTED_LABELS.forEach((label, i) => expect(linted, label).toContain(`orchestrator_labelled_${i} `));

      for (const [name, type, label] of GOOD) {
        expect(() =>
          declare({ [name]: { type, help: 'h', labelNames: label === undefined ? [] : [label] } }),
        ).not.toThrow();
      }
      expect(
        await promtool(GOOD.map(([name, type, label]) => exposition(name, type, label)).join('\n')),
      ).toBe('');
    },
  );

  it('lists every metric the orchestrator itself exports among the names a task may not take', async () => {
    const orchestrator = createOrchestrator();
    const names = (await orchestrator.registry!.getMetricsAsJSON()).map((metric) => metric.name);
    expect(names.map((name) => name.replace(/^orchestrator_/, '')).sort()).toEqual(
      [...ORCHESTRATOR_METRICS].sort(),
    );
    await closeAll();
  });

  it("lists a QueueNode's own metrics, which share the orchestrator's prefix, among the names a task may not take", () => {
    const registry = new Registry();
    const node = new NodeMetrics(registry, 'orchestrator_', 'jobs', {
      concurrency: () => 1,
      active: () => 0,
      counts: () => Promise.reject(new Error('no Redis in this test')),
    });
    const names = registry.getMetricsAsArray().map((metric) => metric.name);
    node.dispose();
    expect(names.map((name) => name.replace(/^orchestrator_/, '')).sort()).toEqual(
      [...QUEUE_NODE_METRICS].sort(),
    );
    for (const name of [...ORCHESTRATOR_METRICS, ...QUEUE_NODE_METRICS])
      expect(BUILT_IN_METRICS).toContain(name);
    expect(() => declare({ node_jobs_active: { type: 'gauge', help: 'Jobs I hold.' } })).toThrow(
      /the name of metrics\.node_jobs_active must be a name other than one of the orchestrator's \(or a QueueNode's\) own metrics/,
    );
  });

  it("completes declarations: labelNames in one order, prom-client's buckets, 100 series", () => {
    const specs = checkDeclarations({
      tokens_total: { type: 'counter', help: 'Tokens.', labelNames: ['status', 'model'] },
      size_bytes: { type: 'histogram', help: 'Sizes.' },
    });
    expect(specs).toEqual({
      tokens_total: {
        type: 'counter',
        help: 'Tokens.',
        labelNames: ['model', 'status'],
        buckets: [],
        maxSeries: 100,
      },
      size_bytes: {
        type: 'histogram',
        help: 'Sizes.',
        labelNames: [],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        maxSeries: 100,
      },
    });
  });

  it('tasks that declare a metric alike share it; declared otherwise, every task declaring it is refused, and the message names two of them', () => {
    const spec = checkDeclarations({
      tokens_total: { type: 'counter', help: 'Tokens.', labelNames: ['a', 'b'] },
    });
    const reordered = checkDeclarations({
      tokens_total: { type: 'counter', help: 'Tokens.', labelNames: ['b', 'a'] },
    });
    const other = checkDeclarations({
      tokens_total: { type: 'counter', help: 'Tokens.', labelNames: ['a'] },
      pages_total: { type: 'counter', help: 'Pages.' },
    });
    const alike = reconcile({ first: spec, second: reordered });
    expect([...alike.metrics.keys()]).toEqual(['tokens_total']);
    expect(alike.metrics.get('tokens_total')?.tasks).toEqual(['first', 'second']);
    expect(alike.conflicts.size).toBe(0);

    const clash = reconcile({ first: spec, second: reordered, third: other });
    expect([...clash.metrics.keys()]).toEqual(['pages_total']);
    expect([...clash.conflicts.keys()]).toEqual(['first', 'second', 'third']);
    expect(clash.conflicts.get('second')).toBe(
      'Metric "tokens_total" is declared differently by tasks "first" and "third" (labelNames ["a","b"] against ["a"]); ' +
        'tasks that share a metric must declare it alike',
    );
    const types = reconcile({
      x: checkDeclarations({ depth: { type: 'gauge', help: 'h' } }),
      y: checkDeclarations({ depth: { type: 'histogram', help: 'h' } }),
    });
    expect(types.conflicts.get('x')).toContain('(a gauge against a histogram)');
  });
});
