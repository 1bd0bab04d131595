/**
 * Checks of the options QueueClient and QueueNode share: every bad field is reported at once in
 * one InvalidConfigError, as the Orchestrator's constructor does.
 * @internal
 * @module
 */
import { InvalidConfigError, type ConfigIssue } from '../errors.js';
import { describe } from '../internal/validate.js';
import { resolvePayload, type PayloadOptions, type PayloadSettings } from './codec.js';
import { resolveConnection, type RedisConnection, type ResolvedConnection } from './connection.js';

/** Where a queue lives; the options QueueClient and QueueNode share. */
export interface QueueOptions extends PayloadOptions {
  /** The BullMQ queue's name. */
  queue: string;
  /** Redis: a `redis://` / `rediss://` URL, or {@link RedisConnectionOptions}. */
  connection: RedisConnection;
  /** BullMQ's key prefix. @default 'bull' */
  prefix?: string | undefined;
}

/** Collects issues; `check` adds one when `ok` is false. @internal */
export class Issues {
  readonly list: ConfigIssue[] = [];
  readonly #texts: string[] = [];

  check(field: string, value: unknown, ok: boolean, expected: string): void {
    if (ok) return;
    this.list.push({ field, value, expected });
    this.#texts.push(`${field} must be ${expected}, got ${describe(value)}`);
  }

  /** An integer option ≥ `min` (undefined passes). */
  integer(field: string, value: unknown, min: number): void {
    this.check(
      field,
      value,
      value === undefined || (Number.isInteger(value) && (value as number) >= min),
      `an integer >= ${min}`,
    );
  }

  /** Runs a resolver that throws TypeError/RangeError, turning its throw into an issue. */
  resolve<T>(field: string, value: unknown, resolver: () => T): T | undefined {
    try {
      return resolver();
    } catch (error) {
      if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
      this.list.push({ field, value, expected: error.message });
      this.#texts.push(error.message);
      return undefined;
    }
  }

  /** @throws InvalidConfigError naming every issue. */
  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    const error = new InvalidConfigError(`Invalid ${what} options: ${this.#texts.join('; ')}`);
    error.issues = this.list;
    throw error;
  }
}

/** Resolved {@link QueueOptions}. @internal */
export interface ResolvedQueue {
  readonly queue: string;
  readonly prefix: string;
  readonly connection: ResolvedConnection;
  readonly payload: PayloadSettings;
}

/** Checks the shared queue options into `issues`; resolves them if they are valid. @internal */
export function resolveQueue(options: QueueOptions, issues: Issues): ResolvedQueue | undefined {
  const { queue, prefix = 'bull' } = options;
  // BullMQ builds keys as prefix:queue:…, so a colon would make two queues share keys.
  const name = (value: unknown): boolean =>
    typeof value === 'string' && value.length > 0 && !value.includes(':');
  issues.check('queue', queue, name(queue), 'a non-empty string without ":"');
  issues.check('prefix', prefix, name(prefix), 'a non-empty string without ":"');
  const connection = issues.resolve('connection', options.connection, () =>
    resolveConnection(options.connection),
  );
  const payload = issues.resolve(
    'payload',
    { maxPayloadBytes: options.maxPayloadBytes, compression: options.compression },
    () => resolvePayload(options),
  );
  if (connection === undefined || payload === undefined || issues.list.length > 0) return undefined;
  return { queue, prefix, connection, payload };
}
