/**
 * A project's side of scale-out: its stable id (which names its runs on a shared queue) and the queue its runs
 * may be sent to. The URL is kept in the catalogue (project.sqlite, `project.queue_url`), password and all,
 * because the process that resumes a run must reach the same queue; everything the API returns or logs shows
 * it only redacted (`redis://user:***@host:6379`).
 */
import type Database from 'better-sqlite3';
import { parseQueueUrl } from './queue-url.ts';

/** The project's id, made once (migration 6 or createProject): runKeys are `<uid>:<run id>`. */
export function projectUid(db: Database.Database): string {
  db.prepare('UPDATE project SET uid = lower(hex(randomblob(8))) WHERE id = 1 AND uid IS NULL').run();
  return (db.prepare('SELECT uid FROM project WHERE id = 1').get() as { uid: string }).uid;
}

/** The runKey of a project run: stable across the owner's restarts, unique across projects on one queue. */
export function projectRunKey(db: Database.Database, runId: number): string {
  return `${projectUid(db)}:${runId}`;
}

/** The project's queue URL (with its password), or null when none is set. Never show it: `redactQueueUrl`. */
export function projectQueueUrl(db: Database.Database): string | null {
  return (db.prepare('SELECT queue_url FROM project WHERE id = 1').get() as { queue_url: string | null }).queue_url;
}

/** Sets (null: clears) the project's queue, after checking the URL's form; returns it redacted. */
export function setProjectQueueUrl(db: Database.Database, url: string | null, what = 'the project’s queue URL'): string | null {
  if (url !== null) checkQueueUrl(url, what);
  db.prepare('UPDATE project SET queue_url = ? WHERE id = 1').run(url);
  return url === null ? null : redactQueueUrl(url);
}

/** The URL checked (queue-url.ts: redis:// or rediss://, a host, a database number at most), or an InputError showing it redacted. */
export function checkQueueUrl(url: string, what = '--queue'): void {
  parseQueueUrl(url, what);
}

/** The URL as it may be shown: its password as `***` (also in a text that does not parse as a queue URL). */
export function redactQueueUrl(url: string): string {
  try {
    return parseQueueUrl(url).display;
  } catch (error) {
    // The refusal quotes the text redacted: take it from there rather than redact a second way.
    return /got '(.*)'\)$/.exec((error as Error).message)?.[1] ?? '***';
  }
}
