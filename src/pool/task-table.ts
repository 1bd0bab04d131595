/**
 * The tasks a runner thread serves: every worker module's `defineTask` exports, under the names
 * callers use (the export name for the one module of `worker`, `module.export` for the modules of
 * `workers`).
 * @module
 */
import { cacheOf, isIdempotent, isTask, type Task } from '../worker/define-task.js';
import type { ControlPortHello, WorkerModuleRef } from './protocol.js';

/** What the runner needs to know about a module's tasks. */
export interface TaskTable {
  /** Task functions by the name callers use. */
  readonly tasks: ReadonlyMap<string, Task<unknown, unknown>>;
  /** Every task name, module by module, each in its module's export order. */
  readonly names: readonly string[];
  /** The task names marked idempotent. */
  readonly idempotent: readonly string[];
  /** The tasks' cache declarations (`defineTask(fn, { cache })`), by task name. */
  readonly cache: ControlPortHello['cache'];
  /**
   * Why `name` is not a task, for the ERR_UNKNOWN_TASK message, and the tasks that message lists:
   * those of the module the name points into, or all of them.
   */
  explainUnknown(name: string): { readonly hint: string; readonly tasks: readonly string[] };
}

interface LoadedModule {
  readonly name: string | undefined;
  readonly exports: Readonly<Record<string, unknown>>;
  readonly taskNames: readonly string[];
}

/**
 * Imports every module (concurrently; each once per thread) and builds the table.
 * @throws whatever importing a module throws: the thread then fails to start.
 */
export async function loadTaskTable(modules: readonly WorkerModuleRef[]): Promise<TaskTable> {
  const loaded = await Promise.all(
    modules.map(async ({ name, url }): Promise<LoadedModule> => {
      const exports = (await import(url)) as Record<string, unknown>;
      const prefix = name === undefined ? '' : `${name}.`;
      const taskNames = Object.keys(exports)
        .filter((key) => isTask(exports[key]))
        .map((key) => prefix + key);
      return { name, exports, taskNames };
    }),
  );
  const tasks = new Map<string, Task<unknown, unknown>>();
  for (const module of loaded) {
    const prefix = module.name === undefined ? '' : `${module.name}.`;
    for (const name of module.taskNames) tasks.set(name, module.exports[name.slice(prefix.length)] as never);
  }
  const names = loaded.flatMap((module) => module.taskNames);
  return {
    tasks,
    names,
    idempotent: names.filter((name) => isIdempotent(tasks.get(name))),
    cache: Object.fromEntries(
      names.flatMap((name) => {
        const declared = cacheOf(tasks.get(name));
        return declared === undefined ? [] : [[name, declared]];
      }),
    ),
    explainUnknown: (name) => explain(loaded, names, name),
  };
}

function explain(
  loaded: readonly LoadedModule[],
  names: readonly string[],
  name: string,
): { hint: string; tasks: readonly string[] } {
  const single = loaded.length === 1 && loaded[0]?.name === undefined;
  if (single) {
    const found = loaded[0]?.exports[name];
    const hint =
      typeof found === 'function'
        ? `"${name}" is exported but not wrapped with defineTask()`
        : `the module exports no task "${name}"`;
    return { hint, tasks: names };
  }
  const dot = name.indexOf('.');
  const moduleName = dot === -1 ? undefined : name.slice(0, dot);
  const module = loaded.find((candidate) => candidate.name === moduleName);
  if (module === undefined) {
    const modules = loaded.map((candidate) => candidate.name).join(', ');
    const hint =
      dot === -1
        ? `task names are qualified by module ("module.task"); the modules are ${modules}`
        : `there is no worker module "${moduleName}"; the modules are ${modules}`;
    return { hint, tasks: names };
  }
  const exportName = name.slice(dot + 1);
  const hint =
    typeof module.exports[exportName] === 'function'
      ? `"${exportName}" of module "${moduleName}" is exported but not wrapped with defineTask()`
      : `module "${moduleName}" exports no task "${exportName}"`;
  return { hint, tasks: module.taskNames };
}
