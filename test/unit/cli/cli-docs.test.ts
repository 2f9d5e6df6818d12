/**
 * Every command's usage is where users read it: `clearsky <command> --help` (and `clearsky help <command>`)
 * prints it, and docs/cli.md shows exactly that text in a fenced block right under the command's heading.
 * Changing a usage without the docs (or the docs without the code) fails here.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { COMMANDS } from '../../../native/cli/main.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { REPO_ROOT } from '../../helpers/data.ts';

const NAMES = Object.keys(COMMANDS);

/** The fenced block right under docs/cli.md's heading for `clearsky <name>`, or undefined where there is none. */
function documentedUsage(docs: string, name: string): string | undefined {
  const lines = docs.split('\n');
  const heading = lines.findIndex((line) => new RegExp(`^#{2,4} \`clearsky ${name}\`$`).test(line));
  if (heading < 0) return undefined;
  let open = heading + 1;
  while (lines[open] === '') open++;
  if (lines[open] !== '```') return undefined;
  const close = lines.indexOf('```', open + 1);
  return close < 0 ? undefined : lines.slice(open + 1, close).join('\n') + '\n';
}

test('docs/cli.md has a section for every command, its usage exactly as `clearsky <command> --help` prints it', async () => {
  const docs = await fs.readFile(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
  assert.ok(NAMES.length >= 14, `the table holds the commands: ${NAMES.join(', ')}`);
  const helps = await Promise.all(NAMES.map((name) => runClearsky([name, '--help'], REPO_ROOT)));
  NAMES.forEach((name, i) => {
    const help = helps[i];
    assert.equal(help.code, 0, `${name} --help: ${help.stderr}`);
    assert.equal(help.stderr, '', `${name} --help writes nothing on stderr`);
    assert.match(help.stdout, new RegExp(`^clearsky ${name}\\b`), `${name} --help starts with the command`);
    const documented = documentedUsage(docs, name);
    assert.notEqual(documented, undefined, `docs/cli.md has a heading \`clearsky ${name}\` with a fenced usage block right under it`);
    assert.equal(documented, help.stdout, `docs/cli.md's usage of clearsky ${name} is what --help prints`);
  });
});

test('`clearsky help <command>` (and `-h`) prints the usage; `clearsky --help` lists every command; an unknown one is exit 2', async () => {
  const [list, helpList, bare, short, ...helps] = await Promise.all([
    runClearsky(['--help'], REPO_ROOT),
    runClearsky(['help'], REPO_ROOT),
    runClearsky([], REPO_ROOT),
    runClearsky(['run', '-h'], REPO_ROOT),
    ...NAMES.map((name) => runClearsky(['help', name], REPO_ROOT)),
  ]);
  for (const r of [list, helpList, bare]) assert.equal(r.code, 0, r.stderr);
  assert.equal(helpList.stdout, list.stdout);
  assert.equal(bare.stdout, list.stdout);
  for (const name of NAMES) assert.match(list.stdout, new RegExp(`^  ${name} +\\S`, 'm'), `clearsky --help lists ${name}`);
  NAMES.forEach((name, i) => {
    assert.equal(helps[i].code, 0, helps[i].stderr);
    assert.equal(helps[i].stdout, `${COMMANDS[name].usage}\n`, `clearsky help ${name} prints its usage`);
  });
  assert.equal(short.stdout, helps[NAMES.indexOf('run')].stdout, 'clearsky run -h = clearsky help run');
  const unknown = await runClearsky(['help', 'frobnicate'], REPO_ROOT);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^clearsky: unknown command 'frobnicate'\n/);
});
