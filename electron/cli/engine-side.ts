// Everything of the engine that the CLI's commands run, as opposed to the command tree that declares
// them (main.ts and the command files). Loaded by a command when it runs, through loadEngineSide()
// (engine-loader.ts), never at start: `mooring --help`, `mooring <command> --help` and usage errors
// do not need dockerode, isomorphic-git, SQLite or the zod schemas, which were three quarters of the
// CLI's start (docs/benchmarks.md, cli-start). scripts/build-cli.mjs bundles this module apart, into
// out/cli/mooring-engine.cjs, and fails the build if the command tree bundles any of it.
export { Engine } from '../engine/engine.ts';
export { damagedHistoryError, isSqliteDamaged, isSqliteReadOnly } from '../engine/history/open-db.ts';
export { defaultHome, isWriteDenied, readOnlyHomeError } from '../engine/home.ts';
export { DEFAULT_POLL_INTERVAL_SEC } from '../engine/settings.ts';
/** `sync`'s spinner on a terminal: yocto-spinner, loaded with the engine that the sync runs. */
export { Spinner } from './spinner.ts';

/** The controller: only `watch` and `serve` run it, so it is loaded when they do. */
export async function loadController() {
  const { Controller } = await import('../engine/reconcile/controller.ts');
  return Controller;
}

/** The controllers of the other engines a repo sends stacks to: only `watch --all-engines` runs them. */
export async function loadOtherControllers() {
  const { OtherControllers } = await import('../engine/reconcile/other-controllers.ts');
  return OtherControllers;
}

/** The API service and the browser-mode server: only `serve` needs them. */
export async function loadServer() {
  const [{ ApiService }, { startServer }] = await Promise.all([
    import('../engine/api-service.ts'),
    import('../server/server.ts'),
  ]);
  return { ApiService, startServer };
}
