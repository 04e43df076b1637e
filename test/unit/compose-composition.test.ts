// How a stack's compose model is composed (issue 11, items 1 and 9): the override file, `extends`,
// `include`, profiles, env_file, and interpolation with unset variables, each against what docker
// compose v2 does (compose-go's loader and the Compose Specification), with every message placed in the
// file the value was written in.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type { DesiredService, DesiredStack, ManifestError } from '../../electron/shared/model.ts';
import { loadStack } from '../../electron/engine/manifest/index.ts';
import type { LoadResult, RepoReader } from '../../electron/engine/manifest/index.ts';

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

async function loadFiles(
  files: Record<string, string>,
  opts: { composeFile?: string; profiles?: string[] } = {},
): Promise<LoadResult> {
  return loadStack({
    reader: repo(files),
    stackDir: 'web',
    composeFile: opts.composeFile ?? 'web/compose.yaml',
    safety: DEFAULT_SAFETY,
    homeDir: '/home/me',
    ...(opts.profiles ? { profiles: () => opts.profiles } : {}),
  });
}

async function stackOf(
  files: Record<string, string>,
  opts: { composeFile?: string; profiles?: string[] } = {},
): Promise<DesiredStack> {
  const result = await loadFiles(files, opts);
  if (!result.ok) {
    throw new Error(result.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`).join('\n'));
  }
  return result.stack;
}

async function errorsOf(
  files: Record<string, string>,
  opts: { composeFile?: string; profiles?: string[] } = {},
): Promise<ManifestError[]> {
  const result = await loadFiles(files, opts);
  if (result.ok) throw new Error('expected the stack to be refused');
  return result.errors;
}

const where = (e: ManifestError): string => `${e.file}:${e.line}:${e.column}`;

function byName(stack: DesiredStack): Record<string, DesiredService> {
  return Object.fromEntries(stack.services.map((s) => [s.name, s]));
}

describe('compose.override.yaml, merged as compose merges it', () => {
  const base = `services:
  app:
    image: nginx:1.25
    command: ["nginx", "-g", "daemon off;"]
    ports: ["8080:80", "127.0.0.1:9000:9000"]
    environment:
      A: base
      B: base
    labels: [tier=web]
    volumes: ["data:/data", "./conf:/etc/conf:ro"]
    networks: [front]
    depends_on: [db]
    extra_hosts: ["a:10.0.0.1"]
    dns: 8.8.8.8
  db:
    image: postgres:16
networks:
  front:
volumes:
  data:
  other:
`;

  it('merges maps by key, replaces scalars and commands, appends lists and makes them unique', async () => {
    const stack = await stackOf({
      'web/compose.yaml': base,
      'web/conf/app.conf': 'x',
      'web/compose.override.yaml': `services:
  app:
    image: nginx:1.27
    command: nginx-debug
    ports: ["8080:80", "8443:443"]
    environment: [B=override, C=new]
    labels: {tier: api, extra: "1"}
    volumes: ["other:/data"]
    networks: {back: {aliases: [api]}}
    depends_on: {db: {condition: service_healthy}}
    extra_hosts: ["a:10.0.0.1", "b:10.0.0.2"]
    dns: [1.1.1.1]
networks:
  back:
`,
    });
    const app = byName(stack).app!;
    expect(app.image).toBe('nginx:1.27');
    expect(app.command).toEqual(['nginx-debug']);
    expect(app.ports.map((p) => `${p.hostIp}:${p.hostPort}:${p.containerPort}`)).toEqual([
      ':8080:80',
      '127.0.0.1:9000:9000',
      ':8443:443',
    ]);
    expect(app.environment).toEqual({ A: 'base', B: 'override', C: 'new' });
    expect(app.labels).toEqual({ tier: 'api', extra: '1' });
    // One mount per target: the override's volume replaces the base's at /data.
    expect(app.mounts.map((m) => [m.target, m.type === 'volume' ? m.source : m.type])).toEqual([
      ['/data', 'web_other'],
      ['/etc/conf', 'repo'],
    ]);
    expect(app.networks).toEqual([
      { name: 'web_back', aliases: ['app', 'api'] },
      { name: 'web_front', aliases: ['app'] },
    ]);
    expect(app.dependsOn).toEqual([{ service: 'db', condition: 'service_healthy' }]);
    expect(app.extraHosts).toEqual(['a:10.0.0.1', 'b:10.0.0.2']);
    expect(stack.files).toEqual(['web/compose.yaml', 'web/compose.override.yaml']);
  });

  it('keeps the earlier value where the override says null, and adds services of its own', async () => {
    const stack = await stackOf({
      'web/compose.yaml': 'services:\n  app:\n    image: a:1\n    user: "1000"\n',
      'web/compose.override.yaml': 'services:\n  app:\n    user:\n  extra:\n    image: b:1\n',
    });
    expect(byName(stack).app!.user).toBe('1000');
    expect(stack.services.map((s) => s.name)).toEqual(['app', 'extra']);
  });

  it('takes compose.override.yml first, warns of a second override file, and reads none without one', async () => {
    const stack = await stackOf({
      'web/compose.yaml': 'services:\n  app:\n    image: a:1\n',
      'web/compose.override.yml': 'services:\n  app:\n    image: a:yml\n',
      'web/compose.override.yaml': 'services:\n  app:\n    image: a:yaml\n',
    });
    expect(stack.services[0]!.image).toBe('a:yml');
    expect(stack.warnings).toEqual([
      {
        file: 'web/compose.override.yaml',
        line: 1,
        column: 1,
        message:
          '2 override files are in web; like docker compose, Mooring merges only compose.override.yml, so this one is not read',
      },
    ]);
    const plain = await stackOf({ 'web/compose.yaml': 'services:\n  app:\n    image: a:1\n' });
    expect(plain.files).toBeUndefined();
    expect(plain.warnings).toBeUndefined();
  });

  it('merges docker-compose.override.yml beside docker-compose.yml', async () => {
    const stack = await stackOf(
      {
        'web/docker-compose.yml': 'version: "3"\nservices:\n  app:\n    image: a:1\n',
        'web/docker-compose.override.yml': 'version: "3"\nservices:\n  app:\n    restart: always\n',
      },
      { composeFile: 'web/docker-compose.yml' },
    );
    expect(stack.services[0]).toMatchObject({ image: 'a:1', restart: 'always' });
  });

  it('removes with !reset and replaces with !override', async () => {
    const stack = await stackOf({
      'web/compose.yaml': base,
      'web/conf/app.conf': 'x',
      'web/compose.override.yaml': `services:
  app:
    ports: !override ["8443:443"]
    environment:
      A: !reset null
    volumes: !reset []
    networks: !reset
    labels: !override {only: me}
    depends_on: !reset []
`,
    });
    const app = byName(stack).app!;
    expect(app.ports.map((p) => `${p.hostPort}:${p.containerPort}`)).toEqual(['8443:443']);
    expect(app.environment).toEqual({ B: 'base' });
    expect(app.mounts).toEqual([]);
    expect(app.networks).toEqual([{ name: 'web_default', aliases: ['app'] }]);
    expect(app.labels).toEqual({ only: 'me' });
    expect(app.dependsOn).toEqual([]);
  });

  it('reports an error in the override at its own file, line and column', async () => {
    const errs = await errorsOf({
      'web/compose.yaml': 'services:\n  app:\n    image: a:1\n    ports: ["80:80"]\n',
      'web/compose.override.yaml': 'services:\n  app:\n    ports:\n      - "99999:80"\n    nope: 1\n',
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      ['web/compose.override.yaml:4:9', expect.stringContaining('services.app.ports[1]')],
      ['web/compose.override.yaml:5:5', 'services.app.nope: Mooring does not support `nope`'],
    ]);
  });

  it('refuses a list merged with a map, saying which file wrote which, as compose does', async () => {
    const errs = await errorsOf({
      'web/compose.yaml': 'services:\n  app:\n    image: a:1\n    ports: ["80:80"]\n',
      'web/compose.override.yaml': 'services:\n  app:\n    ports: {a: 1}\n',
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      [
        'web/compose.override.yaml:3:12',
        'services.app.ports: web/compose.yaml writes a list here, so this must be a list too to merge with it; to replace it instead, tag it !override',
      ],
    ]);
  });

  it('reads the files COMPOSE_FILE in the .env names, and then no override file', async () => {
    const stack = await stackOf({
      'web/.env': 'COMPOSE_FILE=compose.yaml:prod.yaml\n',
      'web/compose.yaml': 'services:\n  app:\n    image: a:1\n',
      'web/prod.yaml': 'services:\n  app:\n    restart: always\n',
      'web/compose.override.yaml': 'services:\n  app:\n    image: never:read\n',
    });
    expect(stack.services[0]).toMatchObject({ image: 'a:1', restart: 'always' });
    expect(stack.files).toEqual(['web/compose.yaml', 'web/prod.yaml']);
    const errs = await errorsOf({
      'web/.env': 'COMPOSE_FILE=compose.yaml:/etc/compose.yaml\n',
      'web/compose.yaml': 'services:\n  app:\n    image: a:1\n',
    });
    expect(errs[0]!.message).toContain('COMPOSE_FILE names /etc/compose.yaml');
  });
});

describe('extends', () => {
  it('extends a service of the same file: its keys merged by compose rules, extends removed', async () => {
    const stack = await stackOf({
      'web/compose.yaml': `services:
  base:
    image: busybox:1
    command: ["sleep", "1"]
    environment: {TZ: utc, PORT: "80"}
    cap_drop: [NET_RAW]
  mid:
    extends: base
    user: root
  cli:
    extends:
      service: mid
    command: ["sleep", "2"]
    environment: [PORT=8080]
`,
    });
    const cli = byName(stack).cli!;
    expect(stack.services.map((s) => s.name)).toEqual(['base', 'mid', 'cli']);
    expect(cli).toMatchObject({
      image: 'busybox:1',
      command: ['sleep', '2'],
      environment: { TZ: 'utc', PORT: '8080' },
      user: 'root',
      capDrop: ['NET_RAW'],
    });
    expect(byName(stack).mid).toMatchObject({ command: ['sleep', '1'], user: 'root' });
  });
});

describe('extends, from another file and with errors', () => {
  const common = `services:
  webapp:
    image: registry.local/webapp:3
    env_file: app.env
    volumes: ["./static:/srv/static:ro"]
    environment: {MODE: common}
  loop:
    extends: loop
    image: x
`;

  it('extends a service of another repo file: paths in it start from its own folder', async () => {
    const stack = await stackOf({
      'shared/common.yml': common,
      'shared/app.env': 'FROM_FILE=shared\n',
      'shared/static/index.html': '<p>',
      'web/compose.yaml': `services:
  app:
    extends:
      file: ../shared/common.yml
      service: webapp
    environment: {MODE: web}
`,
    });
    const app = stack.services[0]!;
    expect(app.image).toBe('registry.local/webapp:3');
    expect(app.environment).toEqual({ FROM_FILE: 'shared', MODE: 'web' });
    expect(app.mounts).toMatchObject([{ type: 'repo', repoPath: 'shared/static', target: '/srv/static' }]);
    expect(stack.files).toEqual(['web/compose.yaml', 'shared/common.yml']);
  });

  it('reports an error of an extended service in the file it was written in', async () => {
    const errs = await errorsOf({
      'shared/common.yml': 'services:\n  webapp:\n    image: x\n    restart: sometimes\n',
      'web/compose.yaml': 'services:\n  app:\n    extends: {file: ../shared/common.yml, service: webapp}\n',
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      ['shared/common.yml:4:14', 'services.app.restart must be no, always, on-failure[:N] or unless-stopped'],
    ]);
  });

  it('refuses a cycle, a missing service or file, and a file outside the repo', async () => {
    const errs = await errorsOf({
      'web/compose.yaml': `services:
  a:
    extends: b
    image: x
  b:
    extends: a
    image: x
  c:
    extends: nope
    image: x
  d:
    extends: {file: missing.yml, service: x}
    image: x
  e:
    extends: {file: /etc/compose.yml, service: x}
    image: x
  f:
    extends: {file: ../../outside.yml, service: x}
    image: x
`,
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      [
        'web/compose.yaml:6:14',
        'services.b.extends: extends cycle: web/compose.yaml: a → web/compose.yaml: b → web/compose.yaml: a',
      ],
      ['web/compose.yaml:9:14', 'services.c.extends: service "nope" is not defined in web/compose.yaml'],
      ['web/compose.yaml:12:21', 'web/missing.yml does not exist in the config repo at this revision'],
      [
        'web/compose.yaml:15:21',
        'services.e.extends.file: /etc/compose.yml must be a path inside the config repo, relative to web',
      ],
      [
        'web/compose.yaml:18:21',
        'services.f.extends.file: ../../outside.yml must be a path inside the config repo, relative to web',
      ],
    ]);
  });
});

describe('include', () => {
  it('imports the services, networks and volumes of an included project, read in its own folder', async () => {
    const stack = await stackOf({
      'web/compose.yaml': `include:
  - ../db/compose.yaml
services:
  app:
    image: app:1
    depends_on: [db]
    networks: [backend]
`,
      'db/compose.yaml': `services:
  db:
    image: postgres:\${PG_VERSION}
    volumes: ["dbdata:/var/lib/postgresql/data", "./init.sql:/docker-entrypoint-initdb.d/init.sql:ro"]
    networks: [backend]
    environment: ['PROJECT=\${COMPOSE_PROJECT_NAME}', 'FROM=\${FROM}']
networks:
  backend:
volumes:
  dbdata:
`,
      'db/.env': 'PG_VERSION=16\nFROM=db-env\n',
      'db/init.sql': 'select 1;',
      'web/.env': 'FROM=web-env\n',
    });
    const { app, db } = byName(stack);
    expect(app!.dependsOn).toEqual([{ service: 'db', condition: 'service_started' }]);
    expect(db!.image).toBe('postgres:16');
    // The including project's variables win over the included project's .env.
    expect(db!.environment).toEqual({ PROJECT: 'web', FROM: 'web-env' });
    expect(db!.mounts).toMatchObject([
      { type: 'volume', source: 'web_dbdata' },
      { type: 'repo', repoPath: 'db/init.sql' },
    ]);
    expect(stack.networks.map((n) => n.name)).toEqual(['web_backend']);
    expect(stack.volumes.map((v) => v.name)).toEqual(['web_dbdata']);
  });

  it('reads the long form: several files, project_directory and env_file', async () => {
    const stack = await stackOf({
      'web/compose.yaml': `include:
  - path: [../lib/base.yml, ../lib/extra.yml]
    project_directory: ../lib/root
    env_file: ../lib/lib.env
services: {}
`,
      'lib/base.yml': 'services:\n  lib:\n    image: lib:${LIB_TAG}\n    volumes: ["./data:/data"]\n',
      'lib/extra.yml': 'services:\n  lib:\n    restart: always\n',
      'lib/lib.env': 'LIB_TAG=7\n',
      'lib/root/data/x': 'x',
    });
    expect(stack.services[0]).toMatchObject({
      image: 'lib:7',
      restart: 'always',
      mounts: [{ type: 'repo', repoPath: 'lib/root/data', target: '/data' }],
    });
  });

  it("merges the including file's own definition of an included service over it (compose v5)", async () => {
    const stack = await stackOf({
      'web/compose.yaml': `include: [inc.yaml]
services:
  db:
    environment: !override [ONLY=mine]
    restart: always
`,
      'web/inc.yaml': 'services:\n  db:\n    image: db:1\n    environment: [A=1]\n',
    });
    expect(stack.services[0]).toMatchObject({
      image: 'db:1',
      restart: 'always',
      environment: { ONLY: 'mine' },
    });
  });

  it('reports errors of an included file in that file', async () => {
    const errs = await errorsOf({
      'web/compose.yaml': 'include: [../db/compose.yaml]\nservices: {}\n',
      'db/compose.yaml': 'services:\n  db:\n    image: x\n    init: perhaps\n',
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      ['db/compose.yaml:4:11', 'services.db.init must be true or false'],
    ]);
  });

  it('refuses an include outside the repo, from a URL, a cycle, and a missing file or env_file', async () => {
    const errs = await errorsOf({
      'web/compose.yaml': `include:
  - /etc/compose.yaml
  - oci://registry/compose:1
  - a.yaml
  - missing.yaml
  - {path: b.yaml, env_file: none.env}
services: {}
`,
      'web/a.yaml': 'include: [c.yaml]\nservices: {}\n',
      'web/c.yaml': 'include: [a.yaml]\nservices: {}\n',
      'web/b.yaml': 'services: {}\n',
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      [
        'web/c.yaml:1:11',
        'include cycle: web/compose.yaml includes web/a.yaml includes web/c.yaml includes web/a.yaml',
      ],
      [
        'web/compose.yaml:2:5',
        'include: path /etc/compose.yaml must be a path inside the config repo, relative to web; Mooring reads every compose file from the repo at the revision',
      ],
      [
        'web/compose.yaml:3:5',
        'include: path oci://registry/compose:1 must be a path inside the config repo, relative to web; Mooring reads every compose file from the repo at the revision',
      ],
      ['web/compose.yaml:5:5', 'web/missing.yaml does not exist in the config repo at this revision'],
      [
        'web/compose.yaml:6:30',
        'include: env_file web/none.env does not exist in the config repo at this revision',
      ],
    ]);
  });
});

describe('profiles', () => {
  const files = {
    'web/compose.yaml': `services:
  app:
    image: app:1
  debug:
    image: busybox:1
    profiles: [debug]
    privileged: true
  tools:
    image: busybox:1
    profiles: [tools, debug]
`,
  };

  it('leaves out a service whose profiles are not active, without reading the rest of it', async () => {
    expect((await stackOf(files)).services.map((s) => s.name)).toEqual(['app']);
    expect((await stackOf(files, { profiles: ['tools'] })).services.map((s) => s.name)).toEqual([
      'app',
      'tools',
    ]);
    // Once active, the service is read like any other: the safety policy refuses it.
    const errs = await errorsOf(files, { profiles: ['*'] });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      [
        'web/compose.yaml:7:17',
        expect.stringContaining('services.debug.privileged: refused by the safety policy'),
      ],
    ]);
  });

  it("takes COMPOSE_PROFILES from the stack's .env when mooring.yaml sets none, as compose does", async () => {
    const stack = await stackOf({ ...files, 'web/.env': 'COMPOSE_PROFILES=tools, other\n' });
    expect(stack.services.map((s) => s.name)).toEqual(['app', 'tools']);
    const set = await stackOf({ ...files, 'web/.env': 'COMPOSE_PROFILES=tools\n' }, { profiles: [] });
    expect(set.services.map((s) => s.name)).toEqual(['app']);
  });

  it('refuses a dependency on an inactive service unless it is required: false', async () => {
    const errs = await errorsOf({
      'web/compose.yaml': `services:
  app:
    image: app:1
    depends_on: [cache]
  worker:
    image: app:1
    depends_on:
      cache: {condition: service_started, required: false}
  cache:
    image: redis:7
    profiles: [cache]
`,
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      [
        'web/compose.yaml:4:18',
        'services.app: depends on "cache", which runs only with profile cache, not active for this stack; activate it in mooring.yaml (stacks: <stack>: profiles: [cache]) or COMPOSE_PROFILES in its .env, or mark the dependency required: false',
      ],
    ]);
    const stack = await stackOf({
      'web/compose.yaml': `services:
  worker:
    image: app:1
    depends_on:
      cache: {condition: service_started, required: false}
  cache:
    image: redis:7
    profiles: [cache]
`,
    });
    expect(stack.services.map((s) => [s.name, s.dependsOn])).toEqual([['worker', []]]);
  });
});

describe('env_file in all its forms', () => {
  it('reads a path, a list, and the long form with required and format: raw, each over the last', async () => {
    const stack = await stackOf({
      'web/.env': 'TAG=1\nSHARED=stack\n',
      'web/a.env': 'A=a\nB=${A}x\nC=${SHARED}\nD=from-a\n',
      'web/b.env': 'D=from-b\nE="${ENV_ONLY}!"\n',
      'web/raw.env': 'R="$NOT ${EXPANDED}"\nS=  kept  \n',
      'web/compose.yaml': `services:
  one:
    image: x
    env_file: a.env
  many:
    image: x
    env_file:
      - a.env
      - path: b.env
      - path: optional.env
        required: false
      - path: raw.env
        format: raw
    environment:
      ENV_ONLY: from-environment
      D: from-environment
`,
    });
    const { one, many } = byName(stack);
    expect(one!.environment).toEqual({ A: 'a', B: 'ax', C: 'stack', D: 'from-a' });
    expect(many!.environment).toEqual({
      A: 'a',
      B: 'ax',
      C: 'stack',
      D: 'from-environment',
      E: 'from-environment!',
      ENV_ONLY: 'from-environment',
      R: '$NOT ${EXPANDED}',
      S: '  kept  ',
    });
  });

  it("lets the stack's variables win in an env file's ${VAR}, and a bare environment name unset the file's value", async () => {
    const stack = await stackOf({
      'web/.env': 'A=stack\n',
      'web/app.env': 'A=file\nB=${A}\nGONE=file\n',
      'web/compose.yaml': `services:
  app:
    image: x
    env_file: app.env
    environment: [GONE]
`,
    });
    expect(stack.services[0]!.environment).toEqual({ A: 'file', B: 'stack' });
  });

  it('reads an env_file of an included project in its folder, and refuses an unknown format', async () => {
    const stack = await stackOf({
      'web/compose.yaml': 'include: [../lib/compose.yaml]\nservices: {}\n',
      'lib/compose.yaml': 'services:\n  lib:\n    image: x\n    env_file: lib.env\n',
      'lib/lib.env': 'LIB=1\n',
    });
    expect(stack.services[0]!.environment).toEqual({ LIB: '1' });
    const errs = await errorsOf({
      'web/compose.yaml': 'services:\n  app:\n    image: x\n    env_file: [{path: a.env, format: json}]\n',
      'web/a.env': 'A=1\n',
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      [
        'web/compose.yaml:4:38',
        'services.app.env_file[0].format: unsupported env_file format "json"; leave it out, or write raw',
      ],
    ]);
  });

  it('reports a problem of an env file used by many services once', async () => {
    const errs = await errorsOf({
      'web/bad.env': 'OK=1\nB@D=1\n',
      'web/compose.yaml':
        'services:\n  a:\n    image: x\n    env_file: bad.env\n  b:\n    image: x\n    env_file: bad.env\n',
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      ['web/bad.env:2:2', 'unexpected character "@" in variable name "B@D=1"'],
    ]);
  });
});

describe('interpolation: unset variables give one message, not a cascade (issue 11, item 9)', () => {
  it('says what an unset variable broke in the one error about that value', async () => {
    const errs = await errorsOf({
      'web/compose.yaml': `services:
  app:
    image: "\${IMAGE}"
    volumes: ["\${DATA}:/data"]
    networks: ["\${NET}"]
`,
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      ['web/compose.yaml:3:12', 'services.app.image is empty (IMAGE is not set, so "${IMAGE}" reads as "")'],
      [
        'web/compose.yaml:4:15',
        expect.stringMatching(
          /^services\.app\.volumes\[0\]: .* \(DATA is not set, so "\$\{DATA\}:\/data" reads as ":\/data"\)$/,
        ),
      ],
      [
        'web/compose.yaml:5:16',
        expect.stringMatching(/^services\.app\.networks: .* \(NET is not set, so "\$\{NET\}" reads as ""\)$/),
      ],
    ]);
  });

  it('keeps ${VAR:?err} and ${VAR?err} errors, each said once', async () => {
    const errs = await errorsOf({
      'web/compose.yaml': `services:
  app:
    image: "\${IMAGE:?set IMAGE}"
    ports: ["\${PORT?set PORT}:80"]
`,
    });
    expect(errs.map((e) => [where(e), e.message])).toEqual([
      ['web/compose.yaml:3:12', 'services.app.image: required variable IMAGE is missing a value: set IMAGE'],
      ['web/compose.yaml:4:13', 'services.app.ports[0]: required variable PORT is missing a value: set PORT'],
    ]);
  });

  it('warns once per variable, across files, and gives PWD its own advice', async () => {
    const stack = await stackOf({
      'web/compose.yaml':
        'services:\n  app:\n    image: x\n    environment: [A=$NOPE, B=$NOPE, "C=${PWD}/x"]\n',
      'web/compose.override.yaml': 'services:\n  app:\n    labels: [l=$NOPE]\n',
    });
    expect(stack.warnings?.map((w) => [where(w), w.message])).toEqual([
      [
        'web/compose.yaml:4:19',
        'variable NOPE is not set, so it reads as an empty string here (and at 2 more places); define it in web/.env, or write ${NOPE:-} where an empty value is meant',
      ],
      [
        'web/compose.yaml:4:37',
        'variable PWD is not set, so it reads as an empty string here: docker compose takes it from the folder it runs in, and Mooring reads the stack from git, not from a folder; write ./ instead of ${PWD}/ for a file of the stack',
      ],
    ]);
    expect(stack.services[0]!.environment).toEqual({ A: '', B: '', C: '/x' });
    expect(stack.services[0]!.labels).toEqual({ l: '' });
  });

  it('provides COMPOSE_PROJECT_NAME, the stack name, and nothing from the machine', async () => {
    process.env.MOORING_TEST_ONLY = 'machine';
    try {
      const stack = await stackOf({
        'web/compose.yaml': `name: shop
services:
  app:
    image: x
    container_name: \${COMPOSE_PROJECT_NAME}-app
    environment: ['P=\${COMPOSE_PROJECT_NAME}', 'M=\${MOORING_TEST_ONLY:-unset}', MOORING_TEST_ONLY]
`,
      });
      expect(stack.name).toBe('shop');
      expect(stack.services[0]).toMatchObject({
        containerName: 'shop-app',
        environment: { P: 'shop', M: 'unset' },
      });
    } finally {
      delete process.env.MOORING_TEST_ONLY;
    }
  });

  it('says when .env names the project differently, as Mooring keeps the folder or name: for the stack', async () => {
    const stack = await stackOf({
      'web/.env': 'COMPOSE_PROJECT_NAME=other\n',
      'web/compose.yaml': 'services:\n  app:\n    image: x\n    environment: [P=$COMPOSE_PROJECT_NAME]\n',
    });
    expect(stack.name).toBe('web');
    expect(stack.services[0]!.environment).toEqual({ P: 'web' });
    expect(stack.warnings?.[0]?.message).toContain('write name: other in web/compose.yaml');
  });
});

describe('legacy forms compose still accepts', () => {
  it('accepts service names compose accepts, and version:', async () => {
    const stack = await stackOf({
      'web/compose.yaml': 'version: "2.4"\nservices:\n  _private:\n    image: x\n  .dot:\n    image: x\n',
    });
    expect(stack.services.map((s) => [s.name, s.containerName])).toEqual([
      ['_private', 'web-_private-1'],
      ['.dot', 'web-.dot-1'],
    ]);
  });
});
