/**
 * Lowering one worker thread's CPU priority below its process's.
 * @module
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The highest nice value Linux allows: the lowest priority. */
export const MAX_NICE = 19;

/**
 * Raises the calling thread's nice value by `steps` (capped at {@link MAX_NICE}), leaving the
 * process's other threads as they are. On Linux, setpriority() on a thread id changes that
 * thread alone, and `/proc/thread-self` names the caller's id; other systems have no per-thread
 * nice (there, setpriority() would lower the whole process, event loop included), so nothing
 * is done. Raising a nice value needs no privilege.
 * @internal
 */
export function lowerThreadPriority(steps: number): void {
  if (steps === 0 || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.min(MAX_NICE, getPriority(tid) + steps));
  } catch {
    // No /proc (a sandbox) or a refusal: the thread keeps its priority, which only costs latency.
  }
}
