// `build:` in compose files (issue 11, item 2): every form the Compose Build Specification has, read
// from an in-memory repo; what is refused (and where, and what to do), what is kept and said, the
// deterministic tag, and the plan's build actions. The real builds are in
// test/integration/compose-build.test.ts.
import { createHash } from 'node:crypto';
import { rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type {
  DesiredService,
  DesiredStack,
  ManifestError,
  SafetySettings,
  StackStatus,
} from '../../electron/shared/model.ts';
import { loadStack, specHash } from '../../electron/engine/manifest/index.ts';
import type { RepoReader } from '../../electron/engine/manifest/index.ts';
import { buildTag } from '../../electron/engine/manifest/build.ts';
import { imageRefProblem } from '../../electron/engine/manifest/image-ref.ts';
import { misbuiltTags, planStack } from '../../electron/engine/reconcile/plan.ts';
import { packContext } from '../../electron/engine/pipeline/build.ts';
import { GitSource } from '../../electron/engine/source/git-source.ts';
import { createLocalRepo } from '../helpers/git-repo.ts';

/** An in-memory config repo at one revision; oids are content hashes, as in git. */
function repo(files: Record<string, string>): RepoReader {
  const oid = (text: string): string => createHash('sha1').update(text).digest('hex');
  return {
    readFile: (path) => Promise.resolve(files[path] ?? null),
    stat: (path) => {
      if (path in files) return Promise.resolve({ type: 'blob', oid: oid(files[path]!) });
      const prefix = path === '' ? '' : `${path}/`;
      const inside = Object.keys(files)
        .filter((f) => f.startsWith(prefix))
        .sort();
      if (inside.length === 0) return Promise.resolve(null);
      return Promise.resolve({ type: 'tree', oid: oid(inside.map((f) => `${f}\0${files[f]}`).join('\n')) });
    },
  };
}

const APP = { 'web/app/Dockerfile': 'FROM local/busybox:1\nCOPY . /app\n', 'web/app/main.sh': 'echo hi\n' };

async function result(compose: string, extra: Record<string, string> = APP, safety = DEFAULT_SAFETY) {
  return loadStack({
    reader: repo({ 'web/compose.yaml': compose, ...extra }),
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety,
    homeDir: '/home/me',
  });
}

async function load(
  compose: string,
  extra: Record<string, string> = APP,
  safety: SafetySettings = DEFAULT_SAFETY,
): Promise<DesiredStack> {
  const r = await result(compose, extra, safety);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.stack;
}

async function errors(
  compose: string,
  extra: Record<string, string> = APP,
  safety: SafetySettings = DEFAULT_SAFETY,
): Promise<ManifestError[]> {
  const r = await result(compose, extra, safety);
  if (r.ok) throw new Error('expected the stack to be refused');
  return r.errors;
}

const svc = (stack: DesiredStack, name = 'app'): DesiredService =>
  stack.services.find((s) => s.name === name)!;
const TAG = /^mooring-build\/web:[0-9a-f]{12}$/;

describe('build: the forms compose accepts', () => {
  it('short form: the context alone, with its Dockerfile; the service runs the deterministic tag', async () => {
    const s = svc(await load('services:\n  app:\n    build: ./app\n'));
    expect(s.image).toMatch(TAG);
    expect(s.build).toMatchObject({
      context: 'web/app',
      dockerfile: { path: 'web/app/Dockerfile' },
      args: {},
      // Compose's own name for the result: <project>-<service>.
      tags: ['web-app'],
    });
    expect(s.build!.contextOid).toMatch(/^[0-9a-f]{40}$/);
    expect(s.build!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(s.image).toBe(`mooring-build/web:${s.build!.hash.slice(0, 12)}`);
  });

  it('long form without context: the stack folder; image: names the result, then tags:', async () => {
    const s = svc(
      await load(
        'services:\n  app:\n    image: example/webapp:2\n    build:\n      dockerfile: app/Dockerfile\n      tags: ["example/webapp:latest", "registry.local:5000/team/webapp:2"]\n',
      ),
    );
    expect(s.build).toMatchObject({
      context: 'web',
      dockerfile: { path: 'web/app/Dockerfile' },
      tags: ['example/webapp:2', 'example/webapp:latest', 'registry.local:5000/team/webapp:2'],
    });
    expect(s.image).toMatch(TAG);
  });

  it('a Dockerfile outside the context (relative to it, inside the repo) and dockerfile_inline', async () => {
    const files = { ...APP, 'web/backend.Dockerfile': 'FROM local/busybox:1\n' };
    const outside = svc(
      await load(
        'services:\n  app:\n    build:\n      context: app\n      dockerfile: ../backend.Dockerfile\n',
        files,
      ),
    );
    expect(outside.build!.dockerfile).toMatchObject({ path: 'web/backend.Dockerfile' });
    const inline = svc(
      await load(
        'services:\n  app:\n    build:\n      context: app\n      dockerfile_inline: |\n        FROM local/busybox:1\n        RUN true\n',
      ),
    );
    expect(inline.build!.dockerfile).toEqual({ inline: 'FROM local/busybox:1\nRUN true\n' });
  });

  it('args as a map or a list; a bare name takes .env, never the shell; labels, target and the step options', async () => {
    process.env.FROM_SHELL = 'leaked';
    const s = svc(
      await load(
        `services:
  app:
    build:
      context: app
      args:
        - VERSION=1.2
        - FROM_ENV_FILE
        - FROM_SHELL
        - EMPTY=
      target: prod
      labels:
        com.example.team: web
        com.example.empty:
      network: none
      shm_size: 64m
      extra_hosts: ["db=10.0.0.2", "cache:10.0.0.3"]
      ulimits:
        nproc: 512
        nofile: { soft: 1024, hard: 2048 }
      platforms: [linux/amd64]
      cache_from: [example/webapp:cache, "type=local,src=/tmp/cache"]
      no_cache: true
      pull: true
      isolation: default
`,
        { ...APP, 'web/.env': 'FROM_ENV_FILE=from-git\n' },
      ),
    );
    delete process.env.FROM_SHELL;
    expect(s.build).toMatchObject({
      args: { VERSION: '1.2', FROM_ENV_FILE: 'from-git', EMPTY: '' },
      target: 'prod',
      labels: { 'com.example.team': 'web', 'com.example.empty': '' },
      network: 'none',
      shmSize: 64 * 1024 * 1024,
      extraHosts: ['cache:10.0.0.3', 'db:10.0.0.2'],
      ulimits: [
        { name: 'nofile', soft: 1024, hard: 2048 },
        { name: 'nproc', soft: 512, hard: 512 },
      ],
      platform: 'linux/amd64',
      cacheFrom: ['example/webapp:cache'],
      noCache: true,
      pull: true,
    });
    expect(s.build!.args).not.toHaveProperty('FROM_SHELL');
    // `isolation: default` is the engine's default: nothing to send.
    expect(s.build).not.toHaveProperty('isolation');
    // Args map form, with a value-less key.
    const m = svc(
      await load(
        'services:\n  app:\n    build:\n      context: app\n      args:\n        A: 1\n        B:\n',
      ),
    );
    expect(m.build!.args).toEqual({ A: '1' });
  });

  it('keeps and reports what the classic builder cannot do, at its place', async () => {
    const stack = await load(`services:
  app:
    build:
      context: app
      ssh: [default]
      secrets: [token]
      cache_to: [type=inline]
      additional_contexts:
        assets: ../assets
      cache_from: ["type=gha"]
`);
    const warnings = stack.warnings ?? [];
    const at = (text: string) => warnings.find((w) => w.message.includes(text));
    expect(at('services.app.build.ssh')).toMatchObject({ line: 5, column: 12 });
    expect(at('services.app.build.ssh')!.message).toContain("never lends this machine's SSH agent");
    expect(at('services.app.build.secrets')).toMatchObject({ line: 6 });
    expect(at('services.app.build.cache_to')!.message).toContain('BuildKit');
    expect(at('services.app.build.additional_contexts')).toMatchObject({ line: 9 });
    expect(at('services.app.build.cache_from')!.message).toContain('type=');
    // Nothing of them reaches the build.
    expect(svc(stack).build).not.toHaveProperty('cacheFrom');
  });

  it('a service without build: has no build field (specs written before it hash the same)', async () => {
    const s = svc(await load('services:\n  app:\n    image: nginx:1.27\n'));
    expect('build' in s).toBe(false);
    expect(s.image).toBe('nginx:1.27');
  });
});

describe('build: refusals, each at its place with what to do', () => {
  const one = async (compose: string, extra: Record<string, string> = APP, safety = DEFAULT_SAFETY) => {
    const list = await errors(compose, extra, safety);
    expect(list).toHaveLength(1);
    return list[0]!;
  };

  it('a context outside the repo, a host path or a URL', async () => {
    const up = await one('services:\n  app:\n    build: ../../etc\n');
    expect(up).toMatchObject({ file: 'web/compose.yaml', line: 3, column: 12 });
    expect(up.message).toContain('outside the config repo');
    expect(up.message).toContain('mooring build');
    const abs = await one('services:\n  app:\n    build:\n      context: /srv/app\n');
    expect(abs).toMatchObject({ line: 4, column: 16 });
    expect(abs.message).toContain('Commit the folder into the config repo');
    expect((await one('services:\n  app:\n    build: ~/src/app\n')).message).toContain('outside');
    for (const url of [
      'https://github.com/example/app.git#main:web',
      'git@github.com:example/app.git',
      'github.com/example/app',
    ]) {
      const e = await one(`services:\n  app:\n    build: "${url}"\n`);
      expect(e.line).toBe(3);
      expect(e.message).toContain('mooring build URL');
    }
  });

  it('a Dockerfile outside the repo or given as a host path', async () => {
    expect(
      (
        await one(
          'services:\n  app:\n    build:\n      context: app\n      dockerfile: ../../../Dockerfile\n',
        )
      ).message,
    ).toContain('leads outside the config repo');
    const abs = await one(
      'services:\n  app:\n    build:\n      context: app\n      dockerfile: /etc/Dockerfile\n',
    );
    expect(abs).toMatchObject({ line: 5, column: 19 });
  });

  it('what is not in the repo at this revision', async () => {
    const missing = await one('services:\n  app:\n    build: ./nothing\n');
    expect(missing.message).toContain('does not exist in the config repo at this revision');
    const file = await one('services:\n  app:\n    build: ./app/main.sh\n');
    expect(file.message).toContain('is a file');
    const noDockerfile = await one('services:\n  app:\n    build: .\n');
    expect(noDockerfile.message).toContain('web/Dockerfile does not exist');
    expect(noDockerfile.message).toContain('dockerfile_inline');
  });

  it('dockerfile and dockerfile_inline together, as compose refuses', async () => {
    const e = await one(
      'services:\n  app:\n    build:\n      context: app\n      dockerfile: Dockerfile\n      dockerfile_inline: FROM scratch\n',
    );
    expect(e).toMatchObject({ line: 6, column: 7 });
    expect(e.message).toContain('not both');
  });

  it('neither image nor build', async () => {
    const e = await one('services:\n  app:\n    command: [sleep, "1"]\n');
    expect(e).toMatchObject({ line: 2, column: 3 });
    expect(e.message).toContain('set image');
    expect(e.message).toContain('or build');
  });

  it('the safety policy: privileged, host network, entitlements, unless the local settings allow them', async () => {
    const priv = await one('services:\n  app:\n    build:\n      context: app\n      privileged: true\n');
    expect(priv).toMatchObject({ line: 5, column: 19 });
    expect(priv.message).toContain('safety.allowPrivileged');
    const host = await one('services:\n  app:\n    build:\n      context: app\n      network: host\n');
    expect(host.message).toContain('safety.allowHostNamespaces');
    const other = await one(
      'services:\n  app:\n    build:\n      context: app\n      network: container:db\n',
    );
    expect(other.message).toContain('safety.allowContainerNamespaces');
    const ent = await errors(
      'services:\n  app:\n    build:\n      context: app\n      entitlements: [security.insecure, network.host]\n',
    );
    expect(ent.map((e) => e.message).join('\n')).toMatch(/allowPrivileged[\s\S]*allowHostNamespaces/);

    const allowed = { ...DEFAULT_SAFETY, allowPrivileged: true, allowHostNamespaces: true };
    const stack = await load(
      'services:\n  app:\n    build:\n      context: app\n      privileged: true\n      network: host\n      entitlements: [security.insecure]\n',
      APP,
      allowed,
    );
    expect(svc(stack).build!.network).toBe('host');
    // Allowed, and still said: the classic builder runs no step privileged.
    expect((stack.warnings ?? []).map((w) => w.message).join('\n')).toContain('privileged build steps');
  });

  it('reserved labels and names; names that cannot tag an image', async () => {
    expect(
      (
        await one(
          'services:\n  app:\n    build:\n      context: app\n      labels: ["dev.mooring.managed=true"]\n',
        )
      ).message,
    ).toContain('reserved');
    expect(
      (await one('services:\n  app:\n    image: mooring-build/web:aaaaaaaaaaaa\n    build: app\n')).message,
    ).toContain("Mooring's own");
    expect(
      (
        await one(
          'services:\n  app:\n    build:\n      context: app\n      tags: ["mooring-build/other:1"]\n',
        )
      ).message,
    ).toContain("Mooring's own");
    expect((await one('services:\n  app:\n    image: Example/App\n    build: app\n')).message).toContain(
      'is not an image reference: the repository name must be lower case',
    );
    expect(
      (await one(`services:\n  app:\n    image: app@sha256:${'a'.repeat(64)}\n    build: app\n`)).message,
    ).toContain('by digest');
  });

  it('several platforms, which one image store cannot hold (compose refuses too)', async () => {
    const e = await one(
      'services:\n  app:\n    build:\n      context: app\n      platforms: [linux/amd64, linux/arm64]\n',
    );
    expect(e.message).toContain('list one platform');
  });

  it('an unknown key of build', async () => {
    const e = await one('services:\n  app:\n    build:\n      context: app\n      contxt: app\n');
    expect(e).toMatchObject({ line: 5, column: 7 });
  });
});

describe('build: the deterministic tag', () => {
  const tagOf = async (compose: string, files: Record<string, string> = APP): Promise<string> =>
    svc(await load(compose, files)).image;
  const base = 'services:\n  app:\n    build:\n      context: app\n';

  it('moves with the context, the Dockerfile, args and target; not with other files, names or cache options', async () => {
    const tag = await tagOf(base);
    expect(await tagOf(base)).toBe(tag);
    // Another file of the repo, outside the context.
    expect(await tagOf(base, { ...APP, 'web/README.md': 'x', 'other/compose.yaml': 'y' })).toBe(tag);
    expect(await tagOf(base, { ...APP, 'web/app/main.sh': 'echo changed\n' })).not.toBe(tag);
    expect(await tagOf(base, { ...APP, 'web/app/Dockerfile': 'FROM local/busybox:1\n' })).not.toBe(tag);
    expect(await tagOf(`${base}      args: [A=1]\n`)).not.toBe(tag);
    expect(await tagOf(`${base}      target: prod\n`)).not.toBe(tag);
    expect(await tagOf(`${base}      tags: [example/x:1]\n`)).toBe(tag);
    expect(
      await tagOf(`${base}      cache_from: [example/x:1]\n      no_cache: true\n      pull: true\n`),
    ).toBe(tag);
    // image: names the result; it is no input of it.
    expect(await tagOf('services:\n  app:\n    image: example/app\n    build:\n      context: app\n')).toBe(
      tag,
    );
  });

  it("the container's spec hash ignores the build's names and cache options", async () => {
    const a = svc(await load(base));
    const b = svc(await load(`${base}      tags: [example/x:1]\n      cache_from: [example/x:cache]\n`));
    expect(specHash(a)).toBe(specHash(b));
  });

  it("a build's image name is checked as the engine checks references, and says what is wrong", async () => {
    const named = async (image: string) =>
      (await errors(`services:\n  app:\n    build: ./app\n    image: ${image}\n`)).map((e) => e.message);
    expect(await named('Team/App:1')).toEqual([
      'services.app.image: "Team/App:1" is not an image reference: the repository name must be lower case',
    ]);
    expect((await named('team/app:v1!'))[0]).toContain('"v1!" is not a tag');
    const tags = async (tag: string) =>
      (await errors(`services:\n  app:\n    build:\n      context: ./app\n      tags: ["${tag}"]\n`)).map(
        (e) => e.message,
      );
    expect(await tags('Team/App:1')).toEqual([
      'services.app.build.tags[0]: "Team/App:1" is not an image name a build can be tagged with: the repository name must be lower case',
    ]);
    expect((await named(`team/app@sha256:${'a'.repeat(64)}`))[0]).toContain('names an image by digest');
    // A registry host may hold capitals and a port.
    const ok = svc(
      await load('services:\n  app:\n    build: ./app\n    image: Registry.Example:5000/team/app:1\n'),
    );
    expect(ok.build?.tags).toEqual(['Registry.Example:5000/team/app:1']);
  });

  it('is a valid image reference for any stack name', () => {
    for (const stack of ['web', 'my_app', 'app_', 'a-b', '9lives'])
      expect(imageRefProblem(buildTag(stack, 'f'.repeat(64))), stack).toBe(null);
  });
});

describe('build: shared builds', () => {
  it('two services with the same build run one tag; a service whose image: another builds runs it too', async () => {
    const stack = await load(`services:
  app:
    image: example/webapp
    build: ./app
  worker:
    build: ./app
  cron:
    image: example/webapp:latest
    command: [crond]
  other:
    image: nginx:1.27
`);
    const tag = svc(stack).image;
    expect(tag).toMatch(TAG);
    expect(svc(stack, 'worker').image).toBe(tag);
    expect(svc(stack, 'cron').image).toBe(tag);
    expect(svc(stack, 'cron').build).toBeUndefined();
    expect(svc(stack, 'other').image).toBe('nginx:1.27');

    const status: StackStatus = {
      source: 'cfg',
      name: 'web',
      revision: 'abc',
      sync: 'Missing',
      health: 'Missing',
      services: [],
      errors: [],
      warnings: [],
      policy: { sync: 'manual', selfHeal: false, prune: false },
      suspended: false,
    };
    const actions = planStack({
      desired: stack,
      status,
      missingImages: new Set([tag]),
      existingNetworks: new Set(),
      existingVolumes: new Set(),
      prune: false,
    });
    const builds = actions.filter((a) => a.kind === 'build');
    expect(builds).toEqual([
      {
        kind: 'build',
        target: tag,
        reason: 'not built yet: built from the config repo for app, worker, cron',
        diff: [],
        level: 0,
      },
    ]);
    expect(actions.some((a) => a.kind === 'pull')).toBe(false);
    // Before any service.
    const firstService = actions.findIndex((a) => a.kind === 'create');
    expect(actions.indexOf(builds[0]!)).toBeLessThan(firstService);
  });

  it('two different builds under one image: name are refused: which one wins would be a race', async () => {
    const list = await errors(
      `services:
  app:
    image: example/webapp
    build: ./app
  worker:
    image: example/webapp
    build:
      context: ./app
      target: worker
`,
    );
    expect(list[0]!.message).toContain('another image: name');
    expect(list[0]!.line).toBe(5);
  });
});

describe('build: the plan', () => {
  const status = (live: string | null): StackStatus => ({
    source: 'cfg',
    name: 'web',
    revision: 'abc',
    sync: 'OutOfSync',
    health: 'Healthy',
    services: [
      {
        name: 'app',
        sync: 'OutOfSync',
        health: 'Healthy',
        container: 'web-app-1',
        containerId: 'c1',
        image: { desired: null, live },
        state: 'running',
        ports: [],
        startedAt: null,
        reasons: [{ path: 'image', desired: 'new', live }],
      },
    ],
    errors: [],
    warnings: [],
    policy: { sync: 'manual', selfHeal: false, prune: false },
    suspended: false,
  });

  it('says why it builds: a changed context, or a tag that holds another build', async () => {
    const stack = await load('services:\n  app:\n    build: ./app\n');
    const tag = svc(stack).image;
    const plan = (live: string | null, misbuilt = new Set<string>()) =>
      planStack({
        desired: stack,
        status: status(live),
        missingImages: new Set([tag]),
        misbuilt,
        existingNetworks: new Set(['web_default']),
        existingVolumes: new Set(),
        prune: false,
      });
    const changed = plan('mooring-build/web:0123456789ab');
    expect(changed[0]).toMatchObject({ kind: 'build', target: tag });
    expect(changed[0]!.reason).toContain('changed since mooring-build/web:0123456789ab');
    expect(changed.find((a) => a.kind === 'recreate')).toBeDefined();
    // Switching from an image to a build is not a changed context.
    expect(plan('nginx:1.27')[0]!.reason).toContain('not built yet');
    expect(plan(null, new Set([tag]))[0]!.reason).toContain('did not make');
  });

  it('takes an image as built only when its label holds the whole hash', async () => {
    const stack = await load('services:\n  app:\n    build: ./app\n');
    const s = svc(stack);
    const labels = (hash: string) => ({ labels: { 'dev.mooring.build-hash': hash } });
    expect(misbuiltTags(stack, new Map([[s.image, labels(s.build!.hash)]]))).toEqual(new Set());
    expect(misbuiltTags(stack, new Map([[s.image, labels('0'.repeat(64))]]))).toEqual(new Set([s.image]));
    expect(misbuiltTags(stack, new Map([[s.image, undefined]]))).toEqual(new Set());
  });
});

describe('packContext with dockerfile_inline', () => {
  it('sends the inline text as the Dockerfile, beside the context from git', async () => {
    const local = await createLocalRepo({
      'app/main.sh': 'echo hi\n',
      'app/.dockerignore': 'secret\n',
      'app/secret': 'x',
    });
    try {
      const source = new GitSource({
        home: '/nonexistent',
        config: { name: 'cfg', url: local.path, kind: 'local', branch: null, path: '', tokenEnv: null },
      });
      const commit = await source.resolve('HEAD');
      const inline = 'FROM local/busybox:1\nCOPY . /app\n';
      const packed = await packContext(source, commit, 'app', '', inline);
      const chunks: Buffer[] = [];
      for await (const c of packed.stream) chunks.push(c as Buffer);
      const tar = Buffer.concat(chunks);
      const names: string[] = [];
      const files = new Map<string, string>();
      for (let off = 0; off + 512 <= tar.length;) {
        const name = tar.toString('ascii', off, off + 100).replace(/\0.*$/s, '');
        if (name === '') break;
        const size = parseInt(
          tar
            .toString('ascii', off + 124, off + 136)
            .replace(/\0.*$/s, '')
            .trim() || '0',
          8,
        );
        names.push(name);
        files.set(name, tar.toString('utf8', off + 512, off + 512 + size));
        off += 512 + Math.ceil(size / 512) * 512;
      }
      expect(packed.dockerfile).toMatch(/^\.mooring-dockerfile-[0-9a-f]{12}$/);
      expect(names.sort()).toEqual(['.dockerignore', packed.dockerfile, 'main.sh'].sort());
      expect(files.get(packed.dockerfile)).toBe(inline);
      expect(packed.ignored).toBe(1);
    } finally {
      await rm(local.path, { recursive: true, force: true });
    }
  });
});

describe('build: links of the repo', () => {
  it('a context or Dockerfile that is a link leading out of the repo reads as missing', async () => {
    const local = await createLocalRepo({
      'web/compose.yaml':
        'services:\n  app:\n    build: ./out\n  other:\n    build:\n      context: ./ok\n      dockerfile: df\n',
      'web/ok/main.sh': 'echo\n',
    });
    try {
      await symlink('/etc', path.join(local.path, 'web/out'));
      await symlink('/etc/passwd', path.join(local.path, 'web/ok/df'));
      await local.commit({}, 'links out of the repo');
      const source = new GitSource({
        home: '/nonexistent',
        config: { name: 'cfg', url: local.path, kind: 'local', branch: null, path: '', tokenEnv: null },
      });
      const r = await loadStack({
        reader: source.reader(await source.resolve('HEAD')),
        stackDir: 'web',
        composeFile: 'web/compose.yaml',
        safety: DEFAULT_SAFETY,
        homeDir: '/home/me',
      });
      expect(r.ok).toBe(false);
      const errs = r.ok ? [] : r.errors;
      expect(errs.map((e) => [e.line, e.column])).toEqual([
        [3, 12],
        [7, 19],
      ]);
      expect(errs[0]!.message).toContain('or is a link leading out of it');
      expect(errs[1]!.message).toContain('web/ok/df does not exist in the config repo');
    } finally {
      await rm(local.path, { recursive: true, force: true });
    }
  });
});
