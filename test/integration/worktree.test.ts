// Issue 17, item 1: a local source's work tree as a revision of its own. Staged, unstaged and untracked
// changes are previewed field by field (`diff --worktree`, `sync --worktree --dry-run`) with the same
// loader as a commit, a broken file is reported at its position, and deploying the work tree happens
// only on request, recorded as a `worktree` run with no deploy note. Nothing is written to the repo.
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.ts';
import { snapshotWorktree } from '../../electron/engine/source/worktree.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, runGit, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker)
  console.warn('SKIPPED work tree preview tests against the engine: no Docker engine answers.');

const STACK = `wt${UNIQUE}`;
const NEW_STACK = `wtnew${UNIQUE}`;

const compose = (level: string): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    environment:
      LEVEL: "${level}"
    volumes:
      - ./conf:/conf:ro
`;

/** What the repository's own git says about itself: nothing a preview does may change it. */
async function repoState(dir: string): Promise<string> {
  return [
    await runGit(dir, ['status', '--porcelain=v2', '--untracked-files=all']),
    await runGit(dir, ['ls-files', '--stage', '--debug']),
    await runGit(dir, ['count-objects', '-v']),
  ].join('\n---\n');
}

describe('the work tree as git objects', () => {
  it('gives the tree `git add -A && git write-tree` gives, links, modes and ignored files included', async () => {
    const repo = await createLocalRepo({
      'a/compose.yaml': 'services: {}\n',
      'a.b': 'sorts after the folder a/ in git order\n',
      '.gitignore': 'ignored/\n*.log\n',
      'keep.txt': 'unchanged\n',
    });
    try {
      const dir = repo.path;
      await writeFile(path.join(dir, 'a/compose.yaml'), 'services: { x: { image: busybox } }\n');
      await mkdir(path.join(dir, 'a/new'), { recursive: true });
      await writeFile(path.join(dir, 'a/new/run.sh'), '#!/bin/sh\n');
      await chmod(path.join(dir, 'a/new/run.sh'), 0o755);
      await symlink('../keep.txt', path.join(dir, 'a/link'));
      await mkdir(path.join(dir, 'ignored'));
      await writeFile(path.join(dir, 'ignored/compose.yaml'), 'services: {}\n');
      await writeFile(path.join(dir, 'debug.log'), 'noise\n');
      await rm(path.join(dir, 'a.b'));
      // Staged, then changed again: the work tree's version counts.
      await writeFile(path.join(dir, 'keep.txt'), 'staged\n');
      await runGit(dir, ['add', 'keep.txt']);
      await writeFile(path.join(dir, 'keep.txt'), 'changed after staging\n');
      const before = await repoState(dir);
      const snap = await snapshotWorktree(dir, path.join(dir, '.git'), { maxFiles: 1000, maxBytes: 1 << 20 });
      expect(await repoState(dir)).toBe(before);
      expect(snap.changed).toEqual([
        { path: 'a.b', change: 'D' },
        { path: 'a/compose.yaml', change: 'M' },
        { path: 'a/link', change: 'A' },
        { path: 'a/new/run.sh', change: 'A' },
        { path: 'keep.txt', change: 'M' },
      ]);
      expect(snap.branch).toBe('main');
      expect(snap.head).toBe(await runGit(dir, ['rev-parse', 'HEAD']));
      const commit = snap.objects.get(snap.commit);
      expect(commit?.type).toBe('commit');
      await runGit(dir, ['add', '-A']);
      const tree = await runGit(dir, ['write-tree']);
      expect(commit?.type === 'commit' && commit.commit.tree).toBe(tree);
      expect(await runGit(dir, ['ls-tree', '-r', tree])).toContain('100755 blob');
      expect(await runGit(dir, ['ls-tree', '-r', tree])).toContain('120000 blob');
      // The same files give the same id: the id names the content, not the moment.
      const again = await snapshotWorktree(dir, path.join(dir, '.git'), {
        maxFiles: 1000,
        maxBytes: 1 << 20,
      });
      expect(again.commit).toBe(snap.commit);
    } finally {
      await rm(repo.path, { recursive: true, force: true });
    }
  });

  it('refuses a work tree whose uncommitted files exceed the limit, naming what to do', async () => {
    const repo = await createLocalRepo({ 'a/compose.yaml': 'services: {}\n' });
    try {
      await writeFile(path.join(repo.path, 'dump.bin'), Buffer.alloc(4096));
      await expect(
        snapshotWorktree(repo.path, path.join(repo.path, '.git'), { maxFiles: 1000, maxBytes: 1024 }),
      ).rejects.toThrow(/dump\.bin.*\.gitignore/);
    } finally {
      await rm(repo.path, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveDocker)('previewing and deploying the work tree', () => {
  let home: string;
  let repo: LocalRepo;
  let head: string;
  const env = (): Promise<string> =>
    docker('inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', `${STACK}-app-1`);
  const conf = (): Promise<string> => docker('exec', `${STACK}-app-1`, 'cat', '/conf/app.conf');
  const write = (file: string, text: string): Promise<void> => writeFile(path.join(repo.path, file), text);

  beforeAll(async () => {
    await removeStacks(STACK, NEW_STACK);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-wt-'));
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: compose('1'),
      [`${STACK}/conf/app.conf`]: 'committed\n',
      '.gitignore': 'scratch/\n',
    });
    head = await runGit(repo.path, ['rev-parse', 'HEAD']);
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const r = await mooring(home, ['sync', STACK]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await removeStacks(STACK, NEW_STACK);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('says a clean work tree has nothing uncommitted, and nothing differs', async () => {
    const r = await mooring(home, ['diff', '--worktree', STACK]);
    expect(r.stdout).toContain(
      `Work tree of source "cfg" (${repo.path}), branch main at ${head.slice(0, 7)}: no uncommitted changes.`,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('previews unstaged, staged and untracked changes field by field, changing nothing', async () => {
    const runsBefore = (await mooringJson<{ runs: unknown[] }>(home, ['history'])).runs.length;
    await write(`${STACK}/compose.yaml`, compose('2'));
    await write(`${STACK}/conf/app.conf`, 'edited\n');
    await runGit(repo.path, ['add', `${STACK}/conf/app.conf`]);
    await mkdir(path.join(repo.path, NEW_STACK));
    await write(`${NEW_STACK}/compose.yaml`, compose('new').replace(/\n {4}volumes:\n.*\n/, '\n'));
    await mkdir(path.join(repo.path, 'scratch', 'other'), { recursive: true });
    await write('scratch/other/compose.yaml', 'services: { bad: [ }\n');
    const before = await repoState(repo.path);

    const diff = await mooring(home, ['diff', '--worktree']);
    expect(diff.code, diff.stderr).toBe(1);
    expect(diff.stdout).toMatch(/with 3 uncommitted changes \(id [0-9a-f]{7}\):/);
    expect(diff.stdout).toContain(`M ${STACK}/compose.yaml`);
    expect(diff.stdout).toContain(`A ${NEW_STACK}/compose.yaml`);
    expect(diff.stdout).toContain(`M ${STACK}/conf/app.conf`);
    expect(diff.stdout).not.toContain('scratch');
    expect(diff.stdout).toContain('environment.LEVEL');

    const plan = await mooring(home, ['sync', '--worktree', '--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(new RegExp(`recreate app — .*environment\\.LEVEL`));
    expect(plan.stdout).toMatch(
      new RegExp(`${NEW_STACK} @ [0-9a-f]{7}: 2 action\\(s\\)\\n.*\\n  create app`),
    );
    const json = await mooringJson<{
      results: { stack: string; plan: { actions: { diff: { path: string }[] }[] } }[];
    }>(home, ['sync', '--worktree', '--dry-run', STACK]);
    const paths = json.results[0]!.plan.actions.flatMap((a) => a.diff.map((d) => d.path));
    expect(paths).toContain('environment.LEVEL');
    // The staged file is part of the content: its bind mount's content hash moved with it.
    expect(paths).toContain('volumes./conf');

    expect(await env()).toContain('LEVEL=1');
    expect((await mooringJson<{ runs: unknown[] }>(home, ['history'])).runs.length).toBe(runsBefore);
    expect(await repoState(repo.path)).toBe(before);
  });

  it('reports a broken work tree with the file, line and column', async () => {
    await write(`${NEW_STACK}/compose.yaml`, 'services:\n  app:\n    image: [local/busybox:1\n');
    const r = await mooring(home, ['diff', '--worktree', NEW_STACK]);
    expect(r.code).toBe(4);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`${NEW_STACK}/compose\\.yaml:\\d+:\\d+`));
    await rm(path.join(repo.path, NEW_STACK), { recursive: true });
  });

  it('deploys the work tree only when asked, as a worktree run with no deploy note', async () => {
    const notesBefore = await runGit(repo.path, ['notes', '--ref=mooring', 'list']).catch(() => '');
    const r = await mooring(home, ['sync', '--worktree', STACK]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('recorded as a "worktree" run');
    expect(await env()).toContain('LEVEL=2');
    // The bind-mounted file came from the work tree, through the same materializing as a commit's.
    expect(await conf()).toBe('edited');
    const { runs } = await mooringJson<{ runs: { trigger: string; revision: string; result: string }[] }>(
      home,
      ['history', '--stack', STACK],
    );
    expect(runs[0]).toMatchObject({ trigger: 'worktree', result: 'succeeded' });
    expect(runs[0]!.revision).not.toBe(head);
    expect(await runGit(repo.path, ['notes', '--ref=mooring', 'list']).catch(() => '')).toBe(notesBefore);
    // It cannot be rolled back to: its files are in no commit.
    const back = await mooring(home, ['rollback', STACK, 'worktree']);
    expect(back.code).toBe(2);
    expect(back.stderr).toContain('Uncommitted files are in no commit');
    // Plain sync deploys the branch tip again.
    expect((await mooring(home, ['sync', STACK])).code).toBe(0);
    expect(await env()).toContain('LEVEL=1');
  }, 120_000);

  it('deploys a work tree only when asked for as one (not through the API, not by a plain sync)', async () => {
    const engine = await Engine.open({ home });
    try {
      await expect(engine.sync({ stacks: [STACK], revision: 'worktree' })).rejects.toThrow(
        /only when asked for as such/,
      );
      await expect(engine.sync({ stacks: [STACK], trigger: 'worktree' })).rejects.toThrow(
        /give revision "worktree"/,
      );
    } finally {
      engine.close();
    }
  });

  it('refuses --worktree with --revision, and where no source has a work tree', async () => {
    const both = await mooring(home, ['diff', '--worktree', '--revision', 'main']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give one');
    const empty = await mkdtemp(path.join(os.tmpdir(), 'mooring-wt-empty-'));
    try {
      const r = await mooring(empty, ['diff', '--worktree']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('No source has a work tree');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
