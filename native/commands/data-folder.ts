/**
 * Where the public Sentinel sample sets live (the sets `clearsky eval --set` knows, the tests' data): the folder
 * given (`--data DIR`), else $CLEARSKY_DATA, else ../shared/data beside the repository. The one place this is
 * decided: the command line and test/helpers/data.ts both ask here.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function dataFolder(given?: string): string {
  return path.resolve(given ?? process.env.CLEARSKY_DATA ?? path.join(REPO_ROOT, '../shared/data'));
}
