// Writing to git without a work tree (new trees, commits, the branch moved by compare-and-swap) and the
// deploy notes ledger, checked with native git against real repos on disk.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as git from 'isomorphic-git';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { promote } from '../../electron/engine/pipeline/promote.ts';
import { revertStack } from '../../electron/engine/pipeline/revert.ts';
import { GitSource } from '../../electron/engine/source/git-source.ts';
import {
  compareAndSwapRef,
  editTree,
  writeBlob,
  writeCommit,
} from '../../electron/engine/source/git-write.ts';
import {
  appendDeployNote,
  listNotes,
  mergeRemoteNotes,
  NOTES_REF,
  noteLine,
  parseNote,
} from '../../electron/engine/source/notes.ts';
import { createLocalRepo, runGit } from '../helpers/git-repo.ts';

const author = { name: 'Mooring Test', email: 'mooring@test.invalid' };
const compose = (image: string): string =>
  `# web\nservices:\n  app:\n    image: ${image}   # set by promote\n    init: true\n`;

function localSource(repo: string): GitSource {
  return new GitSource({
    home: '/nonexistent',
    config: { name: 'cfg', url: repo, kind: 'local', branch: null, path: '', tokenEnv: null },
  });
}

const deploy = (host: string, runId: number, time: string) => ({
  time,
  host,
  stack: 'web',
  runId,
  startedAt: time,
  trigger: 'cli',
  result: 'succeeded',
  images: [{ service: 'app', image: 'app:1', id: 'sha256:abc' }],
});

describe('git writes without a work tree', () => {
  it('edits a tree, commits, and moves the branch only from the expected tip', async () => {
    const repo = await createLocalRepo({ 'web/compose.yaml': compose('app:1'), 'README.md': 'hi\n' });
    const gitdir = path.join(repo.path, '.git');
    const tip = await runGit(repo.path, ['rev-parse', 'HEAD']);
    const { commit } = await git.readCommit({ fs, gitdir, oid: tip });
    const blob = await writeBlob(gitdir, 'new\n');
    const tree = await editTree(gitdir, commit.tree, 'docs/deep/new.txt', { type: 'blob', oid: blob });
    const next = await writeCommit(gitdir, { tree, parents: [tip], message: 'add a file', author });
    expect(await compareAndSwapRef(gitdir, 'refs/heads/main', 'f'.repeat(40), next)).toBe(false);
    expect(await compareAndSwapRef(gitdir, 'refs/heads/main', tip, next)).toBe(true);
    expect(await runGit(repo.path, ['diff', '--name-status', tip, 'main'])).toBe('A\tdocs/deep/new.txt');
    expect(await runGit(repo.path, ['log', '-1', '--format=%an <%ae>%n%s', 'main'])).toBe(
      'Mooring Test <mooring@test.invalid>\nadd a file',
    );
    await runGit(repo.path, ['fsck', '--strict']);
    // Removing the only file of a folder removes the folder.
    const { commit: c2 } = await git.readCommit({ fs, gitdir, oid: next });
    const removed = await editTree(gitdir, c2.tree, 'docs/deep/new.txt', null);
    expect(removed).toBe(commit.tree);
  });

  it('promotes on a local repo: a one-line commit on the branch, work tree and index untouched', async () => {
    const repo = await createLocalRepo({ 'web/compose.yaml': compose('app:1'), 'web/.env': 'A=1\n' });
    const before = await runGit(repo.path, ['rev-parse', 'HEAD']);
    const result = await promote(
      localSource(repo.path),
      { stack: 'web', service: 'app', image: 'app:2', appCommit: 'c0ffee' },
      { author },
    );
    expect(result).toMatchObject({
      oldImage: 'app:1',
      newImage: 'app:2',
      line: 4,
      pushed: false,
      dryRun: false,
      parent: before,
    });
    expect(await runGit(repo.path, ['rev-parse', 'main'])).toBe(result.commit);
    expect(await runGit(repo.path, ['diff', '-U0', before, 'main'])).toContain(
      '-    image: app:1   # set by promote\n+    image: app:2   # set by promote',
    );
    expect(await runGit(repo.path, ['diff', '--numstat', before, 'main'])).toBe('1\t1\tweb/compose.yaml');
    expect(await runGit(repo.path, ['log', '-1', '--format=%B', 'main'])).toContain('app:1 → app:2');
    expect(await runGit(repo.path, ['log', '-1', '--format=%B', 'main'])).toContain('App commit: c0ffee');
    expect(await runGit(repo.path, ['reflog', '-1', '--format=%gs', 'main'])).toBe(
      'mooring: Promote web/app to app:2',
    );
    // The work tree still has what the person had there.
    expect(await readFile(path.join(repo.path, 'web/compose.yaml'), 'utf8')).toBe(compose('app:1'));
    // Promoting the same image again has nothing to commit.
    const again = await promote(
      localSource(repo.path),
      { stack: 'web', service: 'app', image: 'app:2' },
      { author },
    );
    expect(again.commit).toBeNull();
  });

  it('re-applies on a concurrent commit to another file, and stops on a real conflict', async () => {
    const repo = await createLocalRepo({ 'web/compose.yaml': compose('app:1'), 'other.txt': '1\n' });
    const raced = await promote(
      localSource(repo.path),
      { stack: 'web', service: 'app', image: 'app:2' },
      {
        author,
        beforePublish: async ({ attempt }) => {
          if (attempt === 1) await repo.commit({ 'other.txt': '2\n' }, 'concurrent');
        },
      },
    );
    expect(raced.attempts).toBe(2);
    expect(await runGit(repo.path, ['log', '--format=%s', '-2', 'main'])).toBe(
      'Promote web/app to app:2\nconcurrent',
    );
    await expect(
      promote(
        localSource(repo.path),
        { stack: 'web', service: 'app', image: 'app:3' },
        {
          author,
          beforePublish: async ({ attempt }) => {
            if (attempt === 1) {
              // Someone edits the same line: the work tree is behind by now, so bring it up to date first.
              await runGit(repo.path, ['reset', '-q', '--hard', 'main']);
              await repo.commit({ 'web/compose.yaml': compose('app:9') }, 'hand edit');
            }
          },
        },
      ),
    ).rejects.toThrow(
      /changed upstream while promoting: web\/compose.yaml had app:2, the branch now has app:9/,
    );
    expect(await runGit(repo.path, ['log', '-1', '--format=%s', 'main'])).toBe('hand edit');
  });

  it('reverts a stack folder to a past revision and keeps other stacks', async () => {
    const repo = await createLocalRepo({
      'web/compose.yaml': compose('app:1'),
      'db/compose.yaml': compose('db:1'),
    });
    const first = await runGit(repo.path, ['rev-parse', 'HEAD']);
    await repo.commit({ 'web/compose.yaml': compose('app:2'), 'web/extra.conf': 'x\n' }, 'web: app 2');
    await repo.commit({ 'db/compose.yaml': compose('db:2') }, 'db: 2');
    const tip = await runGit(repo.path, ['rev-parse', 'HEAD']);
    const result = await revertStack(localSource(repo.path), { stack: 'web', revision: first }, { author });
    expect(result.undone.map((u) => u.subject)).toEqual(['web: app 2']);
    expect(await runGit(repo.path, ['diff', '--name-status', tip, 'main'])).toBe(
      'M\tweb/compose.yaml\nD\tweb/extra.conf',
    );
    expect(await runGit(repo.path, ['show', 'main:db/compose.yaml'])).toBe(compose('db:2').trimEnd());
    expect(await runGit(repo.path, ['log', '-1', '--format=%s', 'main'])).toBe(
      `Revert stack web to ${first.slice(0, 12)}`,
    );
  });
});

describe('deploy notes', () => {
  it('appends deploys to a note that native git reads', async () => {
    const repo = await createLocalRepo({ 'a.txt': '1\n' });
    const gitdir = path.join(repo.path, '.git');
    const commit = await runGit(repo.path, ['rev-parse', 'HEAD']);
    await appendDeployNote(gitdir, commit, deploy('m1', 1, '2026-01-01T00:00:01Z'), author);
    await appendDeployNote(gitdir, commit, deploy('m1', 2, '2026-01-01T00:00:02Z'), author);
    const shown = await runGit(repo.path, ['notes', '--ref=mooring', 'show', commit]);
    expect(parseNote(shown).map((d) => d.runId)).toEqual([1, 2]);
    expect(await runGit(repo.path, ['log', '--format=%s', NOTES_REF])).toMatch(
      /^Deploy of web on m1: succeeded \(run 2\)/,
    );
  });

  it('merges diverged notes from another machine without losing either side', async () => {
    const repo = await createLocalRepo({ 'a.txt': '1\n' });
    const gitdir = path.join(repo.path, '.git');
    const c1 = await runGit(repo.path, ['rev-parse', 'HEAD']);
    const c2 = await repo.commit({ 'a.txt': '2\n' }, 'two');
    await appendDeployNote(gitdir, c1, deploy('base', 1, '2026-01-01T00:00:00Z'), author);
    const base = await runGit(repo.path, ['rev-parse', NOTES_REF]);
    // "Remote": another machine adds to c1 and c2 with native git, on a branch of the notes history.
    await runGit(repo.path, ['update-ref', 'refs/notes/theirs', base]);
    const existing = await runGit(repo.path, ['notes', '--ref=theirs', 'show', c1]);
    await runGit(repo.path, [
      'notes',
      '--ref=theirs',
      'add',
      '-f',
      '-m',
      `${existing}\n${noteLine(deploy('other', 5, '2026-01-01T00:00:05Z'))}`,
      c1,
    ]);
    await runGit(repo.path, [
      'notes',
      '--ref=theirs',
      'add',
      '-m',
      noteLine(deploy('other', 6, '2026-01-01T00:00:06Z')),
      c2,
    ]);
    const theirs = await runGit(repo.path, ['rev-parse', 'refs/notes/theirs']);
    // Local: this machine deploys c1 again meanwhile.
    await appendDeployNote(gitdir, c1, deploy('me', 2, '2026-01-01T00:00:02Z'), author);
    const merged = await mergeRemoteNotes(gitdir, theirs, author);
    expect(merged.merge).toBe('merged');
    const notes = await listNotes(gitdir);
    expect([...notes.keys()].sort()).toEqual([c1, c2].sort());
    const onC1 = parseNote(await runGit(repo.path, ['notes', '--ref=mooring', 'show', c1]));
    expect(onC1.map((d) => `${d.host}:${d.runId}`)).toEqual(['base:1', 'me:2', 'other:5']);
    expect(await runGit(repo.path, ['rev-list', '--parents', '-1', NOTES_REF])).toContain(theirs);
    // Taking the same remote again changes nothing; a remote that is behind is kept out.
    expect((await mergeRemoteNotes(gitdir, theirs, author)).merge).toBe('local-ahead');
    expect((await mergeRemoteNotes(gitdir, base, author)).merge).toBe('local-ahead');
  });

  it('reads the fan-out layout native git uses for large notes trees', async () => {
    const repo = await createLocalRepo({ 'a.txt': '1\n' });
    const gitdir = path.join(repo.path, '.git');
    const commit = await runGit(repo.path, ['rev-parse', 'HEAD']);
    const blob = await writeBlob(gitdir, `${noteLine(deploy('m', 1, '2026-01-01T00:00:00Z'))}\n`);
    const inner = await git.writeTree({
      fs,
      gitdir,
      tree: [{ mode: '100644', path: commit.slice(2), oid: blob, type: 'blob' }],
    });
    const root = await git.writeTree({
      fs,
      gitdir,
      tree: [{ mode: '040000', path: commit.slice(0, 2), oid: inner, type: 'tree' }],
    });
    const notesCommit = await writeCommit(gitdir, { tree: root, parents: [], message: 'fanout', author });
    expect(await runGit(repo.path, ['notes', '--ref=fan', 'list']).catch(() => '')).toBe('');
    await runGit(repo.path, ['update-ref', 'refs/notes/fan', notesCommit]);
    expect(await runGit(repo.path, ['notes', '--ref=fan', 'show', commit])).toContain('"host":"m"');
    expect((await listNotes(gitdir, notesCommit)).get(commit)).toBe(blob);
  });
});
