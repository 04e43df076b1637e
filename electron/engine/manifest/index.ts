// The manifest module: compose files and mooring.yaml from the config repo → the desired model.
export { loadStack } from './compose-loader.ts';
export type { LoadStackOptions } from './compose-loader.ts';
export type { LoadResult, RepoReader } from './types.ts';
export { DEFAULT_POLICY, parsePolicyFile } from './policy.ts';
export type { PolicyResult } from './policy.ts';
export { interpolate } from './interpolate.ts';
export type { InterpolateResult } from './interpolate.ts';
export { parseDotenv } from './dotenv.ts';
export { specHash } from './spec-hash.ts';
export { projectName } from './project-name.ts';
