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
 * @returns the thread's nice value afterwards, or undefined where it was left alone or the
 *   system refused.
 * @internal
 */
export function lowerThreadPriority(steps: number): number | undefined {
  if (steps === 0 || process.platform !== 'linux') return undefined;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    const nice = Math.min(MAX_NICE, getPriority(tid) + steps);
    setPriority(tid, nice);
    return getPriority(tid);
  } catch {
    // No /proc (a sandbox) or a refusal: the thread keeps its priority, which is only slower.
    return undefined;
  }
}
