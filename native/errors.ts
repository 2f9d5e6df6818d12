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
