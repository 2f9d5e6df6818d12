#!/usr/bin/env node
// The `clearsky` command: runs the TypeScript command line through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
await import('../native/cli.ts');
