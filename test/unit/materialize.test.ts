// Writing repo files out for bind mounts (issue 10, hole 1), without an engine: what a tree written by
// hand may hold (a link and a folder of one name, a name twice, names a file system folds together,
// "..") is refused naming the entry, before a byte is written, and nothing is left in home/mounts or
// written outside it. The readers here hand over exactly the listing a hostile reader could, so the
// checks of materialize itself are what is tested, not only the git reader's.
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { DesiredMount, DesiredService } from '../../electron/shared/model.ts';
import { packContext } from '../../electron/engine/pipeline/build.ts';
import { tarEntry } from '../../electron/engine/pipeline/tar.ts';
import { materializeMounts, type ObjectReader } from '../../electron/engine/reconcile/materialize.ts';
import {
  GitSource,
  entryNameProblem,
  foldName,
  siblingProblem,
} from '../../electron/engine/source/git-source.ts';
import { plumbing } from '../helpers/git-plumbing.ts';
import { createLocalRepo } from '../helpers/git-repo.ts';

const TREE = 'a'.repeat(40);
const BLOB = 'b'.repeat(40);
const temps: string[] = [];

async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

/** An object store that lists whatever it is given, as a hostile or buggy reader could. */
function fakeReader(
  files: { path: string; mode: string; content: string }[],
  blobs: Record<string, string> = {},
): ObjectReader {
  const byOid = new Map<string, string>(Object.entries(blobs));
  const listing = files.map((f, i) => {
    const oid = i.toString(16).padStart(40, 'c');
    byOid.set(oid, f.content);
    return { path: f.path, oid, mode: f.mode };
  });
  return {
    listTree: (oid) => Promise.resolve(oid === TREE ? listing : []),
    readBlob: (oid) => {
      const text = byOid.get(oid);
      return text === undefined ? Promise.reject(new Error(`no ${oid}`)) : Promise.resolve(Buffer.from(text));
    },
  };
}

const repoMount = (
  repoPath: string,
  objectType: 'blob' | 'tree',
  oid = objectType === 'tree' ? TREE : BLOB,
) => ({ type: 'repo', repoPath, oid, objectType, target: '/x', readOnly: true }) as DesiredMount;
// Only the name and the mounts are read: the rest of a service does not matter here.
const service = (...mounts: DesiredMount[]): DesiredService =>
  ({ name: 'app', mounts }) as Partial<DesiredService> as DesiredService;

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(path.join(dir, rel)).catch(() => [])) {
      const p = rel === '' ? name : `${rel}/${name}`;
      out.push(p);
      const info = await lstat(path.join(dir, p));
      if (info.isDirectory()) await walk(p);
    }
  };
  await walk('');
  return out.sort();
}

describe('materializeMounts refuses what would write outside its copy', () => {
  let home: string;
  let victim: string;

  beforeEach(async () => {
    home = await temp('mooring-home-');
    victim = await temp('mooring-victim-');
    await writeFile(path.join(victim, 'victim.txt'), 'original\n');
  });

  const refused = async (reader: ObjectReader, ...mounts: DesiredMount[]): Promise<string> => {
    const err = await materializeMounts(home, [service(...mounts)], reader).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err, 'materialize should have refused').not.toBeNull();
    // Whatever was refused left nothing behind, and the victim is as it was.
    expect(await listAll(path.join(home, 'mounts'))).toEqual([]);
    expect(await readFile(path.join(victim, 'victim.txt'), 'utf8')).toBe('original\n');
    expect(await readdir(victim)).toEqual(['victim.txt']);
    return err!.message;
  };

  it('a link and a folder of one name: refused naming the entry, the victim untouched', async () => {
    const reader = fakeReader([
      { path: 'x', mode: '120000', content: victim },
      { path: 'x/victim.txt', mode: '100644', content: 'pwned\n' },
      { path: 'x/planted.txt', mode: '100644', content: 'planted\n' },
    ]);
    const message = await refused(reader, repoMount('web/conf', 'tree'));
    expect(message).toContain('Service "app" bind-mounts web/conf');
    expect(message).toContain('web/conf/x: a symbolic link and a folder share this name');
    expect(message).toContain('Refused before any change to the engine');
  });

  it('the link after its folder in the listing, a name twice, a file and a folder of one name', async () => {
    expect(
      await refused(
        fakeReader([
          { path: 'x/victim.txt', mode: '100644', content: 'pwned\n' },
          { path: 'x', mode: '120000', content: victim },
        ]),
        repoMount('conf', 'tree'),
      ),
    ).toContain('conf/x: a symbolic link and a folder share this name');
    expect(
      await refused(
        fakeReader([
          { path: 'a', mode: '100644', content: '1' },
          { path: 'a', mode: '100644', content: '2' },
        ]),
        repoMount('conf', 'tree'),
      ),
    ).toContain('conf/a: the name appears twice');
    expect(
      await refused(
        fakeReader([
          { path: 'a', mode: '100644', content: '1' },
          { path: 'a/b', mode: '100644', content: '2' },
        ]),
        repoMount('conf', 'tree'),
      ),
    ).toContain('conf/a: a file and a folder share this name');
  });

  it('names: "..", empty, "." segments; case and Unicode collisions; a mode git does not write', async () => {
    const one = (p: string, mode = '100644') => fakeReader([{ path: p, mode, content: 'x' }]);
    expect(await refused(one('../../escape.txt'), repoMount('conf', 'tree'))).toContain(
      'conf/..: an entry is named ".."',
    );
    expect(await refused(one('a//b'), repoMount('conf', 'tree'))).toContain('an entry has an empty name');
    expect(await refused(one('./a'), repoMount('conf', 'tree'))).toContain('an entry is named "."');
    expect(await readdir(path.dirname(home))).not.toContain('escape.txt');
    const two = (a: string, b: string) =>
      fakeReader([
        { path: a, mode: '100644', content: '1' },
        { path: b, mode: '100644', content: '2' },
      ]);
    expect(await refused(two('README', 'readme'), repoMount('conf', 'tree'))).toContain(
      '"readme" and "README" are one name on a case-insensitive file system',
    );
    expect(await refused(two('d/caf\u00e9', 'd/cafe\u0301'), repoMount('conf', 'tree'))).toContain(
      'are one name on a case-insensitive file system',
    );
    expect(await refused(one('a', '100664'), repoMount('conf', 'tree'))).toContain('file mode 100664');
    // A repo path that is no path at all (a reader could hand any DesiredMount over).
    expect(await refused(one('a'), repoMount('conf/../../..', 'tree'))).toContain('conf/..');
    expect(await refused(one('a'), repoMount('conf', 'tree', '../../x'.padEnd(40, 'a')))).toContain(
      'is not a git object id',
    );
  });

  it('a copy in the way that is a link (left by an earlier copy) is never followed', async () => {
    // home/mounts/<oid>/conf -> victim: as if an earlier copy had made a link at that path.
    await mkdir(path.join(home, 'mounts', TREE), { recursive: true });
    await symlink(victim, path.join(home, 'mounts', TREE, 'conf'));
    const reader = fakeReader([{ path: 'victim.txt', mode: '100644', content: 'pwned\n' }]);
    const err = await materializeMounts(home, [service(repoMount('conf', 'tree'))], reader).catch(
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('is a symbolic link, not a folder');
    expect(await readFile(path.join(victim, 'victim.txt'), 'utf8')).toBe('original\n');
    // A parent that is a link: mounts/<oid>/conf is the link, the copy goes to conf/inner.
    const err2 = await materializeMounts(home, [service(repoMount('conf/inner', 'tree'))], reader).catch(
      (e: unknown) => e as Error,
    );
    expect(err2?.message).toContain('is a symbolic link left by an earlier copy');
    expect(await readdir(victim)).toEqual(['victim.txt']);
  });

  it('limits: bytes and files of one mount', async () => {
    const big = fakeReader([
      { path: 'a', mode: '100644', content: 'x'.repeat(600) },
      { path: 'b', mode: '100644', content: 'x'.repeat(600) },
    ]);
    const err = await materializeMounts(home, [service(repoMount('conf', 'tree'))], big, {
      maxBytes: 1000,
      maxFiles: 10,
    }).catch((e: unknown) => e as Error);
    expect(err?.message).toContain('conf/b: the copy would be larger than 1000 bytes');
    expect(await listAll(path.join(home, 'mounts'))).toEqual([]);
    const many = await materializeMounts(home, [service(repoMount('conf', 'tree'))], big, {
      maxBytes: 10_000,
      maxFiles: 1,
    }).catch((e: unknown) => e as Error);
    expect(many?.message).toContain('holds 2 files, more than 1');
  });

  it('writes an ordinary tree: folders, modes, links as links (last), and reuses a finished copy', async () => {
    const reader = fakeReader([
      { path: 'app.conf', mode: '100644', content: 'a=1\n' },
      { path: 'bin/run.sh', mode: '100755', content: '#!/bin/sh\n' },
      { path: 'current', mode: '120000', content: 'bin/run.sh' },
      { path: 'abs', mode: '120000', content: '/etc/passwd' },
      { path: 'd/e/f.txt', mode: '100644', content: 'deep\n' },
    ]);
    await materializeMounts(home, [service(repoMount('web/conf', 'tree'))], reader);
    const copy = path.join(home, 'mounts', TREE, 'web', 'conf');
    expect(await listAll(copy)).toEqual([
      'abs',
      'app.conf',
      'bin',
      'bin/run.sh',
      'current',
      'd',
      'd/e',
      'd/e/f.txt',
    ]);
    expect((await lstat(path.join(copy, 'bin/run.sh'))).mode & 0o777).toBe(0o755);
    expect((await lstat(path.join(copy, 'app.conf'))).mode & 0o777).toBe(0o644);
    expect((await lstat(copy)).mode & 0o777).toBe(0o755);
    // Inside the container a link resolves in the container's own file system, as with a checkout.
    expect(await readlink(path.join(copy, 'abs'))).toBe('/etc/passwd');
    expect(await readFile(path.join(copy, 'current'), 'utf8')).toBe('#!/bin/sh\n');
    expect((await readdir(path.join(home, 'mounts'))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    // Already there: not written again (a reader that fails would show it).
    await materializeMounts(home, [service(repoMount('web/conf', 'tree'))], fakeReader([]));
  });

  it('writes a single file, and a mount of the repo root', async () => {
    const reader = fakeReader([{ path: 'compose.yaml', mode: '100644', content: 'x' }], { [BLOB]: 'k=v\n' });
    await materializeMounts(
      home,
      [service(repoMount('web/app.conf', 'blob'), repoMount('', 'tree'))],
      reader,
    );
    expect(await readFile(path.join(home, 'mounts', BLOB, 'web', 'app.conf'), 'utf8')).toBe('k=v\n');
    expect(await readFile(path.join(home, 'mounts', TREE, 'compose.yaml'), 'utf8')).toBe('x');
  });
});

describe('name rules', () => {
  it('Windows-only rules apply on Windows alone', () => {
    for (const name of ['a:b', 'x.', 'x ', 'CON', 'nul.txt', 'COM1.log', 'a\\b', 'a<b', 'tab\there']) {
      expect(entryNameProblem(name, 'win32'), name).not.toBeNull();
      expect(entryNameProblem(name, 'linux'), name).toBeNull();
    }
    for (const name of ['', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256)]) {
      expect(entryNameProblem(name, 'linux'), name).not.toBeNull();
    }
    expect(entryNameProblem('console.txt', 'win32')).toBeNull();
  });

  it('folds case, Unicode normalization and characters HFS+ ignores', () => {
    expect(foldName('README')).toBe(foldName('readme'));
    expect(foldName('caf\u00e9')).toBe(foldName('cafe\u0301'));
    expect(foldName('a\u200cb')).toBe(foldName('ab'));
    expect(foldName('a')).not.toBe(foldName('b'));
    expect(siblingProblem(['a', 'B', 'b'])?.why).toContain('"b" and "B" are one name');
    expect(siblingProblem(['a', 'a'])?.why).toContain('appears twice');
    expect(siblingProblem(['a', 'b'])).toBeNull();
  });

  it('the tar writer refuses paths that leave the archive and link targets with a NUL', () => {
    const entry = (p: string, linkTarget?: string) => () =>
      tarEntry({ path: p, mode: 0o644, mtime: 0, ...(linkTarget === undefined ? {} : { linkTarget }) });
    for (const p of ['../x', '/etc/passwd', 'a//b', 'a/./b', 'a/../../b', ''])
      expect(entry(p)).toThrow(/tar:/);
    expect(entry('link', 'a\0b')).toThrow(/NUL/);
    expect(entry('ok/file')).not.toThrow();
  });
});

describe('trees written by hand, read through GitSource', () => {
  it('materialize, a build context and the load-time check all refuse a link and a folder of one name', async () => {
    const repo = await createLocalRepo({ 'README.md': 'x\n' });
    temps.push(repo.path);
    const home = await temp('mooring-home-');
    const victim = await temp('mooring-victim-');
    await writeFile(path.join(victim, 'victim.txt'), 'original\n');
    const git = plumbing(repo.path);
    const conf = await git.tree([
      ['x', { symlink: victim }],
      ['x', [['victim.txt', 'pwned\n']]],
    ]);
    const root = await git.tree([
      ['conf', { mode: '040000', oid: conf }],
      ['Dockerfile', 'FROM local/busybox:1\n'],
    ]);
    const commit = await git.commitOnto(root, 'by hand');
    const source = new GitSource({
      home,
      config: { name: 'cfg', url: repo.path, kind: 'local', branch: 'main', path: '', tokenEnv: null },
    });

    const err = await materializeMounts(home, [service(repoMount('conf', 'tree', conf))], source).catch(
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('conf/x: a symbolic link and a folder share this name');
    expect(await readFile(path.join(victim, 'victim.txt'), 'utf8')).toBe('original\n');
    expect(await listAll(path.join(home, 'mounts'))).toEqual([]);

    const packed = await packContext(source, commit, '', 'Dockerfile').catch((e: unknown) => e as Error);
    expect(packed).toBeInstanceOf(Error);
    expect((packed as Error).message).toContain('conf/x: a symbolic link and a folder share this name');

    expect(await source.reader(commit).mountProblem('conf')).toContain(
      'conf/x: a symbolic link and a folder share this name',
    );
    // Reading through the ambiguous name is refused too (one of the two would be picked at random).
    expect(await source.reader(commit).stat('conf/x/victim.txt')).toBeNull();
  });

  it('a folder of more than 100,000 files is refused when loaded; a link loop reads as missing', async () => {
    const repo = await createLocalRepo({ 'README.md': 'x\n' });
    temps.push(repo.path);
    const git = plumbing(repo.path);
    const blob = await git.blob('x');
    const many = await git.literalTree(
      Array.from({ length: 100_001 }, (_, i) => ({
        mode: '100644',
        name: `f${String(i).padStart(6, '0')}`,
        oid: blob,
      })),
    );
    const root = await git.tree([
      ['many', { mode: '040000', oid: many }],
      ['loop1', { symlink: 'loop2' }],
      ['loop2', { symlink: 'loop1' }],
    ]);
    const commit = await git.commitOnto(root, 'big');
    const source = new GitSource({
      home: await temp('mooring-home-'),
      config: { name: 'cfg', url: repo.path, kind: 'local', branch: 'main', path: '', tokenEnv: null },
    });
    const reader = source.reader(commit);
    expect(await reader.mountProblem('many')).toBe('many: it holds 100001 files, more than 100000');
    expect(await reader.readFile('loop1')).toBeNull();
    expect(await reader.mountProblem('loop1')).toContain('symbolic links on the way (a loop?)');
  }, 30_000);
});
