// How a command reaches the engine: one dynamic import of engine-side.ts, which the build turns into a
// require of its own bundle (out/cli/mooring-engine.cjs, scripts/build-cli.mjs). Its own module, so
// that main.ts and the command files load the engine the same way and none of them imports it at the
// top by mistake: only the first command that runs pays for it, never `--help`.
import type * as EngineSideModule from './engine-side.ts';

export type EngineSide = typeof EngineSideModule;

export function loadEngineSide(): Promise<EngineSide> {
  return import('./engine-side.ts');
}
