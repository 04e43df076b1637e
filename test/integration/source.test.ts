// GitSource against a real smart-HTTP git server (git http-backend) and a real local repo.
import fs from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import * as git from 'isomorphic-git';
import isoHttp from 'isomorphic-git/http/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MooringError, UnreachableError } from '../../electron/engine/errors.ts';
import { HistoryStore } from '../../electron/engine/history/store.ts';
import { GitSource } from '../../electron/engine/source/index.ts';
import type { SourceConfig } from '../../electron/shared/model.ts';
import { createLocalRepo, createRepo, runGit } from '../helpers/git-repo.ts';
import type { TestRepo } from '../helpers/git-repo.ts';
import { startGitServer } from '../helpers/git-server.ts';
import type { GitServer } from '../helpers/git-server.ts';

const compose = (image: string): string => `services:\n  app:\n    image: ${image}\n`;

const FILES: Record<string, string> = {
  'mooring.yaml': 'stacks:\n  web: { sync: auto }\n',
  'stacks/web/compose.yaml': compose('web:1'),
  'stacks/web/.env': 'PORT=8080\n',
  'stacks/web/conf/nginx.conf': 'server {}\n',
  'stacks/web/conf/sub/a.txt': 'a\n',
  // compose.yml wins over docker-compose.yml
  'stacks/db/compose.yml': compose('db:1'),
  'stacks/db/docker-compose.yml': compose('db:old'),
  // the last name of the four still counts
  'stacks/cache/docker-compose.yaml': compose('cache:1'),
  // nested stack; a compose file inside a stack folder is part of that stack, not a stack of its own
  'stacks/team/api/compose.yaml': compose('api:1'),
  'stacks/team/api/inner/compose.yaml': compose('inner:1'),
  // dot-folders are skipped
  'stacks/.hidden/compose.yaml': compose('hidden:1'),
  // a folder without a compose file is no stack
  'stacks/notes/README.md': '# notes\n',
  // outside the source's sub-path
  'other/compose.yaml': compose('other:1'),
};

function httpConfig(url: string, extra: Partial<SourceConfig> = {}): SourceConfig {
  return { name: 'cfg', url, kind: 'http', branch: null, path: 'stacks', tokenEnv: null, ...extra };
}

/** The error a promise rejects with; every failure of GitSource is a MooringError. */
async function rejection(promise: Promise<unknown>): Promise<MooringError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof MooringError) return err;
    throw new Error(`rejected with something other than a MooringError: ${String(err)}`, { cause: err });
  }
  throw new Error('expected a rejection');
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

const temps: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('GitSource over HTTP', () => {
  let server: GitServer;
  let repo: TestRepo;
  let home: string;
  let source: GitSource;
  let initial: string;
  let c1: string;
  let c2: string;
  let c3: string;

  beforeAll(async () => {
    server = await startGitServer();
    repo = await createRepo(server, 'cfg', FILES);
    temps.push(repo.work);
    initial = await runGit(repo.work, ['rev-parse', 'HEAD']);
    home = await tempDir('mooring-home-');
    source = new GitSource({ home, config: httpConfig(repo.url) });
  });

  afterAll(async () => {
    await server.close();
  });

  it('has no revision before the first fetch', async () => {
    const err = await rejection(source.resolve());
    expect(err.code).toBe('not-found');
    expect(err.message).toContain('Source "cfg"');
  });

  it('clones into a bare mirror and follows the remote default branch', async () => {
    const result = await source.fetch();
    expect(result).toEqual({ head: initial, branch: 'main' });
    expect(source.gitdir).toBe(path.join(home, 'mirrors', 'cfg.git'));
    const top = await readdir(source.gitdir);
    expect(top).toContain('objects');
    expect(top).not.toContain('.git'); // bare: no work tree
    expect(top).not.toContain('stacks');
    expect(await source.branch()).toBe('main');
  });

  it('lists stacks under the sub-path: nested, by compose file precedence, skipping dot-folders', async () => {
    expect(await source.listStacks(initial)).toEqual([
      { name: 'cache', dir: 'stacks/cache', composeFile: 'stacks/cache/docker-compose.yaml' },
      { name: 'db', dir: 'stacks/db', composeFile: 'stacks/db/compose.yml' },
      { name: 'api', dir: 'stacks/team/api', composeFile: 'stacks/team/api/compose.yaml' },
      { name: 'web', dir: 'stacks/web', composeFile: 'stacks/web/compose.yaml' },
    ]);
  });

  it('lists stacks from the repo root, and refuses a sub-path that does not exist', async () => {
    const root = new GitSource({ home, config: httpConfig(repo.url, { path: '' }) });
    expect((await root.listStacks(initial)).map((s) => s.dir)).toEqual([
      'other',
      'stacks/cache',
      'stacks/db',
      'stacks/team/api',
      'stacks/web',
    ]);
    const slashes = new GitSource({ home, config: httpConfig(repo.url, { path: '/stacks/team/' }) });
    expect((await slashes.listStacks(initial)).map((s) => s.dir)).toEqual(['stacks/team/api']);
    const missing = new GitSource({ home, config: httpConfig(repo.url, { path: 'nope' }) });
    const err = await rejection(missing.listStacks(initial));
    expect(err.code).toBe('not-found');
    expect(err.message).toContain('"nope"');
  });

  it('reads files and stats folders at a revision', async () => {
    const reader = source.reader(initial);
    expect(await reader.readFile('stacks/web/compose.yaml')).toBe(compose('web:1'));
    expect(await reader.readFile('./stacks/web/.env')).toBe('PORT=8080\n');
    expect(await reader.readFile('stacks/web/conf/../compose.yaml')).toBe(compose('web:1'));
    expect(await reader.readFile('stacks/web/conf')).toBeNull(); // a folder is no file
    expect(await reader.readFile('stacks/web/missing.txt')).toBeNull();
    expect(await reader.readFile('../outside')).toBeNull();

    const folder = await reader.stat('stacks/web/conf');
    expect(folder?.type).toBe('tree');
    const file = await reader.stat('stacks/web/conf/nginx.conf');
    expect(file?.type).toBe('blob');
    expect(await reader.stat('stacks/web/conf/nginx.conf/x')).toBeNull();
    expect((await reader.stat(''))?.type).toBe('tree');

    const listing = await source.listTree(folder!.oid);
    expect(listing.map((f) => [f.path, f.mode])).toEqual([
      ['nginx.conf', '100644'],
      ['sub/a.txt', '100644'],
    ]);
    expect(new TextDecoder().decode(await source.readBlob(file!.oid))).toBe('server {}\n');
    expect(listing[0]!.oid).toBe(file!.oid);
  });

  it('fetches new commits and logs them newest first with the stacks they changed', async () => {
    c1 = await repo.commit({ 'stacks/web/compose.yaml': compose('web:2') }, 'web: bump to 2');
    c2 = await repo.commit(
      {
        'stacks/new/compose.yaml': compose('new:1'),
        'stacks/db/compose.yml': null, // docker-compose.yml takes over: db changed, still a stack
        'other/compose.yaml': compose('other:2'), // outside the sub-path: no stack of ours
      },
      'add new, db falls back',
    );
    c3 = await repo.commit(
      { 'mooring.yaml': 'stacks: {}\n', 'stacks/cache/docker-compose.yaml': null },
      'drop cache',
    );

    const started = performance.now();
    const result = await source.fetch();
    const fetchMs = performance.now() - started;
    expect(result).toEqual({ head: c3, branch: 'main' });
    expect(fetchMs).toBeLessThan(5_000);

    const fresh = await source.log({ known: new Set([initial]) });
    expect(fresh.map((c) => [c.id, c.stacks])).toEqual([
      [c3, ['cache']], // a removed stack counts as changed
      [c2, ['db', 'new']],
      [c1, ['web']],
    ]);
    const [latest] = fresh;
    expect(latest).toMatchObject({
      source: 'cfg',
      parents: [c2],
      author: 'Mooring Test',
      email: 'test@mooring.invalid',
      message: 'drop cache',
    });
    expect(new Date(latest!.time).toISOString()).toBe(latest!.time);

    const all = await source.log();
    expect(all.map((c) => c.id)).toEqual([c3, c2, c1, initial]);
    expect(all[3]!.stacks).toEqual(['api', 'cache', 'db', 'web']); // root commit: every stack present
    expect(all[3]!.parents).toEqual([]);

    expect((await source.log({ limit: 2 })).map((c) => c.id)).toEqual([c3, c2]);
    expect(await source.log({ known: new Set([c3]) })).toEqual([]);

    expect((await source.listStacks(c3)).map((s) => [s.name, s.composeFile])).toEqual([
      ['db', 'stacks/db/docker-compose.yml'],
      ['new', 'stacks/new/compose.yaml'],
      ['api', 'stacks/team/api/compose.yaml'],
      ['web', 'stacks/web/compose.yaml'],
    ]);
  });

  it('finds the last commit that changed each stack at a revision, from the cached commits', async () => {
    const store = new HistoryStore(path.join(home, 'changes.sqlite'));
    try {
      const commits = store.commits;
      // Before the fetch is cached: nothing known, and nothing kept that would hide a later answer.
      expect(commits.lastChanges('cfg', c3)).toEqual(new Map());
      commits.add(await source.log());
      expect(Object.fromEntries(commits.lastChanges('cfg', c3))).toEqual({
        api: initial, // only the first commit touched it
        web: c1,
        db: c2,
        new: c2,
        cache: c3, // its deletion
      });
      // At an older revision, only what came before it.
      expect(Object.fromEntries(commits.lastChanges('cfg', c1))).toEqual({
        api: initial,
        cache: initial,
        db: initial,
        web: c1,
      });
      expect(commits.lastChanges('other', c3)).toEqual(new Map());
    } finally {
      store.close();
    }
    // History cut short (a fetch reads at most its limit): a stack not changed in it is not named.
    const cut = new HistoryStore(path.join(home, 'changes-cut.sqlite'));
    try {
      cut.commits.add(await source.log({ limit: 2 }));
      expect(Object.fromEntries(cut.commits.lastChanges('cfg', c3))).toEqual({ cache: c3, db: c2, new: c2 });
    } finally {
      cut.close();
    }
  });

  it('resolves short ids, branches, tags and full refs', async () => {
    await runGit(repo.work, ['tag', '-a', 'v1', '-m', 'release 1', initial]);
    await runGit(repo.work, ['tag', 'light', c1]);
    await runGit(repo.work, ['push', '-q', 'origin', '--tags']);
    await runGit(repo.work, ['push', '-q', 'origin', `${c2}:refs/heads/feature`]);
    await source.fetch();

    expect(await source.resolve()).toBe(c3);
    expect(await source.resolve(null)).toBe(c3);
    expect(await source.resolve(c1)).toBe(c1);
    expect(await source.resolve(c1.slice(0, 7))).toBe(c1);
    expect(await source.resolve(c1.slice(0, 7).toUpperCase())).toBe(c1);
    expect(await source.resolve('main')).toBe(c3);
    expect(await source.resolve('feature')).toBe(c2);
    expect(await source.resolve('HEAD')).toBe(c3);
    expect(await source.resolve('v1')).toBe(initial); // annotated tag: peeled to its commit
    expect(await source.resolve('light')).toBe(c1);
    expect(await source.resolve('refs/tags/v1')).toBe(initial);

    for (const bad of ['nope', '0000000', '../../config', 'main~1', '-x']) {
      const err = await rejection(source.resolve(bad));
      expect(err.code).toBe('not-found');
      expect(err.message).toContain(`"${bad}"`);
    }
  });

  it('reads old revisions', async () => {
    expect(await source.reader(initial).readFile('stacks/web/compose.yaml')).toBe(compose('web:1'));
    expect(await source.reader(c1).readFile('stacks/web/compose.yaml')).toBe(compose('web:2'));
    expect(await source.reader(c3).readFile('stacks/cache/docker-compose.yaml')).toBeNull();
    const err = await rejection(source.reader('0'.repeat(40)).readFile('mooring.yaml'));
    expect(err.code).toBe('not-found');
  });

  it('works offline while the server is down, and fetches again once it is back', async () => {
    await server.stop();
    try {
      const err = await rejection(source.fetch());
      expect(err).toBeInstanceOf(UnreachableError);
      expect(err.message).toContain('Source "cfg"');
      expect(err.message).toContain(repo.url);
      expect(err.message).toContain('connection refused');
      expect(err.message).toContain('last fetched revision');

      // The same instance and a new one (as after an app restart) still resolve and read.
      expect(await source.resolve()).toBe(c3);
      const offline = new GitSource({ home, config: httpConfig(repo.url) });
      expect(await offline.branch()).toBe('main');
      expect(await offline.resolve()).toBe(c3);
      expect(await offline.resolve('v1')).toBe(initial);
      expect(await offline.reader(c1).readFile('stacks/web/compose.yaml')).toBe(compose('web:2'));
      expect((await offline.log()).length).toBe(4);
    } finally {
      await server.start();
    }
    const c4 = await repo.commit({ 'stacks/web/.env': 'PORT=9090\n' }, 'web: port');
    expect(await source.fetch()).toEqual({ head: c4, branch: 'main' });
    expect((await source.log({ known: new Set([c3]) })).map((c) => [c.id, c.stacks])).toEqual([
      [c4, ['web']],
    ]);
  });

  it('a fetch asked for while one runs waits for it and fetches again: it sees what was pushed meanwhile', async () => {
    const other = new GitSource({ home, config: httpConfig(repo.url) });
    const first = source.fetch();
    // Pushed after the first fetch began: that one may or may not see it; a fetch asked for now must.
    const pushed = await repo.commit({ 'stacks/web/.env': 'PORT=9191\n' }, 'web: port while fetching');
    const later = [source.fetch(), other.fetch()];
    const [, ...heads] = await Promise.all([first, ...later]);
    expect(heads.map((h) => h.head)).toEqual([pushed, pushed]);
    expect(await source.resolve()).toBe(pushed);
    // Callers that come while one runs share the next fetch: a mirror is written by one fetch at a time.
    const running = source.fetch();
    const calls = [source.fetch(), other.fetch()];
    expect(calls[1]).toBe(calls[0]);
    expect(calls[0]).not.toBe(running);
    await Promise.all([running, ...calls]);
  });

  it('follows a configured branch and reports one that does not exist', async () => {
    const feature = new GitSource({
      home: await tempDir('mooring-home-'),
      config: httpConfig(repo.url, { branch: 'feature' }),
    });
    expect(await feature.fetch()).toEqual({ head: c2, branch: 'feature' });
    expect(await feature.resolve()).toBe(c2);

    const nope = new GitSource({
      home: await tempDir('mooring-home-'),
      config: httpConfig(repo.url, { branch: 'nope' }),
    });
    const err = await rejection(nope.fetch());
    expect(err.code).toBe('not-found');
    expect(err.message).toContain('Branch "nope"');
  });

  it('asks the remote whether the followed branch moved, without fetching (issue 14)', async () => {
    const fresh = await tempDir('mooring-home-');
    const main = new GitSource({ home: fresh, config: httpConfig(repo.url) });
    expect(await main.remoteMoved()).toBe(true); // never fetched
    const { head } = await main.fetch();
    expect(await main.remoteMoved()).toBe(false);
    const next = await repo.commit({ 'stacks/web/.env': 'PORT=8081\n' }, 'web: port');
    expect(await main.remoteMoved()).toBe(true);
    expect(await main.resolve()).toBe(head); // asking fetched nothing
    expect((await main.fetch()).head).toBe(next);
    expect(await main.remoteMoved()).toBe(false);

    // A configured branch is asked for by name: a commit on main does not move it.
    const feature = new GitSource({
      home: fresh,
      config: httpConfig(repo.url, { branch: 'feature', name: 'f' }),
    });
    await feature.fetch();
    expect(await feature.remoteMoved()).toBe(false);
    await repo.commit({ 'stacks/web/.env': 'PORT=8082\n' }, 'web: port again');
    expect(await feature.remoteMoved()).toBe(false);
    expect(await main.remoteMoved()).toBe(true);

    const missing = new GitSource({
      home: fresh,
      config: httpConfig(`${server.url}/missing.git`, { name: 'm' }),
    });
    const err = await rejection(missing.remoteMoved());
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toContain('HTTP 404');
    // A local source is watched on disk instead.
    const onDisk = new GitSource({
      home: fresh,
      config: { ...httpConfig(repo.work), kind: 'local', name: 'l' },
    });
    expect(await onDisk.remoteMoved()).toBe(false);
  });

  it('says when the repository does not exist on the server', async () => {
    const missing = new GitSource({
      home: await tempDir('mooring-home-'),
      config: httpConfig(`${server.url}/missing.git`),
    });
    const err = await rejection(missing.fetch());
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain('nothing was fetched yet');
  });

  it('keeps the last good refs when a transfer breaks half way', async () => {
    // A proxy that passes everything through but cuts the pack download off after a few bytes.
    const proxy = http.createServer((req, res) => {
      const upstream = http.request(
        `${server.url}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          if (req.method === 'POST') {
            up.once('data', (chunk: Buffer) => {
              res.write(chunk.subarray(0, 64));
              res.socket?.destroy();
            });
          } else {
            up.pipe(res);
          }
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (proxy.address() as AddressInfo).port;
      const viaProxy = new GitSource({ home, config: httpConfig(`http://127.0.0.1:${port}/cfg.git`) });
      const before = await viaProxy.resolve();
      const next = await repo.commit({ 'stacks/api-extra/compose.yaml': compose('x:1') }, 'extra stack');
      const err = await rejection(viaProxy.fetch());
      expect(err.code, err.message).toBe('unreachable');
      expect(await viaProxy.resolve()).toBe(before);
      expect(await viaProxy.reader(before).readFile('stacks/web/compose.yaml')).toBe(compose('web:2'));
      // The direct URL still works, and brings the commit the broken transfer lost.
      expect((await source.fetch()).head).toBe(next);
    } finally {
      proxy.closeAllConnections();
      await closeServer(proxy);
    }
  });

  it('gives up on a server that accepts the connection but never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const stuck = new GitSource({
        home: await tempDir('mooring-home-'),
        config: httpConfig(`http://127.0.0.1:${port}/cfg.git`),
        timeoutMs: 300,
      });
      const started = performance.now();
      const err = await rejection(stuck.fetch());
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(err).toBeInstanceOf(UnreachableError);
      expect(err.message).toContain('did not answer in time');
    } finally {
      for (const socket of sockets) socket.destroy();
      await closeServer(silent);
    }
  }, 10_000);

  it('refuses a source name that would leave the mirrors folder', () => {
    expect(() => new GitSource({ home, config: httpConfig(repo.url, { name: '../evil' }) })).toThrow(
      MooringError,
    );
  });
});

describe('GitSource mirrors what git itself would (issue 14: isomorphic-git reads packs through Node zlib)', () => {
  // scripts/patch-deps.mjs makes isomorphic-git inflate each object of a fetched pack with Node's zlib
  // and write the index's fanout table in one pass. A pack with deltas, an object far larger than
  // zlib's default 16 KiB output chunk and an empty blob must still give the same objects, checked by
  // git itself.
  it('a mirror of deltas, a large and an empty object passes git fsck and holds every object', async () => {
    expect(fs.readFileSync(path.resolve('node_modules/isomorphic-git/index.cjs'), 'utf8')).toContain(
      'inflateObjectWithZlib',
    );
    const server = await startGitServer();
    try {
      const line = (i: number): string => `line ${i}: ${'x'.repeat(i % 50)}\n`;
      const big = (rev: number): string =>
        Array.from({ length: 4000 }, (_, i) => (i % 400 === rev ? `changed in ${rev}\n` : line(i))).join('');
      const repo = await createRepo(server, 'packed', {
        'web/compose.yaml': compose('web:1'),
        'web/big.txt': big(0),
        'web/empty.txt': '',
      });
      temps.push(repo.work);
      for (let rev = 1; rev <= 12; rev++) {
        await repo.commit(
          { 'web/big.txt': big(rev), 'web/compose.yaml': compose(`web:${rev}`) },
          `rev ${rev}`,
        );
      }
      await runGit(repo.bare, ['gc', '-q', '--aggressive']);
      const home = await tempDir('mooring-home-');
      const source = new GitSource({ home, config: httpConfig(repo.url, { path: '' }) });
      const { head } = await source.fetch();
      expect(head).toBe(await runGit(repo.work, ['rev-parse', 'HEAD']));
      await runGit(source.gitdir, ['fsck', '--strict', '--no-dangling']);
      const objects = async (gitdir: string): Promise<string[]> =>
        (await runGit(gitdir, ['rev-list', '--objects', '--all']))
          .split('\n')
          .map((l) => l.split(' ')[0]!)
          .sort();
      const mine = await objects(source.gitdir);
      expect(mine).toEqual(await objects(repo.bare));
      expect(mine.length).toBeGreaterThan(13 * 4);
      expect(await source.reader(head).readFile('web/big.txt')).toBe(big(12));
      expect(await source.reader(head).readFile('web/empty.txt')).toBe('');
    } finally {
      await server.close();
    }
  });
});

describe('GitSource with a token', () => {
  const TOKEN = 's3cr3t-t0ken-value';
  let server: GitServer;
  let repo: TestRepo;

  beforeAll(async () => {
    server = await startGitServer({ token: TOKEN });
    repo = await createRepo(server, 'private', { 'web/compose.yaml': compose('web:1') });
    temps.push(repo.work);
  });

  afterAll(async () => {
    await server.close();
  });

  const config = (tokenEnv: string | null): SourceConfig => ({
    name: 'private',
    url: repo.url,
    kind: 'http',
    branch: null,
    path: '',
    tokenEnv,
  });

  it('fetches with the token from the named environment variable, and never stores it', async () => {
    const home = await tempDir('mooring-home-');
    const source = new GitSource({
      home,
      config: config('MOORING_TEST_TOKEN'),
      env: { MOORING_TEST_TOKEN: TOKEN },
    });
    const { head } = await source.fetch();
    expect((await source.listStacks(head)).map((s) => s.name)).toEqual(['web']);
    for (const file of await filesUnder(home)) {
      expect((await readFile(file)).includes(TOKEN), file).toBe(false);
    }
  });

  it('names the variable when it is not set', async () => {
    const source = new GitSource({
      home: await tempDir('mooring-home-'),
      config: config('MOORING_TEST_TOKEN'),
      env: {},
    });
    const err = await rejection(source.fetch());
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toContain('MOORING_TEST_TOKEN');
    expect(err.message).toContain('not set');
  });

  it('says to check the variable when the token is refused, without showing the token', async () => {
    const wrong = 'wrong-t0ken-value';
    const source = new GitSource({
      home: await tempDir('mooring-home-'),
      config: config('MOORING_TEST_TOKEN'),
      env: { MOORING_TEST_TOKEN: wrong },
    });
    const err = await rejection(source.fetch());
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toContain('HTTP 401');
    expect(err.message).toContain('MOORING_TEST_TOKEN');
    expect(inspect(err, { depth: 10 })).not.toContain(wrong);
  });

  it('says that credentials are needed when the source has no token variable', async () => {
    const source = new GitSource({ home: await tempDir('mooring-home-'), config: config(null), env: {} });
    const err = await rejection(source.fetch());
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toContain('HTTP 401');
    expect(err.message).toContain('tokenEnv');
    expect(inspect(err, { depth: 10 })).not.toContain(TOKEN);
  });
});

describe('GitSource for a local path', () => {
  it('reads committed content in place and ignores the work tree', async () => {
    const local = await createLocalRepo({
      'web/compose.yaml': compose('web:1'),
      'db/compose.yaml': compose('db:1'),
    });
    temps.push(local.path);
    const source = new GitSource({
      home: await tempDir('mooring-home-'),
      config: { name: 'here', url: local.path, kind: 'local', branch: null, path: '', tokenEnv: null },
    });
    expect(source.gitdir).toBe(path.join(local.path, '.git'));
    const first = await source.fetch();
    expect(first.branch).toBe('main');
    expect(await source.resolve()).toBe(first.head);

    // Uncommitted edits and new folders in the work tree are not desired state.
    await writeFile(path.join(local.path, 'web/compose.yaml'), compose('web:dirty'));
    await rm(path.join(local.path, 'db'), { recursive: true });
    const reader = source.reader(first.head);
    expect(await reader.readFile('web/compose.yaml')).toBe(compose('web:1'));
    expect((await source.listStacks(first.head)).map((s) => s.name)).toEqual(['db', 'web']);

    const next = await local.commit({ 'web/compose.yaml': compose('web:2') }, 'web: 2');
    expect(await source.fetch()).toEqual({ head: next, branch: 'main' });
    expect(await source.reader(next).readFile('web/compose.yaml')).toBe(compose('web:2'));
    // The commit also removed db: it was deleted in the work tree and `git add -A` staged that.
    expect((await source.log()).map((c) => [c.message, c.stacks])).toEqual([
      ['web: 2', ['db', 'web']],
      ['initial commit', ['db', 'web']],
    ]);
  });

  it('reads a bare local repo and reports a path with no repository as unreachable', async () => {
    const local = await createLocalRepo({ 'web/compose.yaml': compose('web:1') });
    temps.push(local.path);
    const bare = await tempDir('mooring-bare-');
    await runGit(bare, ['clone', '-q', '--bare', local.path, bare + '/repo.git']);
    const source = new GitSource({
      home: bare,
      config: { name: 'b', url: `${bare}/repo.git`, kind: 'local', branch: 'main', path: '', tokenEnv: null },
    });
    expect(source.gitdir).toBe(`${bare}/repo.git`);
    const { head } = await source.fetch();
    expect(await source.reader(head).readFile('web/compose.yaml')).toBe(compose('web:1'));

    const gone = new GitSource({
      home: bare,
      config: {
        name: 'g',
        url: path.join(bare, 'nothing-here'),
        kind: 'local',
        branch: null,
        path: '',
        tokenEnv: null,
      },
    });
    const err = await rejection(gone.fetch());
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toContain('nothing-here');
  });
});

describe('test git server', () => {
  it('keeps what native git and isomorphic-git push over HTTP', async () => {
    const server = await startGitServer();
    try {
      const repo = await createRepo(server, 'team/pushed', { 'a.txt': 'a\n' });
      temps.push(repo.work);
      const scratch = await tempDir('mooring-push-');

      // native git: smart HTTP protocol v2, gzip'd request bodies
      await runGit(scratch, ['clone', '-q', repo.url, 'native']);
      const native = path.join(scratch, 'native');
      await writeFile(path.join(native, 'b.txt'), 'b\n');
      await runGit(native, ['add', '-A']);
      await runGit(native, ['commit', '-q', '-m', 'native push']);
      await runGit(native, ['push', '-q', 'origin', 'main']);
      expect(await runGit(repo.bare, ['log', '-1', '--format=%s', 'main'])).toBe('native push');

      // isomorphic-git, as the engine's write-back will
      const dir = path.join(scratch, 'iso');
      await git.clone({ fs, http: isoHttp, dir, url: repo.url, singleBranch: true });
      await writeFile(path.join(dir, 'c.txt'), 'c\n');
      await git.add({ fs, dir, filepath: 'c.txt' });
      const author = { name: 'Mooring Test', email: 'test@mooring.invalid' };
      const oid = await git.commit({ fs, dir, message: 'isomorphic push', author });
      const result = await git.push({ fs, http: isoHttp, dir, remote: 'origin', ref: 'main' });
      expect(result.ok).toBe(true);
      expect(await runGit(repo.bare, ['rev-parse', 'main'])).toBe(oid);
    } finally {
      await server.close();
    }
  });
});
