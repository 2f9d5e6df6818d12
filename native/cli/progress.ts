/** What long commands print on stderr while they work: steps, tiles and run events, at a readable pace. */
import type { ApiEvent } from '../api/contract.ts';

/** Run events on stderr: tile and run changes as they come, step progress at most every 2 s. */
export function eventPrinter() {
  let last = 0;
  return (event: ApiEvent) => {
    if (event.type === 'progress') {
      const now = performance.now();
      if (now - last < 2000) return;
      last = now;
      console.error(`run ${event.runId} tile ${event.tileIndex}: step ${event.step}/${event.steps} loss ${event.loss.toFixed(5)}${event.etaSeconds !== null ? `, ~${event.etaSeconds.toFixed(0)} s left` : ''}${event.runEtaSeconds !== null ? ` (run ~${event.runEtaSeconds.toFixed(0)} s)` : ''}`);
    } else if (event.type === 'tile') {
      if (event.tile.status === 'done' || event.tile.status === 'failed') console.error(`run ${event.tile.runId} tile ${event.tile.index}: ${event.tile.status}${event.tile.error ? ` (${event.tile.error})` : ''}`);
    } else if (event.type === 'run') {
      const t = event.run.tiles;
      console.error(`run ${event.run.id}: ${event.run.status} (${t.done}/${t.total - t.clear} cloudy tiles done${t.failed ? `, ${t.failed} failed` : ''})`);
    }
  };
}

/** Progress on stderr: a line at most every 2 s, so logs of long runs stay readable. */
export function progressPrinter() {
  let last = 0;
  return (p: { label?: string; step: number; steps: number; loss: number; elapsedSeconds: number }) => {
    const now = performance.now();
    if (now - last < 2000 && p.step !== p.steps) return;
    last = now;
    const eta = p.step > 0 ? (p.elapsedSeconds / p.step) * (p.steps - p.step) : 0;
    console.error(`${p.label ? p.label + ' ' : ''}step ${p.step}/${p.steps} loss ${p.loss.toFixed(5)} ${p.elapsedSeconds.toFixed(0)} s elapsed, ~${eta.toFixed(0)} s left`);
  };
}

/** Tiles done on stderr, at most every 2 s (and the last). */
export function tilePrinter() {
  let last = 0;
  return (done: number, total: number) => {
    const now = performance.now();
    if (now - last < 2000 && done !== total) return;
    last = now;
    console.error(`${done}/${total} cloudy tiles done`);
  };
}
