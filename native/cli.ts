/**
 * The `clearsky` command (bin/clearsky.js loads this file): the process's Ctrl-C handling around
 * native/cli/main.ts, which holds the commands (one module each in native/cli/) and the exit statuses.
 */
import { main, reportError } from './cli/main.ts';

// Ctrl-C stops the optimisation between two steps; a second Ctrl-C exits at once (`clearsky worker` handles its own).
// One listener for the whole life of the process: swapping `once` listeners leaves an instant with none, and a
// SIGINT landing then kills the process by signal instead of exiting 130.
const interrupt = new AbortController();
let ownSignals = false;
process.on('SIGINT', () => {
  if (!interrupt.signal.aborted) interrupt.abort();
  else if (!ownSignals) process.exit(130);
});

const argv = process.argv.slice(2);
try {
  process.exitCode = await main(argv, { signal: interrupt.signal, ownSignals: () => { ownSignals = true; } });
} catch (error) {
  process.exitCode = reportError(error, argv);
}
