/**
 * The shapes node-orchestrator stores in BullMQ jobs. A job's name is the task; its data is
 * {@link JobData} (the items, packed by codec.ts); its return value is {@link ResultData}, whose
 * payload holds one outcome per item. Both sides check everything they read back: a job or a
 * result in another shape fails alone with ERR_BAD_PAYLOAD.
 * @internal
 * @module
 */
import { serialize } from 'node:v8';
import { BadPayloadError, DataCloneError, PayloadTooLargeError } from '../errors.js';
import { pack, unpack, type Packing, type PayloadSettings } from './codec.js';
import { fromWire, toWire } from './wire-error.js';

/** Marks our jobs and results, and their format version. */
const FORMAT = 1;
/** The most items one job may carry. */
export const MAX_ITEMS_PER_JOB = 100_000;
/** The longest task name accepted from Redis. */
const MAX_TASK_NAME = 256;

/** A job's `data` as stored in Redis. @internal */
export interface JobData {
  readonly no: typeof FORMAT;
  /** Items in the payload. */
  readonly n: number;
  readonly z: Packing;
  readonly p: string;
  /** Our priority (higher first); BullMQ's own is derived from it. */
  readonly pr?: number;
  /** Deadline, ms since the epoch on the client's clock. */
  readonly d?: number;
  readonly t?: string;
}

/** A job's return value as stored in Redis. @internal */
export interface ResultData {
  readonly no: typeof FORMAT;
  readonly z: Packing;
  readonly p: string;
  /** The job's work on the node in ms (worker time of its items), for the client's job sizing. */
  readonly ms: number;
  /** The node that ran it. */
  readonly node: string;
}

/** What a job asks for, as the node reads it. @internal */
export interface JobRequest {
  readonly task: string;
  readonly items: readonly unknown[];
  readonly priority: number;
  readonly deadline: number | undefined;
  readonly tenant: string | undefined;
}

/** Extra fields of a job. @internal */
export interface JobExtras {
  readonly priority?: number | undefined;
  readonly deadline?: number | undefined;
  readonly tenant?: string | undefined;
}

/**
 * Packs a job's items.
 * @throws DataCloneError, PayloadTooLargeError (see codec.ts).
 * @internal
 */
export async function encodeJob(
  task: string,
  items: readonly unknown[],
  extras: JobExtras,
  settings: PayloadSettings,
): Promise<{ data: JobData; bytes: number }> {
  const what =
    items.length === 1 ? `the input of task "${task}"` : `a job of ${items.length} inputs of task "${task}"`;
  const packed = await pack(items, settings, what);
  const data: JobData = {
    no: FORMAT,
    n: items.length,
    z: packed.z,
    p: packed.p,
    ...(extras.priority ? { pr: extras.priority } : {}),
    ...(extras.deadline === undefined ? {} : { d: extras.deadline }),
    ...(extras.tenant === undefined ? {} : { t: extras.tenant }),
  };
  return { data, bytes: packed.bytes };
}

/**
 * Reads a job taken from Redis. Untrusted input.
 * @throws BadPayloadError, PayloadTooLargeError.
 * @internal
 */
export async function decodeJob(
  id: string,
  name: unknown,
  data: unknown,
  settings: PayloadSettings,
): Promise<JobRequest> {
  const what = `job ${id}`;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_TASK_NAME) {
    throw new BadPayloadError(`${what}: its name is not a task name`);
  }
  if (typeof data !== 'object' || data === null || (data as { no?: unknown }).no !== FORMAT) {
    throw new BadPayloadError(`${what} was not made by node-orchestrator's QueueClient (no format marker)`);
  }
  const { n, z, p, pr = 0, d, t } = data as Record<string, unknown>;
  if (!isCount(n)) throw new BadPayloadError(`${what}: bad item count`);
  if (typeof pr !== 'number' || !Number.isFinite(pr)) throw new BadPayloadError(`${what}: bad priority`);
  if (d !== undefined && (typeof d !== 'number' || !Number.isFinite(d)))
    throw new BadPayloadError(`${what}: bad deadline`);
  if (t !== undefined && (typeof t !== 'string' || t.length > MAX_TASK_NAME))
    throw new BadPayloadError(`${what}: bad tenant`);
  const { value: items } = await unpack(z, p, settings, what);
  if (!Array.isArray(items) || items.length !== n) {
    throw new BadPayloadError(`${what}: the payload is not a list of ${n} inputs`);
  }
  return { task: name, items, priority: pr, deadline: d, tenant: t };
}

/**
 * Packs a job's outcomes: `values[i]` for items that succeeded, `errors` for the others. An
 * outcome that cannot be stored (not serializable, or too large with the rest) becomes that
 * item's own error, so one bad result does not fail its neighbours.
 * @internal
 */
export async function encodeResult(
  values: unknown[],
  errors: Map<number, unknown>,
  meta: { ms: number; node: string; task: string },
  settings: PayloadSettings,
): Promise<ResultData> {
  const body = (): unknown => [values, [...errors].map(([index, error]) => [index, toWire(error)])];
  const what = `the results of task "${meta.task}"`;
  let packed;
  try {
    packed = await pack(body(), settings, what);
  } catch (error) {
    if (!(error instanceof DataCloneError || error instanceof PayloadTooLargeError)) throw error;
    shedItems(values, errors, settings.maxPayloadBytes, meta.task);
    packed = await pack(body(), settings, what);
  }
  return { no: FORMAT, z: packed.z, p: packed.p, ms: meta.ms, node: meta.node };
}

/** Replaces unserializable results, then the largest ones, by errors until the rest fits. */
function shedItems(values: unknown[], errors: Map<number, unknown>, limit: number, task: string): void {
  const sizes: [index: number, bytes: number][] = [];
  let total = 0;
  values.forEach((value, index) => {
    if (errors.has(index)) return;
    try {
      const bytes = serialize(value).length;
      sizes.push([index, bytes]);
      total += bytes;
    } catch (error) {
      values[index] = undefined;
      errors.set(
        index,
        new DataCloneError(`the result of task "${task}" cannot be serialized: ${(error as Error).message}`),
      );
    }
  });
  // Leave room for the outer array and the errors that replace the results.
  const budget = limit - 64 * 1024;
  for (const [index, bytes] of sizes.sort((a, b) => b[1] - a[1])) {
    if (total <= budget) break;
    total -= bytes;
    values[index] = undefined;
    const error = new PayloadTooLargeError(
      `the result of task "${task}" is ${bytes} bytes serialized; with the rest of its job it exceeds maxPayloadBytes (${limit})`,
    );
    error.bytes = bytes;
    error.limit = limit;
    errors.set(index, error);
  }
}

/** One item's outcome, as the client reads it. @internal */
export type ItemOutcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error };

/**
 * Reads a job's return value back: one outcome per item. Untrusted input.
 * @throws BadPayloadError, PayloadTooLargeError.
 * @internal
 */
export async function decodeResult(
  jobId: string,
  returnvalue: unknown,
  count: number,
  settings: PayloadSettings,
): Promise<{ outcomes: ItemOutcome[]; ms: number; node: string; bytes: number }> {
  const what = `the result of job ${jobId}`;
  if (
    typeof returnvalue !== 'object' ||
    returnvalue === null ||
    (returnvalue as { no?: unknown }).no !== FORMAT
  ) {
    throw new BadPayloadError(`${what} was not made by a node-orchestrator QueueNode`);
  }
  const { z, p, ms, node } = returnvalue as Record<string, unknown>;
  const { value: body, bytes } = await unpack(z, p, settings, what);
  const [values, errors] = Array.isArray(body) ? (body as unknown[]) : [];
  if (!Array.isArray(values) || values.length !== count || !Array.isArray(errors)) {
    throw new BadPayloadError(`${what} is not a list of ${count} outcomes`);
  }
  const nodeName = typeof node === 'string' ? node.slice(0, MAX_TASK_NAME) : 'unknown';
  const outcomes: ItemOutcome[] = values.map((value: unknown) => ({ ok: true, value }));
  for (const entry of errors as unknown[]) {
    const [index, wire] = Array.isArray(entry) ? (entry as unknown[]) : [];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new BadPayloadError(`${what} has an outcome for no item`);
    }
    outcomes[index] = { ok: false, error: fromWire(wire, `on node ${nodeName}, job ${jobId}`) };
  }
  return { outcomes, ms: typeof ms === 'number' && ms >= 0 ? ms : 0, node: nodeName, bytes };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ITEMS_PER_JOB;
}
