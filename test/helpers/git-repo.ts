// Test repos made with native git: a bare repo served by the test git server, or a local repo with a
// work tree. Identity and config come from the environment so this works on a machine with no git setup.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { GitServer } from './git-server.ts';

const execFileAsync = promisify(execFile);

const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Mooring Test',
  GIT_AUTHOR_EMAIL: 'test@mooring.invalid',
  GIT_COMMITTER_NAME: 'Mooring Test',
  GIT_COMMITTER_EMAIL: 'test@mooring.invalid',
  // Ignore the developer's config (signing, hooks, default branch…): tests must behave the same everywhere.
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
};

/** Run native git in `cwd`; returns trimmed stdout. */
export async function runGit(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, env: GIT_ENV, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** Write files into a work tree (null deletes), stage everything, commit; returns the new commit id. */
async function commitFiles(
  work: string,
  files: Record<string, string | null>,
  message: string,
): Promise<string> {
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(work, file);
    if (content === null) {
      await rm(full, { recursive: true, force: true });
    } else {
      await mkdir(path.dirname(full), { recursive: true });
      await writeFile(full, content);
    }
  }
  await runGit(work, ['add', '-A']);
  // --allow-empty: every call yields a new commit, even when the files did not change.
  await runGit(work, ['commit', '-q', '--allow-empty', '-m', message]);
  return runGit(work, ['rev-parse', 'HEAD']);
}

export interface TestRepo {
  /** Clone URL on the test server. */
  url: string;
  /** Path of the bare repo the server serves. */
  bare: string;
  /** Work-tree clone to make more commits from (its `origin` is the bare repo's path). */
  work: string;
  /** Writes (null deletes), commits and pushes to the bare repo; returns the new commit id. */
  commit(files: Record<string, string | null>, message: string): Promise<string>;
}

/**
 * Create a bare repo `${server.root}/${name}.git` with an initial commit of `files` on branch `main`.
 * Pushes go to the bare repo's path rather than over HTTP, so setting up a test does not depend on the
 * server being up (tests stop it on purpose).
 */
export async function createRepo(
  server: GitServer,
  name: string,
  files: Record<string, string>,
): Promise<TestRepo> {
  const bare = path.join(server.root, `${name}.git`);
  await mkdir(path.dirname(bare), { recursive: true });
  await runGit(server.root, ['init', '-q', '--bare', '-b', 'main', bare]);
  const work = await mkdtemp(path.join(os.tmpdir(), 'mooring-work-'));
  await runGit(work, ['init', '-q', '-b', 'main']);
  await runGit(work, ['remote', 'add', 'origin', bare]);
  await commitFiles(work, files, 'initial commit');
  await runGit(work, ['push', '-q', 'origin', 'main']);
  return {
    url: `${server.url}/${name}.git`,
    bare,
    work,
    commit: async (more, message) => {
      const id = await commitFiles(work, more, message);
      await runGit(work, ['push', '-q', 'origin', 'HEAD:main']);
      return id;
    },
  };
}

export interface LocalRepo {
  /** The work tree; its git dir is `${path}/.git`. */
  path: string;
  /** Writes (null deletes) and commits; returns the new commit id. */
  commit(files: Record<string, string | null>, message: string): Promise<string>;
}

/** A local (non-bare) repo with a work tree on branch `main`, for local-path sources. */
export async function createLocalRepo(files: Record<string, string>): Promise<LocalRepo> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-local-'));
  await runGit(dir, ['init', '-q', '-b', 'main']);
  await commitFiles(dir, files, 'initial commit');
  return { path: dir, commit: (more, message) => commitFiles(dir, more, message) };
}
