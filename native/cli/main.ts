/**
 * The `clearsky` command line: one table of commands (each a module here exporting its usage, flags and run),
 * the help texts, and how an error becomes one line and an exit status. User mistakes (InputError, bad flags)
 * exit 2; cancellation exits 130; a project run cancelled or taken over from another process exits 3;
 * `clearsky inpaint` exits 4 when it wrote its output but some cloudy tiles failed (they keep the input).
 */
import { parseArgs } from 'node:util';
import { InputError } from '../errors.ts';
import { UsageError, schemaProblems, type Command, type Context } from './args.ts';
import * as bench from './bench.ts';
import * as cancel from './cancel.ts';
import * as evaluate from './eval.ts';
import * as exportResult from './export.ts';
import * as inpaint from './inpaint.ts';
import * as mask from './mask.ts';
import * as project from './project.ts';
import * as reference from './reference.ts';
import * as report from './report.ts';
import * as resume from './resume.ts';
import * as run from './run.ts';
import * as runs from './runs.ts';
import * as serve from './serve.ts';
import * as worker from './worker.ts';

/** Every command, in the order `clearsky --help` lists them. */
export const COMMANDS: Record<string, Command> = {
  inpaint, mask, reference, eval: evaluate, bench,
  project, run, resume, runs, cancel, export: exportResult, report,
  worker, serve,
};

const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

/** `clearsky --help`: the commands, one line each. */
export function commandList(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'usage: clearsky <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
    '',
    'clearsky <command> --help (or clearsky help <command>) prints the command\'s usage.',
  ].join('\n');
}

function commandNamed(name: string): Command {
  if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command '${name}'`);
  return COMMANDS[name];
}

/** Runs `clearsky ARGV...`; resolves to the exit status. */
export async function main(argv: string[], context: Context): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    console.log(commandList());
    return 0;
  }
  if (name === 'help') {
    console.log(commandNamed(rest[0]).usage);
    return 0;
  }
  const command = commandNamed(name);
  const parsed = parseArgs({ args: command.prepare ? command.prepare(rest) : rest, options: { ...command.options, ...HELP }, strict: true, allowPositionals: command.positionals ?? false });
  if (parsed.values.help) {
    console.log(command.usage);
    return 0;
  }
  return command.run(parsed, context);
}

/** Prints what went wrong as one line on stderr (and where to find the usage); returns the exit status. */
export function reportError(error: unknown, argv: string[]): number {
  const schemaProblem = schemaProblems(error);
  const code = (error as { code?: unknown } | null)?.code;
  const badFlags = typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
  if (schemaProblem !== undefined) {
    console.error(`clearsky: ${schemaProblem}`);
    return 2;
  }
  if (error instanceof InputError || error instanceof UsageError || badFlags) {
    console.error(`clearsky: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`); // one line, also for parseArgs' hints
    if ((error instanceof UsageError && error.hint) || badFlags) {
      const command = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? `clearsky ${argv[0]} --help` : 'clearsky --help';
      console.error(`run \`${command}\` for usage`);
    }
    return 2;
  }
  if ((error as Error).name === 'AbortError') {
    // Runs in a project are not cancelled by Ctrl-C, only left to resume; everything else is cancelled.
    console.error(`clearsky: ${(error as Error).message.startsWith('stopped') ? (error as Error).message : 'cancelled'}`);
    return 130;
  }
  console.error(`clearsky: ${(error as Error).message?.split('\n')[0] ?? String(error)}`);
  if (process.env.CLEARSKY_DEBUG) console.error(error);
  return 1;
}
