import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { MapRecord } from '../orchestrator/map.js';
import type { PipelineRecord } from '../pipeline/run.js';
import type { InputLine } from './json-lines.js';
import { encodeError, encodeResult, type EncodedRecord } from './records.js';

/** How the pipeline reports each record. */
export interface PipelineHooks {
  /** Writes one output line (without newline); resolves when the sink can take more. */
  write(line: string): Promise<void>;
  /** Told about each failed record (bad JSON or a failed task). */
  onError(line: number, message: string): void;
  /** Told after each record is written. */
  onRecord(ok: boolean): void;
}

/** Options of {@link runPipeline}. */
export interface PipelineOptions {
  /** One task (a map), or several chained (a pipeline of fused stages). */
  tasks: readonly string[];
  ordered: boolean;
  batchSize: number;
  signal: AbortSignal;
}

/** Counts of a finished pipeline. */
export interface PipelineResult {
  records: number;
  failed: number;
}

/**
 * Maps a task over JSON lines with `orchestrator.map` — or several chained tasks with
 * `orchestrator.pipeline`, fused in the worker — one output line per input line,
 * `{"line":N,"result":…}` or `{"line":N,"error":{"message":…,"code":…}}` (with `"stage"`, the
 * task that failed, when tasks are chained; see records.ts; a result JSON cannot encode becomes
 * an error record). Invalid JSON never
 * reaches a worker; its error record takes its place in the output (in line order with
 * `ordered`). Lines are pulled only as results are written, so memory stays flat.
 */
export async function runPipeline(
  orchestrator: Orchestrator,
  lines: AsyncIterable<InputLine>,
  options: PipelineOptions,
  hooks: PipelineHooks,
): Promise<PipelineResult> {
  // Index → line, for the records in flight only: entries leave as their records are written.
  const lineOf = new Map<number, number>();
  let nextIndex = 0;
  const badLines: { line: number; message: string }[] = [];
  let records = 0;
  let failed = 0;

  async function* valid(): AsyncGenerator {
    for await (const input of lines) {
      if (input.error !== undefined) badLines.push({ line: input.line, message: input.error });
      else {
        lineOf.set(nextIndex++, input.line);
        yield input.value;
      }
    }
  }

  const emit = async (line: number, record: EncodedRecord): Promise<void> => {
    records++;
    if (!record.ok) {
      failed++;
      hooks.onError(line, record.message);
    }
    await hooks.write(record.text);
    hooks.onRecord(record.ok);
  };
  const flushBad = async (beforeLine: number): Promise<void> => {
    while (badLines.length > 0 && (badLines[0] as { line: number }).line < beforeLine) {
      const bad = badLines.shift() as { line: number; message: string };
      await emit(bad.line, encodeError(bad.line, bad.message, 'ERR_INVALID_JSON'));
    }
  };

  const { tasks, ordered, batchSize, signal } = options;
  const results: AsyncIterable<MapRecord | PipelineRecord> =
    tasks.length === 1
      ? orchestrator.map(tasks[0] as string, valid(), { ordered, batchSize, signal })
      : tasks.reduce(
          (chain, task) => chain.map(task, { batchSize }),
          orchestrator.pipeline(valid(), { ordered, signal }),
        );
  for await (const record of results) {
    const line = lineOf.get(record.index) as number;
    lineOf.delete(record.index);
    await flushBad(options.ordered ? line : Number.POSITIVE_INFINITY);
    if (record.ok) await emit(line, encodeResult(line, record.value));
    else {
      // A revived worker error is whatever the task threw: don't trust its fields' types.
      const error = record.error as { message?: unknown; code?: unknown };
      const stage = 'stage' in record && tasks.length > 1 ? record.stage.name : undefined;
      await emit(line, encodeError(line, String(error.message), error.code, stage));
    }
  }
  await flushBad(Number.POSITIVE_INFINITY);
  return { records, failed };
}
