import { availableParallelism } from 'node:os';
import type { AdaptiveConfig, AdaptiveOptions } from '../control/config.js';
import { clampLimit, type Controller } from '../control/controller.js';
import { DecisionGuard } from '../control/decision-guard.js';
import { createGradientController } from '../control/gradient.js';
import { IntervalStats } from '../control/interval-stats.js';
import type { AdaptReason, AdaptSample } from '../control/sample.js';
import { thresholdController } from '../control/threshold.js';
import { ErrorRateWindow } from '../signals/error-rate-window.js';
import { GpuNotice } from '../signals/gpu-notice.js';
import type { SignalReading, SignalSource } from '../signals/signal-source.js';
import { SystemSampler, type SamplerNote, type SystemSamplerOptions } from '../signals/system-sampler.js';
import type { Engine } from './engine.js';
import type { RunOutcome, TaskRun } from './task-run.js';

/** Where an orchestrator's adaptation reads machine signals from. */
export interface SignalsOptions {
  /** Extra signal sources, read every interval; later sources override earlier ones. */
  signals?: readonly SignalSource[] | undefined;
  /**
   * The built-in CPU/GPU sampler thread: `true` (one shared by every orchestrator in the
   * process), `false`, or options for a dedicated one. @default true when `adaptive`
   */
  systemSampler?: boolean | SystemSamplerOptions | undefined;
}

/** What `orchestrator.on('adapt', listener)` receives when the limit changes. */
export interface AdaptEvent {
  readonly from: number;
  readonly to: number;
  /**
   * The rule that fired: error-rate, gpu-wait, gpu-utilization, cpu-load, queue-depth, latency,
   * probe …; a custom controller's own reason, or `other` past the bound on custom reasons.
   */
  readonly reason: AdaptReason | (string & {});
  readonly sample: AdaptSample;
}

/** What `orchestrator.on('warning', listener)` receives: trouble that needs no exception. */
export interface OrchestratorWarning {
  /**
   * `ORCHESTRATOR_SIGNALS`: a signal the rules read is absent (no GPU while GPU rules are asked
   * for, a probe that hangs); `ORCHESTRATOR_CONTROLLER`: the controller threw or answered with
   * no finite limit, so the limit holds.
   */
  readonly code: 'ORCHESTRATOR_SIGNALS' | 'ORCHESTRATOR_CONTROLLER';
  /** One line for a human. */
  readonly message: string;
}

interface Hooks {
  onAdapt(event: AdaptEvent): void;
  /** Where warnings go. @default process.emitWarning */
  onWarning?: ((warning: OrchestratorWarning) => void) | undefined;
}

function processWarning(warning: OrchestratorWarning): void {
  process.emitWarning(warning.message, { code: warning.code });
}

/** What asked for the GPU rules in the options, if anything. */
function gpuRulesAskedBy(options: AdaptiveOptions): string | undefined {
  if (options.gpuUtilizationHigh !== undefined) return 'gpuUtilizationHigh is set';
  if (options.gpuWaitHigh !== undefined) return 'gpuWaitHigh is set';
  return undefined;
}

/** An orchestrator's sampler reports through its 'warning' event, not the process's. */
const silent = (): void => undefined;

/**
 * The adaptation loop of one orchestrator: every `adaptationIntervalMs` it samples the machine
 * and the engine, asks the controller for the next limit, and resizes.
 * @internal
 */
export class Adaptation {
  readonly #engine: Engine;
  readonly #config: AdaptiveConfig;
  readonly #guard: DecisionGuard;
  readonly #hooks: Hooks;
  readonly #sources: readonly SignalSource[];
  readonly #errors: ErrorRateWindow;
  readonly #cores = availableParallelism();
  readonly #stats = new IntervalStats();
  readonly #gpuNotice: GpuNotice;
  #sampler: SystemSampler | undefined;
  #sharedSampler = false;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stepping: Promise<AdaptEvent | undefined> | undefined;
  #lastRead: SignalReading = {};

  constructor(
    engine: Engine,
    config: AdaptiveConfig,
    options: SignalsOptions & AdaptiveOptions,
    hooks: Hooks,
  ) {
    this.#engine = engine;
    this.#config = config;
    this.#hooks = hooks;
    this.#sources = options.signals ?? [];
    this.#errors = new ErrorRateWindow(config.errorWindow, config.errorMinSamples);
    const controller: Controller =
      config.controller === 'threshold'
        ? thresholdController
        : config.controller === 'gradient'
          ? createGradientController()
          : config.controller;
    const warn = hooks.onWarning ?? processWarning;
    this.#guard = new DecisionGuard(controller, (message) =>
      warn({ code: 'ORCHESTRATOR_CONTROLLER', message }),
    );
    this.#stats.limitIs(engine.limit);
    this.#gpuNotice = new GpuNotice(gpuRulesAskedBy(options), (message) =>
      warn({ code: 'ORCHESTRATOR_SIGNALS', message }),
    );
    const samplerOption = options.systemSampler ?? config.adaptive;
    if (samplerOption === true) {
      this.#sampler = acquireSharedSampler();
      this.#sharedSampler = true;
    } else if (typeof samplerOption === 'object') {
      this.#sampler = new SystemSampler({ ...samplerOption, onWarning: samplerOption.onWarning ?? silent });
      this.#sampler.start();
    }
    // Deferred, so that a listener added right after the constructor hears the notes the
    // shared sampler already had.
    this.#unsubscribe = this.#sampler?.subscribe((note: SamplerNote) =>
      queueMicrotask(() => {
        if (this.#unsubscribe !== undefined) this.#gpuNotice.note(note);
      }),
    );
  }

  /** Starts the interval timer if adaptation is on. */
  start(): void {
    if (!this.#config.adaptive) return;
    this.#timer = setInterval(() => void this.step(), this.#config.adaptationIntervalMs);
    this.#timer.unref();
  }

  /** Counts a settled run into the error window and the interval's latency. */
  record(run: TaskRun, outcome: RunOutcome): void {
    this.recordOutcome(outcome, run.workerMs);
  }

  /** Counts one outcome (a run, or an item of a map batch) with its time in the worker. */
  recordOutcome(outcome: RunOutcome, workerMs: number): void {
    if (outcome === 'success' || outcome === 'error') this.#stats.record(workerMs);
    if (outcome === 'success') this.#errors.record(false);
    else if (outcome === 'error' || outcome === 'crashed' || outcome === 'timeout') this.#errors.record(true);
  }

  /** The signals as they stand now, for the gauges: built-in ones, overridden by the sources'. */
  currentSignals(): SignalReading {
    return { errorRate: this.#errors.rate, ...definedOnly(this.#sampler?.latest() ?? {}), ...this.#lastRead };
  }

  /** One adaptation step; steps never overlap. */
  step(): Promise<AdaptEvent | undefined> {
    this.#stepping ??= this.#step().finally(() => (this.#stepping = undefined));
    return this.#stepping;
  }

  /** Stops the timer and releases the sampler. Idempotent. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    const sampler = this.#sampler;
    this.#sampler = undefined;
    if (sampler === undefined) return;
    if (this.#sharedSampler) await releaseSharedSampler();
    else await sampler.close();
  }

  async #step(): Promise<AdaptEvent | undefined> {
    this.#lastRead = await this.#readSources();
    const sample = this.#sample();
    const from = this.#engine.limit;
    const decision = this.#guard.decide(sample, this.#config);
    if (decision === undefined) return undefined;
    const to = this.#engine.resize(clampLimit(decision.limit, this.#config));
    this.#stats.limitIs(to);
    if (to === from) return undefined;
    const event: AdaptEvent = { from, to, reason: decision.reason, sample };
    this.#hooks.onAdapt(event);
    return event;
  }

  #sample(): AdaptSample {
    const engine = this.#engine;
    const signals = this.currentSignals();
    // A resize by hand since the last step starts a new epoch too.
    this.#stats.limitIs(engine.limit);
    const state = {
      limit: engine.limit,
      inFlight: engine.inFlight,
      queueDepth: signals.queueDepth ?? engine.queuedItems,
    };
    const gpuWaitSeconds = signals.gpuWaitSeconds ?? engine.gpuWaitSeconds();
    if (gpuWaitSeconds !== undefined) this.#gpuNotice.gpuWorkSeen();
    return {
      at: Date.now(),
      ...state,
      ...this.#stats.take(state),
      cores: this.#cores,
      errorRate: signals.errorRate,
      cpuLoad: signals.cpuLoad,
      gpuUtilization: signals.gpuUtilization,
      gpuMemory: signals.gpuMemory,
      gpuWaitSeconds,
    };
  }

  async #readSources(): Promise<SignalReading> {
    let merged: SignalReading = {};
    for (const source of this.#sources) {
      try {
        merged = { ...merged, ...definedOnly(await source.read()) };
      } catch {
        // A failing source is absent for this interval; it must not stop adaptation.
      }
    }
    return merged;
  }
}

function definedOnly(reading: SignalReading): SignalReading {
  return Object.fromEntries(Object.entries(reading).filter(([, v]) => v !== undefined));
}

let shared: { sampler: SystemSampler; users: number } | undefined;

/** One CPU/GPU sampler per process: the machine's load is the same for every orchestrator. */
function acquireSharedSampler(): SystemSampler {
  if (shared === undefined) {
    shared = { sampler: new SystemSampler({ onWarning: silent }), users: 0 };
    shared.sampler.start();
  }
  shared.users++;
  return shared.sampler;
}

async function releaseSharedSampler(): Promise<void> {
  if (shared === undefined) return;
  shared.users--;
  if (shared.users > 0) return;
  const { sampler } = shared;
  shared = undefined;
  await sampler.close();
}
