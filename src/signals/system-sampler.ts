import { describe } from '../internal/validate.js';
import { SamplerChild } from './sampler-child.js';
import type { ProbeReply, ProbeRequest } from './sampler-protocol.js';
import type { SignalReading, SignalSource } from './signal-source.js';

/** Options of {@link SystemSampler}. */
export interface SystemSamplerOptions {
  /** How often to read CPU load, in ms. @default 1000 */
  intervalMs?: number;
  /** How often to probe the GPU (an expensive probe), in ms. @default 10000 */
  gpuIntervalMs?: number;
  /**
   * A GPU probe that has not answered after this long is abandoned: the sampler process is
   * killed (with the probe's nvidia-smi) and replaced, and the GPU signal goes absent. (A CPU
   * probe gets at least 5 s.) @default 5000
   */
  probeTimeoutMs?: number;
  /** Probe the GPU at all. @default true */
  gpu?: boolean;
  /** The sampler process's environment (its PATH decides which lspci / nvidia-smi run). @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Told once per kind of trouble (GPU absent, probe hung). @default process.emitWarning for a
   * sampler you start yourself; nothing for one an orchestrator starts (`systemSampler`), which
   * reports what matters through its `'warning'` event instead
   */
  onWarning?: ((message: string) => void) | undefined;
}

/** A kind of trouble a {@link SystemSampler} reports once. @internal */
export interface SamplerNote {
  /** `gpu-absent`: no GPU, or its probe failed; `gpu-hung` / `cpu-hung`: a probe stopped answering. */
  readonly kind: 'gpu-absent' | 'gpu-hung' | 'cpu-hung';
  readonly message: string;
}

const CPU_PROBE_TIMEOUT_MS = 5000;

const processWarnings = new Set<string>();

/** The default warning sink: each message once per process, however many samplers come and go. */
function warnOncePerProcess(message: string): void {
  if (processWarnings.has(message)) return;
  processWarnings.add(message);
  process.emitWarning(message, { code: 'ORCHESTRATOR_SIGNALS' });
}

/**
 * Samples CPU load and GPU utilization with systeminformation in a dedicated child process.
 *
 * Guarantees: the main event loop never waits for a probe (systeminformation runs nvidia-smi
 * synchronously, which would stall it); a probe never throws into the main thread; a machine
 * without a GPU, a failing or missing nvidia-smi, or one that hangs past `probeTimeoutMs` makes
 * the GPU signal absent, with one warning; the process, its IPC channel and the timers are
 * unref'd, and `close()` ends them promptly, killing a hung nvidia-smi with them rather than
 * waiting for it, so the sampler never keeps a process alive.
 *
 * The probes run in a process, not a worker thread, because a thread blocked in nvidia-smi's
 * execFileSync cannot be terminated until nvidia-smi returns; a process group can be killed.
 */
export class SystemSampler implements SignalSource {
  readonly #intervalMs: number;
  readonly #gpuIntervalMs: number;
  readonly #probeTimeoutMs: number;
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #warn: (message: string) => void;
  readonly #notes: SamplerNote[] = [];
  readonly #listeners = new Set<(note: SamplerNote) => void>();
  #gpuEnabled: boolean;
  #child: SamplerChild | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pending: { probe: ProbeRequest['probe']; sentAt: number } | undefined;
  #lastGpuProbe = Number.NEGATIVE_INFINITY;
  #reading: SignalReading = {};
  #closed = false;

  /** @throws RangeError naming a bad interval. */
  constructor(options: SystemSamplerOptions = {}) {
    const { intervalMs = 1000, gpuIntervalMs = 10_000, probeTimeoutMs = 5000, gpu = true } = options;
    for (const [field, value] of Object.entries({ intervalMs, gpuIntervalMs, probeTimeoutMs })) {
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`${field} must be an integer >= 1, got ${describe(value)}`);
    }
    this.#intervalMs = intervalMs;
    this.#gpuIntervalMs = gpuIntervalMs;
    this.#probeTimeoutMs = probeTimeoutMs;
    this.#gpuEnabled = gpu;
    this.#env = options.env;
    this.#warn = options.onWarning ?? warnOncePerProcess;
  }

  /** Starts sampling (idempotent). */
  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), Math.min(this.#intervalMs, this.#probeTimeoutMs));
    this.#timer.unref();
    this.#tick();
  }

  /** The latest readings; a missing field is absent. */
  latest(): SignalReading {
    return this.#reading;
  }

  /** {@link SignalSource} */
  read(): SignalReading {
    return this.#reading;
  }

  /**
   * Tells `listener` every note of trouble, the ones already reported first (at once).
   * @returns a function that stops the notes.
   * @internal
   */
  subscribe(listener: (note: SamplerNote) => void): () => void {
    for (const note of this.#notes) listener(note);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stops the timers and kills the sampler process with any probe it is running; resolves once
   * that process has exited, without waiting for a hung probe. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const child = this.#child;
    this.#child = undefined;
    if (child !== undefined) await child.kill();
  }

  #spawn(): SamplerChild {
    const child: SamplerChild = new SamplerChild(this.#env, {
      onReply: (reply) => {
        // A reply from a process already replaced belongs to a probe we gave up on.
        if (this.#child === child) this.#onReply(reply);
      },
      onGone: () => this.#discard(child),
    });
    this.#child = child;
    this.#pending = undefined;
    return child;
  }

  /**
   * Kills a process we no longer trust. Its replacement is forked by the next tick, not here, so
   * a sampler process that dies on start-up is retried once per tick rather than in a tight loop.
   */
  #discard(child: SamplerChild): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#pending = undefined;
    void child.kill();
  }

  #tick(): void {
    if (this.#closed) return;
    const child = this.#child ?? this.#spawn();
    const now = performance.now();
    if (this.#pending !== undefined) {
      // A fresh process's first currentLoad() takes about half a second; only the GPU probe is
      // held to probeTimeoutMs, the CPU probe gets at least CPU_PROBE_TIMEOUT_MS.
      const timeout =
        this.#pending.probe === 'gpu'
          ? this.#probeTimeoutMs
          : Math.max(this.#probeTimeoutMs, CPU_PROBE_TIMEOUT_MS);
      if (now - this.#pending.sentAt <= timeout) return;
      this.#onHung(this.#pending.probe);
      return;
    }
    const probe: ProbeRequest['probe'] =
      this.#gpuEnabled && now - this.#lastGpuProbe >= this.#gpuIntervalMs ? 'gpu' : 'cpu';
    if (probe === 'gpu') this.#lastGpuProbe = now;
    this.#pending = { probe, sentAt: now };
    child.send({ probe });
  }

  #onHung(probe: ProbeRequest['probe']): void {
    if (probe === 'gpu') {
      this.#gpuEnabled = false;
      this.#reading = { ...this.#reading, gpuUtilization: undefined, gpuMemory: undefined };
      this.#note(
        'gpu-hung',
        `the GPU probe did not answer within ${this.#probeTimeoutMs} ms; the GPU signal is now absent`,
      );
    } else {
      this.#note(
        'cpu-hung',
        `the CPU probe did not answer within ${this.#probeTimeoutMs} ms; restarting the sampler`,
      );
    }
    const child = this.#child;
    if (child !== undefined) this.#discard(child);
  }

  #onReply(reply: ProbeReply): void {
    this.#pending = undefined;
    if (reply.probe === 'cpu') {
      this.#reading = { ...this.#reading, cpuLoad: reply.cpuLoad };
      return;
    }
    if (reply.gpu === undefined) {
      this.#reading = { ...this.#reading, gpuUtilization: undefined, gpuMemory: undefined };
      const why =
        reply.error === undefined
          ? 'no GPU with utilization data was found'
          : `the GPU probe failed: ${reply.error}`;
      this.#note('gpu-absent', `the GPU signal is absent (${why})`);
      return;
    }
    this.#reading = { ...this.#reading, gpuUtilization: reply.gpu.utilization, gpuMemory: reply.gpu.memory };
  }

  /** Reports each kind of trouble once, to onWarning and to the subscribers. */
  #note(kind: SamplerNote['kind'], message: string): void {
    if (this.#notes.some((note) => note.kind === kind)) return;
    const note = { kind, message };
    this.#notes.push(note);
    this.#warn(message);
    for (const listener of this.#listeners) listener(note);
  }
}
