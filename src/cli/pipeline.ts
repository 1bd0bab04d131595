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

/** Chained stages, as `orchestrator.pipeline(…).map(…)` builds them. */
interface StageChain extends AsyncIterable<PipelineRecord> {
  map(task: string, options: { batchSize: number }): StageChain;
}

/** What {@link runPipeline} runs records on: `map`, and `pipeline` for chained tasks (a local pool). */
export interface RecordSource {
  readonly map: Orchestrator['map'];
  readonly pipeline?:
    | ((source: AsyncIterable<unknown>, options: { ordered: boolean; signal: AbortSignal }) => StageChain)
    | undefined;
}

/** Options of {@link runPipeline}. */
export interface PipelineOptions {
  /** One task (a map), or several chained (a pipeline of fused stages). */
  tasks: readonly string[];
  ordered: boolean;
  batchSize: number;
  signal: AbortSignal;
  /**
   * Invalid lines held, beyond one per valid record in flight, before reading waits for them
   * to be written. @default 1024
   */
  heldBadLines?: number;
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
 *
 * An invalid line waits, in order, for the valid records before it (with `ordered`) or for
 * the next record written. At most `heldBadLines` wait, plus one per valid record in flight (so
 * that a mix of valid and invalid lines keeps the workers as busy as valid lines alone): past
 * that, reading stops until every valid record pulled so far is written, then the invalid lines
 * are written at once. The records in flight are bounded by map's window, so time is linear and
 * memory flat whatever the mix of valid and invalid lines (an input of invalid lines only never
 * waits for a record that will not come).
 */
export async function runPipeline(
  orchestrator: RecordSource,
  lines: AsyncIterable<InputLine>,
  options: PipelineOptions,
  hooks: PipelineHooks,
): Promise<PipelineResult> {
  // Index → line, for the records in flight only: entries leave as their records are written.
  const lineOf = new Map<number, number>();
  let nextIndex = 0;
  const badLines = new LineQueue();
  const heldBadLines = options.heldBadLines ?? 1024;
  /** Valid lines handed to map whose records are not written yet. */
  let unwritten = 0;
  let wake: (() => void) | undefined;
  let records = 0;
  let failed = 0;

  async function* valid(): AsyncGenerator {
    for await (const input of lines) {
      if (input.error === undefined) {
        lineOf.set(nextIndex++, input.line);
        unwritten++;
        yield input.value;
        continue;
      }
      badLines.push(input.line, input.error);
      if (badLines.length < heldBadLines + unwritten) continue;
      // Every record before these lines must be out first; the loop below writes them.
      while (unwritten > 0) await new Promise<void>((resolve) => (wake = resolve));
      // Nothing is in flight, so the loop below is idle: these lines go out from here.
      await flushBad(Number.POSITIVE_INFINITY);
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
  async function flushBad(beforeLine: number): Promise<void> {
    for (
      let bad = badLines.shiftBefore(beforeLine);
      bad !== undefined;
      bad = badLines.shiftBefore(beforeLine)
    ) {
      await emit(bad.line, encodeError(bad.line, bad.message, 'ERR_INVALID_JSON'));
    }
  }

  const { tasks, ordered, batchSize, signal } = options;
  const { pipeline } = orchestrator;
  if (tasks.length > 1 && pipeline === undefined) throw new TypeError('chained tasks need a local pool');
  const results: AsyncIterable<MapRecord | PipelineRecord> =
    tasks.length === 1 || pipeline === undefined
      ? orchestrator.map(tasks[0] as string, valid(), { ordered, batchSize, signal })
      : tasks.reduce((chain, task) => chain.map(task, { batchSize }), pipeline(valid(), { ordered, signal }));
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
    unwritten--;
    const waiting = wake;
    wake = undefined;
    waiting?.();
  }
  await flushBad(Number.POSITIVE_INFINITY);
  return { records, failed };
}

/**
 * Invalid lines in input order: push and shift in O(1) each (Array#shift moves every element,
 * which made an input of many invalid lines quadratic).
 */
class LineQueue {
  #lines: { line: number; message: string }[] = [];
  #head = 0;

  get length(): number {
    return this.#lines.length - this.#head;
  }

  push(line: number, message: string): void {
    this.#lines.push({ line, message });
  }

  /** Takes the oldest line if its number is below `beforeLine`. */
  shiftBefore(beforeLine: number): { line: number; message: string } | undefined {
    const first = this.#lines[this.#head];
    if (first === undefined || first.line >= beforeLine) return undefined;
    this.#head++;
    if (this.#head === this.#lines.length) {
      this.#lines = [];
      this.#head = 0;
    }
    return first;
  }
}
