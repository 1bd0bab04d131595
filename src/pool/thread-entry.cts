/**
 * Piscina's `filename` for every pool thread: a CommonJS shim in front of the ESM runner.
 *
 * Why CommonJS: Piscina loads its filename with require() first. On Node 20.19+ require() of an
 * ES module takes Node's synchronous ESM path, and a thread terminated while on that path (a pool
 * closed or shrunk while a thread is still starting) aborts the whole process with a native
 * assertion (`CreateRequiredModuleFacade` / `IsGraphAsync`), killing the host. require() of a
 * CommonJS file never enters that path, and the runner's ES module graph is then loaded with
 * import(), whose termination is handled like any other.
 * @module
 */
// Loaded as the thread starts, not at its first task, so that its hello reaches the main thread early.
const loading = import('./runner.js').then((runner) => {
  runTask = runner.default;
  return runner.default;
});

let runTask: Awaited<typeof loading> | undefined;
// A runner that cannot load kills the thread with its error, as a failed worker module does.
loading.catch((error: unknown) => {
  process.nextTick(() => {
    throw error;
  });
});

/** Runs one task: synchronously once the runner is loaded, after the load before that. */
function runThreadTask(request: Parameters<Awaited<typeof loading>>[0]): unknown {
  if (runTask !== undefined) return runTask(request);
  return loading.then((loaded) => loaded(request));
}

export = runThreadTask;
