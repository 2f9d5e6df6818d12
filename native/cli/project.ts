/** `clearsky project create|import|list`: a project folder, what goes into it and what it holds. */
import { IMPORT_KINDS } from '../api/contract.ts';
import { statSync } from 'node:fs';
import { createProjectCommand, formatImportOutcomes, formatProjectListing, importCommand, importFolderCommand, listProjectCommand } from '../commands/project.ts';
import { JSON_OUTPUT, UsageError, oneOf, type Context, type Options, type ParsedArgs } from './args.ts';

export const summary = 'create a project, import rasters into it, list what it holds';

export const usage = `clearsky project create DIR [--name NAME] [--json]
clearsky project import DIR PATH... [--kind ${IMPORT_KINDS.join('|')}] [--json]
clearsky project list DIR [--json]
                 create: an empty project folder; import: files, or folders (every .tif/.tiff below them);
                 list: the scenes, references and masks with their ids`;

export const options = {
  ...JSON_OUTPUT,
  name: { type: 'string' },
  kind: { type: 'string' },
} satisfies Options;

export const positionals = true;

export async function run({ values: v, positionals: words }: ParsedArgs, context: Context): Promise<number> {
  const [sub, ...args] = words;
  const oneFolder = () => {
    if (args.length !== 1) throw new UsageError(`usage: clearsky project ${sub} DIR`);
    return args[0];
  };
  if (sub !== 'import' && v.kind !== undefined) throw new UsageError('--kind is for `clearsky project import`');
  if (sub !== 'create' && v.name !== undefined) throw new UsageError('--name is for `clearsky project create`');
  if (sub === 'create') {
    const created = createProjectCommand(oneFolder(), v.name as string | undefined);
    console.log(v.json ? JSON.stringify(created) : `created project ${created.name} in ${created.dir}`);
    return 0;
  }
  if (sub === 'import') {
    if (args.length < 2) throw new UsageError('usage: clearsky project import DIR PATH... [--kind K]');
    const kind = v.kind === undefined ? undefined : oneOf(v.kind as string, IMPORT_KINDS, '--kind');
    // One folder: through the service, with each new scene's cloud cover; Ctrl-C keeps the files done.
    if (args.length === 2 && statSync(args[1], { throwIfNoEntry: false })?.isDirectory()) {
      let shown = '';
      const result = await importFolderCommand(args[0], args[1], kind, context.signal, (e) => {
        // One line per step (a file, a scene's cloud cover); the first ("looking for rasters") has no count yet.
        if (v.json || e.state !== 'running' || e.total === 0 || e.step === shown) return;
        shown = e.step;
        console.error(`[${e.done + 1}/${e.total}] ${e.step}`);
      });
      console.log(v.json ? JSON.stringify(result.outcomes) : formatImportOutcomes(result.outcomes)); // --json: the outcomes, as for files
      if (result.cancelled) console.error(`clearsky: import stopped; ${result.notImported.length} file${result.notImported.length === 1 ? '' : 's'} not imported (the files done stay): ${result.notImported.join(', ')}`);
      return result.cancelled ? 130 : result.outcomes.some((o) => o.status === 'failed' || o.status === 'unsure') ? 1 : 0;
    }
    const outcomes = await importCommand(args[0], { paths: args.slice(1), kind }, (done, total, file) => {
      if (!v.json && total > 1) console.error(`[${done + 1}/${total}] ${file}`);
    });
    console.log(v.json ? JSON.stringify(outcomes) : formatImportOutcomes(outcomes));
    return outcomes.some((o) => o.status === 'failed' || o.status === 'unsure') ? 1 : 0;
  }
  if (sub === 'list') {
    const listing = listProjectCommand(oneFolder());
    console.log(v.json ? JSON.stringify(listing) : formatProjectListing(listing));
    return 0;
  }
  throw new UsageError(`usage: clearsky project create|import|list DIR ...${sub === undefined ? '' : ` (not '${sub}')`}`);
}
