/**
 * One dispatch for every transport of the API (HTTP in browser mode, Electron IPC, the workspace host's
 * child-process channel): a command name is checked against `COMMANDS`, its arguments against the command's
 * schema, the API's method of that name is called with the parsed arguments, and the outcome is mapped to a
 * reply. The transports only turn the reply into their own form (an HTTP status, an IPC envelope).
 *
 * The user's errors are told from bugs the same way everywhere: an unknown command, bad arguments and an
 * `InputError` answer their one-line message; anything else is logged with its stack and answered with a
 * short message that points to the log, so no stack or path of the back end reaches a page.
 */
import { COMMANDS, type ClearskyApi, type CommandName } from './contract.ts';
import { InputError, isCancelled } from '../errors.ts';

/**
 * What a command came to. `kind` says whose the error is: `unknown` (no such command), `arguments` (they do
 * not match the schema), `input` (the API's InputError: the user's input is wrong), `cancelled` (the user cancelled it: not a failure,
 * nothing logged), `internal` (a bug, or a
 * failure the user cannot fix by changing the input; logged).
 */
export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; kind: 'unknown' | 'arguments' | 'input' | 'cancelled'; error: string }
  /** `message`: the error's own first line, for a process that passes it on to be answered there. */
  | { ok: false; kind: 'internal'; error: string; message: string };

/** Whether `name` is one of the API's commands (own keys only: `constructor`, `__proto__` are not). */
export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** The parsed arguments of a command, or a message saying which argument is wrong and how. */
export function checkArguments(name: CommandName, input: unknown): { args: unknown[] } | string {
  const schema = COMMANDS[name];
  const expected = schema.def.items.length;
  const count = (n: number): string => `${n} argument${n === 1 ? '' : 's'}`;
  if (!Array.isArray(input)) return `${name}: the body must be a JSON array of the arguments (${count(expected)})`;
  if (input.length !== expected) return `${name} takes ${count(expected)}, got ${input.length}`;
  const parsed = schema.safeParse(input);
  if (parsed.success) return { args: parsed.data as unknown[] };
  const problems = parsed.error.issues.slice(0, 5).map((issue) => {
    const [index, ...rest] = issue.path;
    const where = typeof index === 'number' ? `argument ${index + 1}` : 'arguments';
    const field = rest.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, '');
    return `${where}${field ? ` (${field})` : ''}: ${issue.message}`;
  });
  const more = parsed.error.issues.length > 5 ? `; and ${parsed.error.issues.length - 5} more` : '';
  return `${name}: ${problems.join('; ')}${more}`;
}

/**
 * Checks and runs one command on `api`. Never throws: every failure is an outcome. `log` gets internal
 * errors with their stacks (prefixed by the transport's `label`, e.g. `clearsky serve`).
 */
export async function dispatch(api: ClearskyApi, name: string, input: unknown, log: (message: string) => void, label = 'clearsky'): Promise<Outcome> {
  if (!isCommand(name)) return { ok: false, kind: 'unknown', error: `unknown command "${truncate(name, 100)}"` };
  const checked = checkArguments(name, input);
  if (typeof checked === 'string') return { ok: false, kind: 'arguments', error: checked };
  return call(api, name, checked.args, log, label);
}

/** Runs a command whose arguments were checked already; the outcome as `dispatch` gives it. */
export async function call(api: ClearskyApi, name: CommandName, args: unknown[], log: (message: string) => void, label = 'clearsky'): Promise<Outcome> {
  try {
    const method = api[name] as (...args: unknown[]) => Promise<unknown>;
    return { ok: true, value: (await method.apply(api, args)) ?? null };
  } catch (error) {
    // A cancelled task is the user's own doing: one line, nothing logged, and told apart from a refusal.
    if (isCancelled(error)) return { ok: false, kind: 'cancelled', error: firstLine((error as Error).message) };
    if (isInputError(error)) return { ok: false, kind: 'input', error: firstLine((error as Error).message) };
    log(`${label}: ${name} failed: ${describe(error)}`);
    const message = firstLine(error instanceof Error ? error.message : String(error));
    return { ok: false, kind: 'internal', error: `${name} failed: ${message} (details in the log)`, message };
  }
}

/**
 * An InputError, also one that crossed a process boundary or a bundle (another copy of the class): the
 * transports' clients rebuild them by name.
 */
export function isInputError(error: unknown): error is Error {
  return error instanceof InputError || (error instanceof Error && error.name === 'InputError');
}

/** An error with its stack, for logs. */
export function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}
