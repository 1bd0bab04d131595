import { AbortedError, ClosedError, ErrorCodes, OrchestratorError, QueueFullError } from '../errors.js';
import { httpErrorFor, type HttpError } from '../http/http-error.js';
import { assertOptionalSignal, describe } from '../internal/validate.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { RunOptions } from '../orchestrator/task-types.js';
import { DrainRate } from './drain-rate.js';

/** `/readyz`'s answer. */
export interface Readiness {
  readonly ready: boolean;
  /** Why not, when not ready. */
  readonly reason?: string;
}

/** The settings RequestRuns needs from the plugin's options. @internal */
export interface RequestRunsSettings {
  readonly closeOrchestrator: boolean;
  readonly closeTimeoutMs: number;
  readonly exposeErrors: boolean;
  readonly readyQueueWatermark: number | undefined;
}

/** `/readyz` is 503 while more than this many runs per slot of the current limit wait. */
export const READY_QUEUE_PER_SLOT = 16;

/**
 * The plugin's side of every `request.run`: it owns the shutdown order (refuse new runs, let
 * accepted ones finish within closeTimeoutMs, then cancel them), turns errors into HTTP answers,
 * measures the drain rate a `Retry-After` is estimated from, and says whether the service is ready.
 * @internal
 */
export class RequestRuns {
  readonly #orchestrator: Orchestrator;
  readonly #settings: RequestRunsSettings;
  readonly #drain = new DrainRate();
  /**
   * The requests with runs in flight: each request's controller (it aborts when its client
   * disconnects; cancelling at shutdown aborts it too) and how many runs it has going.
   */
  readonly #active = new Map<AbortController, number>();
  #onIdle: (() => void) | undefined;
  #accepting = true;
  #closing: Promise<void> | undefined;

  constructor(orchestrator: Orchestrator, settings: RequestRunsSettings) {
    this.#orchestrator = orchestrator;
    this.#settings = settings;
  }

  /** False once the server began closing. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /**
   * The 503 for a request refused before its body is read because a run would be shed anyway
   * (the caller has seen that the orchestrator is full). The same answer as a run shed later:
   * Retry-After from the drain rate, the public message unless `exposeErrors`.
   */
  refusal(): HttpError {
    return this.#httpFor(
      new QueueFullError('The queue is full; the request was shed before its body was read'),
    );
  }

  /** Not ready while closing, or while the queue is above the watermark. */
  readiness(): Readiness {
    if (!this.#accepting || !this.#orchestrator.accepting) return { ready: false, reason: 'closing' };
    const watermark = this.#settings.readyQueueWatermark ?? READY_QUEUE_PER_SLOT * this.#orchestrator.limit;
    const queued = this.#orchestrator.queued;
    if (queued > watermark) {
      return { ready: false, reason: `${queued} runs wait for a slot, above the watermark of ${watermark}` };
    }
    return { ready: true };
  }

  /**
   * Runs a task for a request: cancelled when `client` aborts (the client went away, or the
   * server closed and closeTimeoutMs has passed) or the caller's own signal does.
   * Rejects with an error that carries `statusCode` and `headers` for Fastify's error handler.
   */
  async run(client: AbortController, task: string, input: unknown, options?: RunOptions): Promise<unknown> {
    if (options !== undefined && (typeof options !== 'object' || (options as unknown) === null)) {
      throw new TypeError(`options must be an object, got ${describe(options)}`);
    }
    const own = options?.signal;
    assertOptionalSignal('options.signal', own);
    if (!this.#accepting) {
      throw this.#toHttp(new ClosedError(`The server is closing; task "${task}" was refused`));
    }
    // Only a caller's own signal needs a controller of the run's own, following both.
    const combined = own === undefined ? undefined : new AbortController();
    const unfollow = combined === undefined ? undefined : follow(combined, client.signal, own);
    const signal = (combined ?? client).signal;
    this.#active.set(client, (this.#active.get(client) ?? 0) + 1);
    let admitted = true;
    try {
      return await this.#orchestrator.run(
        task,
        input,
        options === undefined ? { signal } : { ...options, signal },
      );
    } catch (error) {
      admitted = !isRefusal(error);
      throw this.#toHttp(error);
    } finally {
      unfollow?.();
      const left = (this.#active.get(client) ?? 1) - 1;
      if (left === 0) this.#active.delete(client);
      else this.#active.set(client, left);
      if (admitted) this.#drain.record();
      if (this.#active.size === 0) this.#onIdle?.();
    }
  }

  /**
   * Stops accepting runs, then either closes the orchestrator (which lets accepted work finish
   * within its closeTimeoutMs and cancels the rest), or — an orchestrator the plugin does not
   * own — gives this plugin's runs closeTimeoutMs and cancels them. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#accepting = false;
    if (this.#settings.closeOrchestrator) {
      await this.#orchestrator.close();
      return;
    }
    if (await this.#idle(this.#settings.closeTimeoutMs)) return;
    const reason = new AbortedError('The server closed before the task finished');
    for (const controller of this.#active.keys()) controller.abort(reason);
    await this.#idle(Number.POSITIVE_INFINITY);
  }

  /** Resolves true once no run is in flight, or false after `ms`; leaves no timer behind. */
  async #idle(ms: number): Promise<boolean> {
    if (this.#active.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => (this.#onIdle = () => resolve(true)));
    const timeout = Number.isFinite(ms)
      ? new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
      : idle;
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
      this.#onIdle = undefined;
    }
  }

  /**
   * The library's errors get the `statusCode` and `headers` of {@link httpErrorFor}. Unless
   * `exposeErrors`, the caller gets a copy of the same class and code whose message is the
   * public one, with the original as its `cause` (so logs keep the worker's message and stack).
   * Other errors (your own signal's reason, a TypeError for a bad argument) pass unchanged.
   */
  #toHttp(error: unknown): unknown {
    if (!(error instanceof OrchestratorError)) return error;
    const http = this.#httpFor(error);
    const target = this.#settings.exposeErrors ? error : publicCopy(error, http.body.message);
    for (const [key, value] of [
      ['statusCode', http.statusCode],
      ['headers', http.headers],
    ] as const) {
      Object.defineProperty(target, key, { value, configurable: true, writable: true, enumerable: false });
    }
    return target;
  }

  /** The answer for one of the library's errors; a shed run's Retry-After follows the drain rate. */
  #httpFor(error: OrchestratorError): HttpError {
    const retryAfterSeconds =
      error.code === ErrorCodes.QUEUE_FULL ? this.#drain.retryAfterSeconds(this.#orchestrator.queued) : 1;
    return httpErrorFor(error, { retryAfterSeconds, exposeErrors: this.#settings.exposeErrors });
  }
}

/** Submissions the orchestrator refused without running anything: they drained nothing. */
function isRefusal(error: unknown): boolean {
  return (
    error instanceof OrchestratorError &&
    (error.code === ErrorCodes.QUEUE_FULL || error.code === ErrorCodes.CLOSED)
  );
}

/** Aborts `controller` when any of the signals does; returns the function that stops listening. */
function follow(controller: AbortController, ...signals: (AbortSignal | undefined)[]): () => void {
  const stops: (() => void)[] = [];
  for (const signal of signals) {
    if (signal === undefined) continue;
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    stops.push(() => signal.removeEventListener('abort', onAbort));
  }
  return () => {
    for (const stop of stops) stop();
  };
}

type ErrorClass = new (message: string, options: { cause: unknown }) => OrchestratorError;

/** The same class, code and fields (taskName, remoteCode, tenant…), with a public message. */
function publicCopy(error: OrchestratorError, message: string): OrchestratorError {
  // message, stack and cause are not enumerable: only the error's own fields are copied.
  return Object.assign(new (error.constructor as ErrorClass)(message, { cause: error }), error);
}
