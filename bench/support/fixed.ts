/**
 * Orchestrator options for a bench: the bench fixtures on exactly `threads` threads, with no
 * adaptation, so that what is measured is the work and not the controller.
 */
export function fixedThreads(threads: number) {
  return {
    worker: new URL('../fixtures/tasks.mjs', import.meta.url),
    baseLimit: threads,
    minLimit: threads,
    maxLimit: threads,
    adaptive: false,
  } as const;
}
