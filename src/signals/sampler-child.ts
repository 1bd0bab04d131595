/**
 * The main process's handle on one sampler process (see `sampler-process.ts`).
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProbeReply, ProbeRequest } from './sampler-protocol.js';

const PROCESS_PATH = fileURLToPath(new URL('./sampler-process.js', import.meta.url));

/** What a {@link SamplerChild} tells its owner. */
export interface SamplerChildEvents {
  /** The process answered a probe. */
  onReply: (reply: ProbeReply) => void;
  /** The process failed to start or exited on its own; it answers nothing more. */
  onGone: () => void;
}

/** Children still running, killed if the main process exits without closing its samplers. */
const live = new Set<SamplerChild>();
let exitHookInstalled = false;

/**
 * One forked sampler process. It leads its own process group (`detached: true`), so
 * {@link SamplerChild.kill} reaches a hung nvidia-smi grandchild too, and it is unref'd along
 * with its IPC channel, so it never keeps the main process alive.
 * @internal
 */
export class SamplerChild {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  /** Forks the sampler process with `env` as its environment (its PATH picks nvidia-smi). */
  constructor(env: NodeJS.ProcessEnv | undefined, events: SamplerChildEvents) {
    const child = fork(PROCESS_PATH, [], {
      env: env ?? process.env,
      // The sampler is plain compiled JS; inheriting the host's flags would, for one, make a
      // second --inspect collide on the debugger port.
      execArgv: [],
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
    });
    child.unref();
    child.channel?.unref();
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (reply: ProbeReply) => events.onReply(reply));
    child.on('error', () => events.onGone());
    child.on('exit', () => {
      live.delete(this);
      events.onGone();
    });
    live.add(this);
    installExitHook();
  }

  /** Asks for one reading. A request the channel refuses goes unanswered, and so times out. */
  send(request: ProbeRequest): void {
    if (!this.#child.connected) return;
    this.#child.send(request, undefined, {}, ignoreSendError);
  }

  /**
   * Kills the process group with SIGKILL (a probe blocked in execFileSync cannot react to
   * anything gentler) and resolves once the sampler process has exited, which SIGKILL makes
   * prompt however long the probe would have run. Idempotent.
   */
  kill(): Promise<void> {
    if (!this.#running()) return Promise.resolve();
    // Referenced while we wait, or an `await close()` at the top level of a script with nothing
    // else to do would see an empty event loop and exit before the 'exit' event arrives.
    this.#child.ref();
    this.killNow();
    return this.#exited;
  }

  /** The synchronous part of {@link SamplerChild.kill}, for the process 'exit' hook. */
  killNow(): void {
    if (!this.#running()) return;
    live.delete(this);
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      // Until 'exit' has fired the child is unreaped, so its pid (and group id) cannot have
      // been reused: the negative pid reaches exactly the group it leads.
      process.kill(process.platform === 'win32' ? pid : -pid, 'SIGKILL');
    } catch {
      this.#child.kill('SIGKILL');
    }
  }

  #running(): boolean {
    const child = this.#child;
    return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  }
}

function ignoreSendError(): void {
  // A closed channel means the process is gone or going; 'exit' or the probe timeout handles it.
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // One listener for all samplers; a detached child would otherwise outlive us while its probe
  // hangs (it exits on 'disconnect' only once the probe returns).
  process.on('exit', () => {
    for (const child of live) child.killNow();
  });
}
