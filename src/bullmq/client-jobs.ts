import { randomBytes } from 'node:crypto';
import type { KeepJobs } from 'bullmq';
import type { PayloadSettings } from './codec.js';
import { decodeResult, encodeJob, type ItemOutcome, type JobExtras } from './envelope.js';
import type { AddBatcher } from './add-batcher.js';
import type { JobEnd, JobTracker } from './job-tracker.js';

/** How long finished jobs stay in Redis. */
export interface RetentionOptions {
  /** Completed jobs (with their results): BullMQ `removeOnComplete`. @default { age: 3600, count: 1000 } */
  completed?: KeepJobs | undefined;
  /** Failed jobs: BullMQ `removeOnFail`. @default { age: 86400, count: 5000 } */
  failed?: KeepJobs | undefined;
}

/** A job in Redis, not yet ended. @internal */
export interface Started {
  readonly jobId: string;
  readonly count: number;
  /** Serialized size of its inputs. */
  readonly bytes: number;
  readonly ended: Promise<JobEnd>;
}

/** How a job ended, as its caller sees it. @internal */
export type Finished =
  | { readonly kind: 'done'; readonly outcomes: ItemOutcome[]; readonly ms: number; readonly bytes: number }
  | { readonly kind: 'failed'; readonly error: Error }
  | { readonly kind: 'removed' };

/** BullMQ priorities run from 1 (first) to 2,097,151; ours are centred on it so 0 is the default. */
const PRIORITY_ZERO = 1_048_576;
/** The largest |priority| a queued run may have. @internal */
export const MAX_PRIORITY = PRIORITY_ZERO - 1;

/**
 * A client's jobs: encodes a job's items, adds it (through the batcher: one `addBulk` per turn
 * of the event loop), tracks it, and decodes its end. Job ids are `<client id>-<sequence>`, so a
 * retried add can never create a second copy of a job.
 * @internal
 */
export class ClientJobs {
  readonly #adds: AddBatcher;
  readonly #tracker: JobTracker;
  readonly #settings: PayloadSettings;
  readonly #retention: Required<RetentionOptions>;
  readonly #sizeLimit: number;
  readonly #clientId = randomBytes(6).toString('hex');
  #sequence = 0;

  constructor(
    adds: AddBatcher,
    tracker: JobTracker,
    settings: PayloadSettings,
    retention: Required<RetentionOptions>,
  ) {
    this.#adds = adds;
    this.#tracker = tracker;
    this.#settings = settings;
    this.#retention = retention;
    // BullMQ's own check on the JSON it stores: base64 of the largest payload, plus the envelope.
    this.#sizeLimit = Math.ceil(settings.maxPayloadBytes / 3) * 4 + 4096;
  }

  /**
   * Encodes and adds one job.
   * @throws DataCloneError or PayloadTooLargeError from encoding (nothing was added); Redis's or
   *   BullMQ's error if the add failed, unless the job had already ended (the client closed).
   */
  async start(task: string, items: readonly unknown[], extras: JobExtras): Promise<Started> {
    const { data, bytes } = await encodeJob(task, items, extras, this.#settings);
    const jobId = `${this.#clientId}-${++this.#sequence}`;
    const ended = this.#tracker.track(jobId);
    try {
      await this.#adds.add({
        name: task,
        data,
        opts: {
          jobId,
          priority: PRIORITY_ZERO - (extras.priority ?? 0),
          removeOnComplete: this.#retention.completed,
          removeOnFail: this.#retention.failed,
          sizeLimit: this.#sizeLimit,
        },
      });
    } catch (error) {
      // A close that ended the job while its add was unanswered decided its end: its reason
      // (ERR_ABORTED), not the dropped connection's error, is what the caller gets.
      if (!this.#tracker.tracks(jobId)) return { jobId, count: items.length, bytes, ended };
      this.#tracker.forget(jobId, { state: 'failed', error: error as Error });
      throw error;
    }
    this.#tracker.added(jobId);
    return { jobId, count: items.length, bytes, ended };
  }

  /** Jobs added so far. */
  get submitted(): number {
    return this.#sequence;
  }

  /** Waits for a job's end and decodes its outcomes. Never rejects. */
  async finish(started: Started): Promise<Finished> {
    const end = await started.ended;
    if (end.state === 'removed') return { kind: 'removed' };
    if (end.state === 'failed') return { kind: 'failed', error: end.error };
    try {
      const result = await decodeResult(started.jobId, end.returnvalue, started.count, this.#settings);
      return { kind: 'done', outcomes: result.outcomes, ms: result.ms, bytes: result.bytes };
    } catch (error) {
      return { kind: 'failed', error: error as Error };
    }
  }

  /** Cancels jobs until each has ended (see {@link JobTracker.cancel}). */
  cancel(ids: readonly string[]): void {
    if (ids.length > 0) void this.#tracker.cancel(ids);
  }
}
