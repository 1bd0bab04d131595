import { Orchestrator, type OrchestratorOptions } from 'node-orchestrator';

/** The fixture worker module every orchestrator test runs. */
export const fixtureWorker = new URL('../fixtures/tasks.mjs', import.meta.url);

const open = new Set<Orchestrator>();

/** Any options, `worker` or `workers` included, without the type's one-of-the-two rule (tests break it on purpose). */
export type TestOptions = Omit<Partial<OrchestratorOptions>, 'worker' | 'workers'> & {
  worker?: string | URL | undefined;
  workers?: Readonly<Record<string, string | URL>> | undefined;
};

/**
 * Creates an orchestrator on the fixture worker (or on the modules of `options.workers`);
 * {@link closeAll} closes it after the test.
 */
export function createOrchestrator(options: TestOptions = {}): Orchestrator {
  // Adaptation off unless a test asks: a timer resizing the limit would make limit-sensitive tests racy.
  const orchestrator = new Orchestrator({
    ...(options.workers === undefined ? { worker: fixtureWorker } : {}),
    closeTimeoutMs: 5000,
    adaptive: false,
    ...options,
  } as OrchestratorOptions);
  open.add(orchestrator);
  return orchestrator;
}

/** Closes every orchestrator the test created. */
export async function closeAll(): Promise<void> {
  const closing = [...open].map((o) => o.close());
  open.clear();
  await Promise.all(closing);
}
