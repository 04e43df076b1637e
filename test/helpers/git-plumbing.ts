// Git trees written by hand, as an attacker who can push to the config repo would write them: native
// git plumbing (`git hash-object -w`, `git mktree`, `git commit-tree`, `git update-ref`) accepts a
// symbolic link and a folder of one name, a name twice, an empty name; `hash-object --literally`
// accepts a tree whose entry modes lie about their objects. None of it goes through a work tree.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runGit } from './git-repo.ts';

const ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Mallory',
  GIT_AUTHOR_EMAIL: 'mallory@mooring.invalid',
  GIT_COMMITTER_NAME: 'Mallory',
  GIT_COMMITTER_EMAIL: 'mallory@mooring.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Native git with bytes on stdin; trimmed stdout. */
function gitWithInput(cwd: string, args: string[], input: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { cwd, env: ENV, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout.trim());
      },
    );
    child.stdin!.end(input);
  });
}

/** A file (text), an executable, a symbolic link, a submodule, an object under any mode, or a folder. */
export type HandNode =
  | string
  | { exec: string }
  | { symlink: string }
  | { submodule: string }
  | { mode: string; oid: string }
  | HandTree;
/** A folder's entries in order; a name may appear more than once, which is the point. */
export type HandTree = [string, HandNode][];

export interface Plumbing {
  blob(content: string | Uint8Array): Promise<string>;
  /** `git mktree` (with --missing, so a submodule needs no commit here). */
  tree(entries: HandTree): Promise<string>;
  /**
   * A tree object written byte by byte with `git hash-object -t tree --literally`: any mode on any
   * object (a folder mode on a file), names `git mktree` refuses ("a/b").
   */
  literalTree(entries: { mode: string; name: string; oid: string }[]): Promise<string>;
  /** `levels` folders named `name`, one inside the other, around the tree `inner`. */
  nested(levels: number, inner: string, name?: string): Promise<string>;
  /** `git commit-tree`, then `git update-ref refs/heads/<branch>` to it; returns the commit. */
  commitOnto(tree: string, message: string, branch?: string): Promise<string>;
}

export function plumbing(repo: string): Plumbing {
  const blob = async (content: string | Uint8Array): Promise<string> =>
    gitWithInput(repo, ['hash-object', '-w', '--stdin'], Buffer.from(content));

  const entryOf = async (name: string, node: HandNode): Promise<string> => {
    if (Array.isArray(node)) return `040000 tree ${await tree(node)}\t${name}`;
    if (typeof node === 'string') return `100644 blob ${await blob(node)}\t${name}`;
    if ('exec' in node) return `100755 blob ${await blob(node.exec)}\t${name}`;
    if ('symlink' in node) return `120000 blob ${await blob(node.symlink)}\t${name}`;
    if ('submodule' in node) return `160000 commit ${node.submodule}\t${name}`;
    const type = node.mode === '40000' || node.mode === '040000' ? 'tree' : 'blob';
    return `${node.mode} ${type} ${node.oid}\t${name}`;
  };

  const tree = async (entries: HandTree): Promise<string> => {
    const lines: string[] = [];
    for (const [name, node] of entries) lines.push(await entryOf(name, node));
    // A mode given by hand may lie about its object, which `git mktree` checks: written literally then.
    if (entries.some(([, node]) => !Array.isArray(node) && typeof node === 'object' && 'mode' in node)) {
      const raw = lines.map((line) => {
        const [meta, name] = line.split('\t') as [string, string];
        const [mode, , oid] = meta.split(' ') as [string, string, string];
        return { mode: mode.replace(/^0/, ''), name, oid };
      });
      // In git's order (a folder sorts as if its name ended in "/"), so git's own lookups find them.
      const key = (e: { mode: string; name: string }): string => (e.mode === '40000' ? `${e.name}/` : e.name);
      return literalTree(raw.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)));
    }
    return gitWithInput(repo, ['mktree', '--missing'], lines.map((l) => `${l}\n`).join(''));
  };

  /**
   * `levels` folders, each holding only the next, around a last one: hashed here (a tree object is
   * "tree <size>\0" and its entries, SHA-1'd) and written by one `git hash-object --literally` call,
   * since one git process per level is slow.
   */
  const nested = async (levels: number, inner: string, name = 'd'): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-trees-'));
    try {
      const files: string[] = [];
      let oid = inner;
      for (let i = 0; i < levels; i++) {
        const body = Buffer.concat([Buffer.from(`40000 ${name}\0`), Buffer.from(oid, 'hex')]);
        const file = path.join(dir, String(i));
        await writeFile(file, body);
        files.push(file);
        oid = createHash('sha1')
          .update(Buffer.concat([Buffer.from(`tree ${body.length}\0`), body]))
          .digest('hex');
      }
      // In batches: git 2.39's hash-object keeps a file open per path and runs out near 20,000.
      let written = '';
      for (let i = 0; i < files.length; i += 500) {
        written = await gitWithInput(
          repo,
          ['hash-object', '-w', '-t', 'tree', '--literally', '--stdin-paths'],
          files
            .slice(i, i + 500)
            .map((f) => `${f}\n`)
            .join(''),
        );
      }
      if (written.split('\n').at(-1) !== oid) throw new Error('nested trees: git hashed them differently');
      return oid;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const literalTree = async (entries: { mode: string; name: string; oid: string }[]): Promise<string> => {
    const bytes = Buffer.concat(
      entries.map((e) =>
        Buffer.concat([Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.oid, 'hex')]),
      ),
    );
    return gitWithInput(repo, ['hash-object', '-w', '-t', 'tree', '--literally', '--stdin'], bytes);
  };

  const commitOnto = async (treeOid: string, message: string, branch = 'main'): Promise<string> => {
    const parent = await runGit(repo, ['rev-parse', '--verify', '-q', `refs/heads/${branch}`]).catch(
      () => '',
    );
    const args = ['commit-tree', treeOid, '-m', message, ...(parent ? ['-p', parent] : [])];
    const commit = await gitWithInput(repo, args, '');
    await runGit(repo, ['update-ref', `refs/heads/${branch}`, commit]);
    return commit;
  };

  return { blob, tree, literalTree, nested, commitOnto };
}
