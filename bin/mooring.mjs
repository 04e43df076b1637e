#!/usr/bin/env node
// The `mooring` command. Runs the CLI bundled into one file (bin/cli-bundle.mjs builds it on first
// use and again after any source changes), else the TypeScript sources through tsx: either way no
// build step stands between a checkout and a working CLI.
import { loadBundledCli } from './cli-bundle.mjs';

const bundled = await loadBundledCli();
if (bundled) {
  process.exitCode = await bundled.main(process.argv);
  bundled.done();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../electron/cli/main.ts');
  process.exitCode = await main(process.argv);
}
