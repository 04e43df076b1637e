// Issue 10, hole 1 and its sweep: the config repo is untrusted, and git trees written by hand (with
// native plumbing, never through a work tree) must not make Mooring write, mount or read anything
// outside its own folders. Each test plants a victim folder on the host that a link in the repo points
// at, syncs through the CLI against the real engine, and checks the victim is untouched and nothing of
// the stack was created.
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { plumbing, type HandTree, type Plumbing } from '../helpers/git-plumbing.ts';
import { createLocalRepo, runGit, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED hostile tree tests: no Docker engine answers.');

const S = Date.now().toString(36).slice(-5);
const STACKS = [`hxlink${S}`, `hxparent${S}`];

const compose = (...volumes: string[]): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    volumes:
${volumes.map((v) => `      - ${v}`).join('\n')}
`;

interface SyncJson {
  results: { stack: string; result: string; error: string | null; runId: number | null }[];
}

/** Every file below a folder with its content (links as "-> target"), to compare before and after. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(dir, rel))).sort()) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const info = await lstat(path.join(dir, p));
      if (info.isSymbolicLink()) {
        out[p] = `-> ${await readlink(path.join(dir, p))}`;
      } else if (info.isDirectory()) {
        out[`${p}/`] = '';
        await walk(p);
      } else {
        out[p] = await readFile(path.join(dir, p), 'utf8');
      }
    }
  };
  await walk('');
  return out;
}

async function containersOf(stack: string): Promise<string[]> {
  const ids = await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${stack}`);
  return ids.split('\n').filter(Boolean);
}

async function networksOf(stack: string): Promise<string[]> {
  const ids = await docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${stack}`);
  return ids.split('\n').filter(Boolean);
}

/** What is left in home/mounts (copies, or temporary folders of copies that failed). */
async function mountsLeft(home: string): Promise<string[]> {
  return readdir(path.join(home, 'mounts')).catch(() => []);
}

describe.skipIf(!haveDocker)('hand-written trees against the real engine', () => {
  let home: string;
  let victim: string;
  let repo: LocalRepo;
  let git: Plumbing;
  let before: Record<string, string>;
  const temps: string[] = [];

  beforeEach(async () => {
    await removeStacks(...STACKS);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-home-'));
    victim = await mkdtemp(path.join(os.tmpdir(), 'mooring-victim-'));
    await writeFile(path.join(victim, 'victim.txt'), 'original\n');
    await mkdir(path.join(victim, 'secret'));
    await writeFile(path.join(victim, 'secret', 'secret.txt'), 'host secret\n');
    before = await snapshot(victim);
    repo = await createLocalRepo({ 'README.md': 'config\n' });
    git = plumbing(repo.path);
    temps.push(home, victim, repo.path);
  });
  afterEach(async () => {
    await removeStacks(...STACKS);
  });
  afterAll(async () => {
    await removeStacks(...STACKS);
    for (const t of temps) await rm(t, { recursive: true, force: true });
  });

  it('a link and a folder of one name in a mounted folder: refused, naming the entry; nothing written or created', async () => {
    const stack = `hxlink${S}`;
    // conf/x -> <victim>, and conf/x/ a folder whose files would be written through that link.
    const conf: HandTree = [
      ['x', { symlink: victim }],
      [
        'x',
        [
          ['victim.txt', 'pwned\n'],
          ['planted.txt', 'planted\n'],
        ],
      ],
    ];
    const root = await git.tree([
      ['README.md', 'config\n'],
      [
        stack,
        [
          ['compose.yaml', compose('./conf:/etc/conf:ro')],
          ['conf', conf],
        ],
      ],
    ]);
    await git.commitOnto(root, 'a tree written by hand');
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);

    const sync = await mooringJson<SyncJson>(home, ['sync', stack]);
    expect(sync.code).not.toBe(0);
    const result = sync.results.find((r) => r.stack === stack)!;
    expect(['invalid', 'failed']).toContain(result.result);
    expect(result.error).toContain(`${stack}/conf/x`);
    expect(result.error).toContain('a symbolic link and a folder share this name');

    expect(await snapshot(victim)).toEqual(before);
    expect(await containersOf(stack)).toEqual([]);
    expect(await networksOf(stack)).toEqual([]);
    expect(await mountsLeft(home)).toEqual([]);
    // The failed run is in history, with the same message.
    const history = await mooringJson<{ runs: { stack: string; result: string; error: string | null }[] }>(
      home,
      ['history', '--stack', stack],
    );
    const run = history.runs.find((r) => r.stack === stack);
    expect(run?.result).toBe('failed');
    expect(run?.error).toContain(`${stack}/conf/x`);
  });

  it('a folder of the repo that an earlier copy made a link: refused in preflight, the running container kept', async () => {
    const stack = `hxparent${S}`;
    // Commit A: conf/l is a link to the victim folder; its copy in home/mounts/<conf oid>/… keeps it.
    const confA: HandTree = [
      ['keep.txt', 'keep\n'],
      ['l', { symlink: victim }],
    ];
    const confOid = await git.tree(confA);
    const commitA = async (): Promise<void> => {
      const root = await git.tree([
        [
          stack,
          [
            ['compose.yaml', compose('./conf:/etc/conf:ro')],
            ['conf', { mode: '040000', oid: confOid }],
          ],
        ],
      ]);
      await git.commitOnto(root, 'A: conf with a link');
    };
    await commitA();
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const first = await mooringJson<SyncJson>(home, ['sync', stack]);
    expect(first.code, JSON.stringify(first.results)).toBe(0);
    const running = (await inspect(`${stack}-app-1`)).Id;

    // Commit B: conf/l is now a folder holding the same tree as A's conf (so the same oid), mounted at
    // conf/l/<name>: its copy would go to home/mounts/<conf oid>/<stack>/conf/l/<name>, where l is A's
    // link. "secret" exists in the victim folder (today's code mounts the host's folder into the
    // container); "fresh" does not (today's code writes it there).
    for (const name of ['secret', 'fresh']) {
      const root = await git.tree([
        [
          stack,
          [
            ['compose.yaml', compose(`./conf/l/${name}:/etc/${name}:ro`)],
            ['conf', [['l', [[name, { mode: '040000', oid: confOid }]]]]],
          ],
        ],
      ]);
      await git.commitOnto(root, `B: conf/l/${name} is a folder now`);
      const sync = await mooringJson<SyncJson>(home, ['sync', stack]);
      expect(sync.code).not.toBe(0);
      const result = sync.results.find((r) => r.stack === stack)!;
      expect(result.result).toBe('failed');
      expect(result.error).toContain(`conf/l/${name}`);
      expect(result.error).toContain('symbolic link left by an earlier copy');
      expect(result.error).toContain('Refused before any change to the engine');

      expect(await snapshot(victim)).toEqual(before);
      const app = await inspect(`${stack}-app-1`);
      expect([app.Id, app.State.Running]).toEqual([running, true]);
      expect((await mountsLeft(home)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    }
  });
});

describe('reading a hand-written tree: links, odd names, lying modes', () => {
  let home: string;
  let victim: string;
  let repo: LocalRepo;
  let git: Plumbing;
  let engine: Engine;
  const temps: string[] = [];

  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-home-'));
    victim = await mkdtemp(path.join(os.tmpdir(), 'mooring-victim-'));
    await writeFile(path.join(victim, 'host.env'), 'GREETING=from-the-host\n');
    await writeFile(path.join(victim, 'mooring.yaml'), 'stacks:\n  fine: { sync: auto }\n');
    repo = await createLocalRepo({ 'README.md': 'config\n' });
    git = plumbing(repo.path);
    temps.push(home, victim, repo.path);
    // No engine is asked: reading stacks is git alone.
    engine = await Engine.open({ home, dockerHost: `unix://${home}/no-docker.sock` });
    return () => {
      engine.close();
    };
  });
  afterAll(async () => {
    for (const t of temps) await rm(t, { recursive: true, force: true });
  });

  const app = (extra: string): string => `services:
  app:
    image: local/busybox:1
    environment:
      GREETING: \${GREETING:-unset}
${extra}`;

  it('follows links inside the repo, never out of it; a link is never a stack or a compose file', async () => {
    const submodule = await runGit(repo.path, ['rev-parse', 'HEAD']);
    const confTree: HandTree = [['app.conf', 'x=1\n']];
    const root = await git.tree([
      // A policy file that is a link inside the repo is read; the victim's would sync everything.
      ['mooring.yaml', { symlink: 'policies/mooring.yaml' }],
      ['policies', [['mooring.yaml', 'stacks:\n  envin: { sync: auto }\n']]],
      ['shared', [['common.env', 'GREETING=shared\n']]],
      // .env a link to a host file: read as missing, never read from the host.
      [
        'envout',
        [
          ['compose.yaml', app('')],
          ['.env', { symlink: path.join(victim, 'host.env') }],
        ],
      ],
      // .env a link to a file of the repo: read, as a checkout would.
      [
        'envin',
        [
          ['compose.yaml', app('')],
          ['.env', { symlink: '../shared/common.env' }],
        ],
      ],
      // env_file through a link out of the repo, or with ../ out of it: refused.
      [
        'envfile',
        [
          ['compose.yaml', app('    env_file: [./host.env]\n')],
          ['host.env', { symlink: '../../../../../../../../' + path.join(victim, 'host.env') }],
        ],
      ],
      ['envdots', [['compose.yaml', app('    env_file: [../../../etc/passwd]\n')]]],
      ['envabs', [['compose.yaml', app('    env_file: [/etc/passwd]\n')]]],
      // Mounts: a link to the host's /etc; a link inside the repo; a file through a linked folder; a
      // submodule; an entry that claims to be a folder but is a file.
      [
        'mhost',
        [
          ['compose.yaml', app('    volumes: ["./etc:/x"]\n')],
          ['etc', { symlink: '/etc' }],
        ],
      ],
      [
        'min',
        [
          ['compose.yaml', app('    volumes: ["./conf:/a", "./linked/app.conf:/b"]\n')],
          ['real', confTree],
          ['conf', { symlink: 'real' }],
          ['linked', { symlink: './real' }],
        ],
      ],
      [
        'msub',
        [
          ['compose.yaml', app('    volumes: ["./sub:/x"]\n')],
          ['sub', { submodule }],
        ],
      ],
      [
        'mlies',
        [
          ['compose.yaml', app('    volumes: ["./lies:/x"]\n')],
          ['lies', { mode: '040000', oid: await git.blob('I am a file\n') }],
        ],
      ],
      // Not stacks: a stack folder that is a link, a compose file that is a link.
      ['linkedstack', { symlink: 'envin' }],
      ['linkedcompose', [['compose.yaml', { symlink: '../envin/compose.yaml' }]]],
    ]);
    await git.commitOnto(root, 'links everywhere');
    await engine.addSource({ name: 'cfg', url: repo.path });
    const stacks = await engine.loadStacks();
    const byName = new Map(stacks.map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual(
      ['envabs', 'envdots', 'envfile', 'envin', 'envout', 'mhost', 'min', 'mlies', 'msub'].sort(),
    );
    const errors = (name: string): string =>
      byName
        .get(name)!
        .errors.map((e) => e.message)
        .join('\n');
    const env = (name: string): Record<string, string> | undefined =>
      byName.get(name)!.desired?.services[0]?.environment;

    expect(env('envout')).toEqual({ GREETING: 'unset' });
    expect(env('envin')).toEqual({ GREETING: 'shared' });
    expect(byName.get('envin')!.policy.sync).toBe('auto');
    expect(errors('envfile')).toContain('host.env');
    expect(errors('envdots')).toContain('inside the config repo');
    expect(errors('envabs')).toContain('inside the config repo');
    expect(errors('mhost')).toContain('is a symbolic link to "/etc", which leads outside the config repo');

    const confOid = await runGit(repo.path, ['rev-parse', `HEAD:min/real`]);
    const fileOid = await runGit(repo.path, ['rev-parse', `HEAD:min/real/app.conf`]);
    expect(errors('min')).toBe('');
    expect(byName.get('min')!.desired!.services[0]!.mounts).toMatchObject([
      { type: 'repo', repoPath: 'min/conf', oid: confOid, objectType: 'tree' },
      { type: 'repo', repoPath: 'min/linked/app.conf', oid: fileOid, objectType: 'blob' },
    ]);
    expect(errors('msub')).toContain('msub/sub is a git submodule, whose files are in another repo');
    expect(errors('mlies')).toContain('is listed as a folder but is not one');
    // Nothing on the host was read: the victim's values appear nowhere.
    expect(JSON.stringify(stacks)).not.toContain('from-the-host');
  });

  it('stack discovery: an empty folder name, a folder twice, a policy link out of the repo, lying modes', async () => {
    const folder = await git.tree([['x', 'y\n']]);
    const stackTree = (): HandTree => [['compose.yaml', app('')]];
    const root = await git.tree([
      // The victim's policy would make "fine" sync by itself.
      ['mooring.yaml', { symlink: path.join(victim, 'mooring.yaml') }],
      ['', stackTree()],
      ['dup', stackTree()],
      ['dup', stackTree()],
      ['fine', stackTree()],
      // A link whose object is a folder: no target, so nothing to follow.
      [
        'lyinglink',
        [
          ['compose.yaml', app('    volumes: ["./weird/x:/x"]\n')],
          ['weird', { mode: '120000', oid: folder }],
        ],
      ],
    ]);
    await git.commitOnto(root, 'odd stacks');
    await engine.addSource({ name: 'cfg', url: repo.path });
    const stacks = await engine.loadStacks();
    expect(stacks.map((s) => s.name).sort()).toEqual(['dup', 'dup', 'fine', 'lyinglink']);
    const byName = new Map(stacks.map((s) => [s.name, s]));
    expect(byName.get('fine')!.policy.sync).toBe('manual');
    expect(byName.get('fine')!.errors).toEqual([]);
    expect(stacks.filter((s) => s.name === 'dup').every((s) => s.errors.length > 0)).toBe(true);
    expect(
      byName
        .get('lyinglink')!
        .errors.map((e) => e.message)
        .join('\n'),
    ).toContain('lyinglink/weird is a symbolic link to an unreadable target');

    // A file entry whose object is a folder: the read fails loudly, naming the file (the whole source
    // then reads as unreadable, which never prunes anything).
    const lying = await git.tree([
      [
        'lyingenv',
        [
          ['compose.yaml', app('')],
          ['.env', { mode: '100644', oid: folder }],
        ],
      ],
    ]);
    await git.commitOnto(lying, 'a file that is a folder');
    await engine.fetch('cfg');
    await expect(engine.loadStacks()).rejects.toThrow(
      /lyingenv\/\.env: Object [0-9a-f]+ .* is listed as a file but is not one/,
    );
  });

  it('odd names, duplicates and case collisions in a mounted folder are invalid when the stack is loaded', async () => {
    const oid = await git.blob('x\n');
    const mounted = (name: string, conf: string): HandTree => [
      [
        name,
        [
          ['compose.yaml', app('    volumes: ["./conf:/x"]\n')],
          ['conf', { mode: '040000', oid: conf }],
        ],
      ],
    ];
    const literal = (names: string[]): Promise<string> =>
      git.literalTree(names.map((n) => ({ mode: '100644', name: n, oid })));
    const deep = async (levels: number): Promise<string> =>
      git.nested(levels, await git.tree([['leaf', 'x\n']]));
    const root = await git.tree([
      ...mounted('twice', await literal(['a', 'a'])),
      ...mounted('empty', await literal(['', 'b'])),
      ...mounted('cases', await literal(['README', 'readme'])),
      ...mounted('unicode', await literal(['caf\u00e9', 'cafe\u0301'])),
      ...mounted('deep', await deep(300)),
      ...mounted('fine', await literal(['a', 'b'])),
    ]);
    await git.commitOnto(root, 'odd names');
    await engine.addSource({ name: 'cfg', url: repo.path });
    const byName = new Map((await engine.loadStacks()).map((s) => [s.name, s]));
    const errors = (name: string): string =>
      byName
        .get(name)!
        .errors.map((e) => e.message)
        .join('\n');
    expect(errors('twice')).toContain('twice/conf/a: the name appears twice in its folder');
    expect(errors('empty')).toContain('an entry has an empty name');
    expect(errors('cases')).toContain('are one name on a case-insensitive file system');
    expect(errors('unicode')).toContain('are one name on a case-insensitive file system');
    expect(errors('deep')).toContain('deep/conf: folders nest 301 levels deep in it, more than 256');
    expect(errors('fine')).toBe('');
  });
});
