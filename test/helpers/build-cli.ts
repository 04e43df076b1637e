// Vitest's global setup: builds the `mooring` CLI bundle (out/cli/mooring.cjs) from the sources as they
// are now, since some tests run the installed command itself (bin/mooring.mjs) in a child process and
// must not run a bundle built before the last edit.
import { buildCli } from '../../scripts/build-cli.mjs';

export default async function setup(): Promise<void> {
  await buildCli();
}
