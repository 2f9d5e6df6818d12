/** Where the real Sentinel sample data lives: ../shared/data beside the repository, or $CLEARSKY_DATA (native/commands/data-folder.ts decides). */
import path from 'node:path';
import { dataFolder, REPO_ROOT } from '../../native/commands/data-folder.ts';

export { REPO_ROOT };
export const DATA_DIR = dataFolder();

export function dataFile(...parts: string[]): string {
  return path.join(DATA_DIR, ...parts);
}
