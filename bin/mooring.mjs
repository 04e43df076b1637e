#!/usr/bin/env node
// The `mooring` command. Runs the CLI bundled into one file (bin/cli-bundle.mjs builds it on first
// use and again after any source changes), else the TypeScript sources through tsx: either way no
// build step stands between a checkout and a working CLI.
import { loadBundledCli } from './cli-bundle.mjs';

let main = await loadBundledCli();
if (!main) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../electron/cli/main.ts'));
}
process.exitCode = await main(process.argv);
