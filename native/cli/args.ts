/**
 * What every `clearsky` command module (native/cli/<command>.ts) shares: the shape of a command, the flags
 * several commands take, the helpers that turn flag text into values, and how a schema's complaint becomes
 * one line naming the flag.
 */
import type { ParseArgsConfig } from 'node:util';
import { BACKEND_CHOICES, METHODS, MODES } from '../api/contract.ts';
import type { SarUnits } from '../raster/sentinel/preprocess.ts';

/**
 * A mistake in the command line itself (a missing or malformed flag). `hint: false` where the line already
 * says what the flag takes, so no pointer to `--help` follows it.
 */
export class UsageError extends Error {
  constructor(message: string, readonly hint = true) {
    super(message);
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** What node:util's parseArgs gives a command: flag values by name (without `--`) and the other words. */
export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** What the process gives a command besides its flags. */
export interface Context {
  /** Aborted by the first Ctrl-C: commands stop between two steps. */
  signal: AbortSignal;
  /** For a command that handles SIGINT itself (`clearsky worker`): a second Ctrl-C no longer exits at once. */
  ownSignals(): void;
}

/** One command: what its module (native/cli/<command>.ts) exports. */
export interface Command {
  /** One line for `clearsky --help`'s list. */
  summary: string;
  /** What `clearsky <command> --help` prints; docs/cli.md shows it under the command's heading. */
  usage: string;
  /** Its flags (`--help` is added to every command). */
  options: Options;
  /** Whether it takes words besides flags (a project folder, ids, files). */
  positionals?: boolean;
  /** Rewrites the words before they are parsed (`clearsky reference --masks a.tif b.tif`). */
  prepare?(args: string[]): string[];
  run(args: ParsedArgs, context: Context): Promise<number>;
}

/** The lists as usage texts show them (`basic|ms|…`), from the lists themselves. */
export const CHOICES = { backend: BACKEND_CHOICES.join('|'), method: METHODS.join('|'), mode: MODES.join('|') };

// Flags several commands take, written once.
export const BACKEND = { backend: { type: 'string', default: 'auto' } } satisfies Options;
/** The native backend's convolution arithmetic (bench, eval). */
export const PRECISION = { precision: { type: 'string' } } satisfies Options;
export const JSON_OUTPUT = { json: { type: 'boolean', default: false } } satisfies Options;
export const STEPS = { steps: { type: 'string' } } satisfies Options;
/** A reconstruction's files and seeds, as `inpaint` and `eval` take them. */
export const SOURCES = {
  target: { type: 'string' },
  reference: { type: 'string', multiple: true },
  sar: { type: 'string' },
  'sar-bands': { type: 'string' },
  'sar-units': { type: 'string' },
  bands: { type: 'string' },
  seed: { type: 'string' },
  seeds: { type: 'string' },
} satisfies Options;

export function required(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

export function integer(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be an integer, not '${String(value)}'`);
  return n;
}

export function optionalInteger(value: unknown, flag: string): number | undefined {
  return value === undefined ? undefined : integer(value, flag);
}

export function decimal(value: unknown, flag: string): number {
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number, not '${String(value)}'`);
  return n;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag}: expected one of ${allowed.join(', ')}, not '${value}'`, false);
  return value as T;
}

export function integerList(text: string, flag: string): number[] {
  return text.split(',').map((part) => integer(part.trim(), flag));
}

/**
 * Flag text as a number where it reads as one, else the text itself: for a request a schema checks, which
 * then names the flag and the text it was given.
 */
export function numberOrText(text: string): number | string {
  return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
}

/** `--seeds 0,1,2` or `--seed 3`; default [0]. */
export function seedsFrom(v: ParsedArgs['values']): number[] {
  if (v.seeds !== undefined) return integerList(v.seeds as string, '--seeds');
  if (v.seed !== undefined) return [integer(v.seed, '--seed')];
  return [0];
}

/** `--sar-bands 2,1` (1-based VV then VH) and `--sar-units linear|db`. */
export function sarOptions(v: ParsedArgs['values']): { sarBands?: { vv: number; vh: number }; sarUnits?: SarUnits } {
  let sarBands: { vv: number; vh: number } | undefined;
  if (v['sar-bands'] !== undefined) {
    const bands = integerList(v['sar-bands'] as string, '--sar-bands');
    if (bands.length !== 2 || bands.some((b) => b < 1)) throw new UsageError(`--sar-bands takes the 1-based VV and VH band numbers, e.g. 2,1; got ${String(v['sar-bands'])}`);
    sarBands = { vv: bands[0], vh: bands[1] };
  }
  const sarUnits = v['sar-units'] === undefined ? undefined : oneOf(v['sar-units'] as string, ['linear', 'db'] as const, '--sar-units');
  return { sarBands, sarUnits };
}

/** The project folder, the one word `runs`, `resume` and `run` take besides flags. */
export function projectDir(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('give the project folder: clearsky <command> DIR [options]');
  return positionals[0];
}

/** The API's fields by the flag (or word) that gives them, for its schemas' complaints (`run`, `export`). */
const FLAG_OF_FIELD: Record<string, string> = {
  tileSize: '--tile', overlap: '--overlap', steps: '--steps', seeds: '--seeds', targetSceneId: '--target', maskId: '--mask', refId: '--reference',
  sarSceneId: '--sar', area: '--area', tiles: '--tiles', bands: '--bands', name: '--name', method: '--method', mode: '--mode', backend: '--backend',
  groundTruth: '--ground-truth', stitch: '--no-stitch', queue: '--queue', resultId: 'RESULT_ID', destination: 'OUT.tif',
  referenceFrom: '--reference-from', masks: '--masks', minCover: '--min-cover', maxCover: '--max-cover',
};

interface SchemaIssue {
  path: PropertyKey[];
  code?: string;
  origin?: string;
  expected?: string;
  values?: unknown[];
  minimum?: unknown;
  maximum?: unknown;
  inclusive?: boolean;
  input?: unknown;
  message: string;
}

/**
 * A schema error (zod) as one line naming each flag: `--tile must be at least 64`, `--mode: expected one of
 * basic, ms, …, not 'x'`, not its JSON. `flags` renames fields for one command (`seeds` given as `--seed`).
 * Undefined for anything that is not a schema error.
 */
export function schemaProblems(error: unknown, flags: Record<string, string> = {}): string | undefined {
  const issues = (error as { name?: string; issues?: unknown } | null)?.name === 'ZodError' ? (error as { issues: unknown }).issues : undefined;
  if (!Array.isArray(issues)) return undefined;
  return (issues as SchemaIssue[]).map((issue) => {
    const field = issue.path.map(String).join('.');
    const flag = flags[String(issue.path[0])] ?? FLAG_OF_FIELD[String(issue.path[0])] ?? field;
    return `${flag}${issue.path.length > 1 ? ` (${field})` : ''}${describeIssue(issue)}`;
  }).join('; ');
}

function describeIssue(issue: SchemaIssue): string {
  const given = issue.input === undefined ? '' : `, not '${String(issue.input)}'`;
  if (issue.code === 'invalid_type' && issue.input === undefined && /received undefined/.test(issue.message)) return ' is required';
  if (issue.code === 'invalid_type' && (issue.expected === 'number' || issue.expected === 'int')) return ` must be ${issue.expected === 'int' ? 'an integer' : 'a number'}${given}`;
  if (issue.code === 'invalid_value' && issue.values) return `: expected one of ${issue.values.map(String).join(', ')}${given}`;
  const bound = issue.code === 'too_small' ? issue.minimum : issue.code === 'too_big' ? issue.maximum : undefined;
  if (bound === undefined || typeof bound === 'object') return `: ${issue.message.replace(/\s+/g, ' ')}`;
  if (issue.origin === 'array' || issue.origin === 'string') return ` takes ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} ${issue.origin === 'array' ? 'values' : 'characters'}`;
  return ` must be ${issue.code === 'too_small' ? (issue.inclusive === false ? 'more than' : 'at least') : issue.inclusive === false ? 'less than' : 'at most'} ${String(bound)}`;
}
