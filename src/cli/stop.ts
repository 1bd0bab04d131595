/**
 * Why a run stopped before its input ended: the abort reason of the run's signal, carrying the
 * exit code and what to tell the user.
 */
export class RunStopped extends Error {
  /** The process exit code for this stop. */
  readonly exitCode: number;
  /** Whether to stay silent on stderr: a reader that closed our stdout asked for no more. */
  readonly quiet: boolean;

  constructor(message: string, exitCode: number, quiet = false) {
    super(message);
    this.exitCode = exitCode;
    this.quiet = quiet;
  }

  override get name(): string {
    return 'RunStopped';
  }
}

/** Exit codes of the signals the CLI handles: 128 + the signal number, as shells report them. */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Turns the first SIGINT or SIGTERM into an abort of `controller` (so input stops, in-flight
 * tasks are cancelled and finished results are still written) instead of Node's default of
 * dying on the spot. Each handler runs once: a second Ctrl-C gets the default and kills at once.
 * @returns A function that removes the handlers.
 */
export function stopOnSignals(controller: AbortController): () => void {
  const removers = (Object.keys(SIGNAL_EXIT_CODES) as (keyof typeof SIGNAL_EXIT_CODES)[]).map((signal) => {
    const handler = (): void => {
      const what = signal === 'SIGINT' ? 'interrupted' : 'terminated';
      controller.abort(
        new RunStopped(`${what} (${signal}); in-flight tasks were cancelled`, SIGNAL_EXIT_CODES[signal]),
      );
    };
    process.once(signal, handler);
    return () => process.off(signal, handler);
  });
  return () => {
    for (const remove of removers) remove();
  };
}

/** Exit code when stdout's reader went away (128 + SIGPIPE), as `yes | head -1` reports for `yes`. */
export const EXIT_BROKEN_PIPE = 141;
