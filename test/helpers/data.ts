/** Where the real Sentinel sample data lives: ../shared/data beside the repository, or $CLEARSKY_DATA. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DATA_DIR = process.env.CLEARSKY_DATA ?? path.resolve(REPO_ROOT, '../shared/data');

export function dataFile(...parts: string[]): string {
  return path.join(DATA_DIR, ...parts);
}
