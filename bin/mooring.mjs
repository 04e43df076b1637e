#!/usr/bin/env node
// The `mooring` command. Runs the TypeScript sources through tsx, so no build step stands between
// a checkout and a working CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../electron/cli/main.ts');
process.exitCode = await main(process.argv);
