/**
 * An error in what the user gave us (a file, a flag), as opposed to a bug. Its message is one line that
 * names the file and the problem; the command line prints it without a stack and exits non-zero.
 */
export class InputError extends Error {
  readonly file: string | undefined;
  /** The message without the file name, for adding advice to. */
  readonly problem: string;

  constructor(file: string | undefined, problem: string) {
    super(file ? `${file}: ${problem}` : problem);
    this.name = 'InputError';
    this.file = file;
    this.problem = problem;
  }
}

/**
 * The work was cancelled (a run's tile, or a task: an import, an export…). Named `AbortError` like the
 * platform's own, so every layer tells it from a failure the same way (`isCancelled`).
 */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

/** Whether `error` is a cancellation (ours, or an AbortSignal's own reason), not a failure. */
export function isCancelled(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** Throws CancelledError once `signal` is aborted: the check a long loop makes between its blocks. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
