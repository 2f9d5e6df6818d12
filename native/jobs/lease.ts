/**
 * One owner per run. The process working a run holds its lease: `runs.owner` names it (host:pid:random, one
 * per job runner) and `runs.heartbeat_at` says when it last confirmed it is alive. Other processes may list,
 * watch and cancel the run, but only the owner hands out its tiles, records their results and mosaics it
 * (run-store.ts checks the owner in the same statement or transaction as each write).
 *
 * A lease is free when nobody holds it (a queued `--detach` run, a run released by a process that closed) and
 * stale when its owner is gone: an owner on this host whose process no longer exists is stale at once (a
 * `kill -9`), any other owner once its heartbeat is older than STALE_AFTER_MS (a crashed machine, a process
 * frozen for that long: it finds the lease taken when it wakes, and stops working the run; a dead owner's PID
 * taken by a new process). Heartbeats are wall-clock times, so owners on two machines need roughly set clocks.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';

/** How often an owner refreshes the heartbeat of its runs. */
export const HEARTBEAT_MS = 1000;
/** A lease whose heartbeat is older than this is stale (15 beats: a busy catalogue can hold a beat up for 5 s). */
export const STALE_AFTER_MS = 15_000;

export interface OwnerInfo {
  host: string;
  pid: number;
}

/** A new owner id for a job runner of this process. */
export function newOwnerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** The host and process of an owner id; null for a value Clearsky did not write. */
export function parseOwner(owner: string): OwnerInfo | null {
  const parts = owner.split(':');
  if (parts.length < 3) return null;
  const pid = Number(parts[parts.length - 2]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { host: parts.slice(0, -2).join(':'), pid };
}

/** Whether a lease held by `owner`, last confirmed at `heartbeatAt`, may be taken over now. */
export function isStale(owner: string | null, heartbeatAt: string | null, now = Date.now()): boolean {
  if (owner === null) return true;
  const info = parseOwner(owner);
  if (info && info.host === os.hostname() && !processExists(info.pid)) return true;
  const beat = heartbeatAt === null ? NaN : Date.parse(heartbeatAt);
  return !Number.isFinite(beat) || now - beat > STALE_AFTER_MS;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** "pid 1234 on host" for messages. */
export function describeOwner(owner: string): string {
  const info = parseOwner(owner);
  return info ? `pid ${info.pid} on ${info.host}` : owner;
}
