import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WorkerNotFoundError, type ConfigIssue } from '../errors.js';
import type { WorkerModuleRef } from '../pool/protocol.js';

/**
 * A module name in `workers`: an identifier, so that `module.task` splits at its first dot and
 * reads like a property access.
 */
const MODULE_NAME = /^[A-Za-z_$][\w$]*$/;

/**
 * The worker modules an orchestrator runs, from its `worker` or `workers` option (exactly one
 * of the two). `worker` gives one unnamed module whose tasks keep their export names; `workers`
 * gives named modules whose tasks are qualified: `text.tokenize`.
 * @returns the modules, or an empty list when the options are bad (the issues say why).
 * @internal
 */
export function resolveWorkerModules(
  options: { readonly worker?: unknown; readonly workers?: unknown },
  issues: ConfigIssue[],
): WorkerModuleRef[] {
  const { worker, workers } = options;
  if (worker !== undefined && workers !== undefined) {
    issues.push({
      field: 'workers',
      value: workers,
      expected: 'absent when worker is given (worker runs one module; workers names several)',
    });
    return [];
  }
  if (workers === undefined) {
    const url = toFileUrl('worker', worker, issues);
    return url === undefined ? [] : [{ name: undefined, url }];
  }
  if (typeof workers !== 'object' || workers === null || Array.isArray(workers)) {
    issues.push({ field: 'workers', value: workers, expected: 'an object { name: path or file URL }' });
    return [];
  }
  const entries = Object.entries(workers);
  if (entries.length === 0) {
    issues.push({ field: 'workers', value: workers, expected: 'at least one module' });
    return [];
  }
  const modules: WorkerModuleRef[] = [];
  for (const [name, value] of entries) {
    if (!MODULE_NAME.test(name)) {
      issues.push({
        field: `workers.${name}`,
        value: name,
        expected: 'a module name that is an identifier (letters, digits, _ or $; no dot)',
      });
      continue;
    }
    const url = toFileUrl(`workers.${name}`, value, issues);
    if (url !== undefined) modules.push({ name, url });
  }
  return modules;
}

/**
 * Throws for the first module that does not exist: a missing file is a deployment problem, not
 * a bad option, so it has its own error.
 * @throws WorkerNotFoundError naming the module (for `workers`) and its path.
 * @internal
 */
export function assertModulesExist(modules: readonly WorkerModuleRef[]): void {
  for (const { name, url } of modules) {
    const path = fileURLToPath(url);
    if (existsSync(path)) continue;
    const which = name === undefined ? 'The worker module' : `The worker module "${name}" (workers.${name}),`;
    throw new WorkerNotFoundError(`${which} ${path} does not exist`);
  }
}

function toFileUrl(field: string, value: unknown, issues: ConfigIssue[]): string | undefined {
  let url: URL;
  if (value instanceof URL) url = value;
  else if (typeof value === 'string' && value.startsWith('file:')) url = new URL(value);
  else if (typeof value === 'string' && value.length > 0) url = pathToFileURL(resolve(value));
  else {
    issues.push({ field, value, expected: 'a path or file URL of a worker module' });
    return undefined;
  }
  if (url.protocol !== 'file:') {
    issues.push({ field, value: url.href, expected: 'a file: URL' });
    return undefined;
  }
  return url.href;
}
