/** Bundles electron/cli/main.ts into out/cli/mooring.cjs (see build-cli.mjs). */
export declare function buildCli(): Promise<void>;
/** The bundle's path. */
export declare const BUNDLE: string;
