// The config repo: mirror, fetch, log and read at a revision.
export { COMPOSE_FILES, GitSource } from './git-source.ts';
export type { GitSourceOptions, RepoReader, StackLocation, TreeFile, TreeStat } from './git-source.ts';
