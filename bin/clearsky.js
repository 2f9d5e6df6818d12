#!/usr/bin/env node
// The `clearsky` command: runs the TypeScript command line through tsx, so no build step is needed.
import os from 'node:os';
import { register } from 'tsx/esm/api';

// GeoTIFF compression runs on libuv's thread pool (4 threads unless told): let it use every core. This has to
// happen before anything touches the pool.
process.env.UV_THREADPOOL_SIZE ??= String(os.availableParallelism());
register();
await import('../native/cli.ts');
