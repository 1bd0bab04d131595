/**
 * How many items `map` puts in its next batch.
 *
 * A batch costs a message each way, and every message wakes a thread: on a machine with one
 * pool thread per core, each wake-up of the main thread takes a core from a worker and leaves
 * its caches cold. Measured on tokenization (~60 µs an item, two cores), batches of a
 * millisecond spent about a quarter of the CPU on those wake-ups; batches of several ms spend
 * little. Batches much longer than that would hold a slot (and keep a higher priority waiting)
 * for longer with nothing more to gain.
 *
 * Long batches would leave threads idle at the end of a finite input (one thread still on its
 * last long batch, the others done), so when the number of inputs left is known, a batch takes
 * at most a share of them (guided self-scheduling): batches shrink towards the end and the
 * threads finish together.
 * @module
 */

/** Work per batch that batching aims for, in ms of worker time. */
export const TARGET_BATCH_MS = 8;

/** The sizing inputs. */
export interface BatchSizing {
  /** Measured worker time per item (a moving average); undefined before the first batch ends. */
  readonly perItemMs: number | undefined;
  /** The caller's cap on items per batch. */
  readonly batchSize: number;
  /** Inputs not yet pulled, when known (an array source); undefined otherwise. */
  readonly remaining: number | undefined;
  /** Batches that run at once (the running limit). */
  readonly limit: number;
  /** Work per batch to aim for, in ms. @default {@link TARGET_BATCH_MS} */
  readonly targetMs?: number | undefined;
}

/**
 * Items for the next batch: one until a batch has been timed (a probe), then about `targetMs`
 * ({@link TARGET_BATCH_MS} unless given) of work, at most `batchSize`, and at most half a
 * slot's share of the inputs left when that is known. Always at least 1.
 */
export function nextBatchSize({
  perItemMs,
  batchSize,
  remaining,
  limit,
  targetMs = TARGET_BATCH_MS,
}: BatchSizing): number {
  if (perItemMs === undefined) return 1;
  let size = Math.min(batchSize, Math.round(targetMs / perItemMs));
  if (remaining !== undefined) size = Math.min(size, Math.ceil(remaining / (2 * Math.max(1, limit))));
  return Math.max(1, size);
}
