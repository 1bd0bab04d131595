/**
 * The worker modules that ship with the package, by the name the CLI accepts for them.
 * @module
 */

/** `orchestrator run text …` and `orchestrator run image …` run these. */
export const SHIPPED_WORKERS: Readonly<Record<string, URL>> = {
  text: new URL('../../workers/text.js', import.meta.url),
  image: new URL('../../workers/image.js', import.meta.url),
};

/** The shipped worker a module argument names, if it names one (`./text` names a file). */
export function shippedWorker(name: string): URL | undefined {
  return Object.hasOwn(SHIPPED_WORKERS, name) ? SHIPPED_WORKERS[name] : undefined;
}
