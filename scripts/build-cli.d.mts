/** Bundles the CLI into out/cli/: the command tree, the engine side, the errors they share (see build-cli.mjs). */
export declare function buildCli(): Promise<void>;
/** The path of the bundle bin/mooring.mjs starts: the command tree. */
export declare const BUNDLE: string;
