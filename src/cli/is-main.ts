import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at `moduleUrl` is the script Node was started with.
 *
 * Node resolves symlinks when it loads the main module, so `import.meta.url` is the real path,
 * while `process.argv[1]` is the path as invoked: npm installs bins as symlinks
 * (`node_modules/.bin/orchestrator`), and a URL built from a path is percent-encoded. Comparing
 * the real paths of both is the only comparison that holds for every way of starting the bin.
 * @param moduleUrl The caller's `import.meta.url`.
 * @param scriptPath The path Node was started with. @default process.argv[1]
 */
export function isMainModule(moduleUrl: string, scriptPath: string | undefined = process.argv[1]): boolean {
  if (scriptPath === undefined) return false;
  try {
    return realpathSync(scriptPath) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    // No such script (e.g. `node -e`): this module was imported, not run.
    return false;
  }
}
