import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type {
  DesiredService,
  DesiredStack,
  ManifestError,
  SafetySettings,
} from '../../electron/shared/model.ts';
import { loadStack, specHash } from '../../electron/engine/manifest/index.ts';
import type { RepoReader } from '../../electron/engine/manifest/index.ts';

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

async function load(
  compose: string,
  extra: Record<string, string> = {},
  safety: SafetySettings = DEFAULT_SAFETY,
): Promise<DesiredStack> {
  const result = await loadStack({
    reader: repo({ 'web/compose.yaml': compose, ...extra }),
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety,
    homeDir: '/home/me',
  });
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return result.stack;
}

async function errors(
  compose: string,
  extra: Record<string, string> = {},
  safety: SafetySettings = DEFAULT_SAFETY,
): Promise<ManifestError[]> {
  const result = await loadStack({
    reader: repo({ 'web/compose.yaml': compose, ...extra }),
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety,
    homeDir: '/home/me',
  });
  if (result.ok) throw new Error('expected the stack to be refused');
  return result.errors;
}

async function service(compose: string, extra: Record<string, string> = {}): Promise<DesiredService> {
  const stack = await load(compose, extra);
  return stack.services[0]!;
}

describe('loadStack: a minimal service', () => {
  it('fills every default', async () => {
    const stack = await load('services:\n  app:\n    image: nginx:1.27\n');
    expect(stack).toEqual({
      name: 'web',
      file: 'web/compose.yaml',
      services: [
        {
          name: 'app',
          image: 'nginx:1.27',
          command: null,
          entrypoint: null,
          environment: {},
          ports: [],
          mounts: [],
          networks: [{ name: 'web_default', aliases: ['app'] }],
          labels: {},
          restart: 'no',
          healthcheck: null,
          dependsOn: [],
          init: false,
          workingDir: null,
          user: null,
          hostname: null,
          stopGracePeriodSec: 10,
          containerName: 'web-app-1',
          extraHosts: [],
          privileged: false,
          networkMode: null,
          pid: null,
          ipc: null,
          capAdd: [],
          capDrop: [],
          devices: [],
          securityOpt: [],
        },
      ],
      networks: [
        {
          key: 'default',
          name: 'web_default',
          external: false,
          driver: 'bridge',
          labels: {
            'com.docker.compose.project': 'web',
            'com.docker.compose.network': 'default',
            'dev.mooring.managed': 'true',
          },
        },
      ],
      volumes: [],
    });
  });

  it('takes the stack name from `name:` or the folder, normalized', async () => {
    expect((await load('name: My_Shop.V2\nservices: {}\n')).name).toBe('my_shopv2');
    const result = await loadStack({
      reader: repo({ 'apps/Blog Site/compose.yml': 'services:\n  a:\n    image: x\n' }),
      stackDir: 'apps/Blog Site',
      composeFile: 'apps/Blog Site/compose.yml',
      safety: DEFAULT_SAFETY,
    });
    expect(result.ok && result.stack.name).toBe('blogsite');
    expect(result.ok && result.stack.services[0]!.containerName).toBe('blogsite-a-1');
  });

  it('accepts version and x- keys, and YAML anchors with merge keys', async () => {
    const stack = await load(`version: "3.9"
x-common: &common
  restart: always
  environment:
    A: "1"
services:
  app:
    <<: *common
    image: nginx
    x-note: ignored
  worker:
    <<: *common
    image: busybox
    restart: unless-stopped
`);
    expect(stack.services.map((s) => [s.name, s.restart, s.environment])).toEqual([
      ['app', 'always', { A: '1' }],
      ['worker', 'unless-stopped', { A: '1' }],
    ]);
  });

  it('does not list the default network when no service uses it', async () => {
    const stack = await load('services:\n  app:\n    image: x\n    network_mode: none\n');
    expect(stack.networks).toEqual([]);
    expect(stack.services[0]!.networks).toEqual([]);
    expect(stack.services[0]!.networkMode).toBe('none');
  });

  it('reports a missing compose file', async () => {
    const result = await loadStack({
      reader: repo({}),
      stackDir: 'web',
      composeFile: 'web/compose.yaml',
      safety: DEFAULT_SAFETY,
    });
    expect(result).toEqual({
      ok: false,
      name: 'web',
      errors: [
        {
          file: 'web/compose.yaml',
          line: 1,
          column: 1,
          message: 'web/compose.yaml does not exist in the config repo at this revision',
        },
      ],
    });
  });
});

describe('loadStack: errors with positions', () => {
  it('reports an unknown service key at its line and column', async () => {
    const errs = await errors('services:\n  web:\n    image: x\n    deplyo:\n      replicas: 2\n');
    expect(errs).toEqual([
      {
        file: 'web/compose.yaml',
        line: 4,
        column: 5,
        message: 'services.web.deplyo: Mooring does not support `deplyo`',
      },
    ]);
  });

  it('reports unknown top-level keys and collects every error of the file', async () => {
    const errs = await errors(`secret:
  s: {file: x}
services:
  web:
    biuld: .
    image: ""
  api:
    image: y
    ports: ["99999:80"]
`);
    expect(errs.map((e) => [e.line, e.column, e.message])).toEqual([
      [1, 1, 'secret: Mooring does not support `secret`'],
      [5, 5, 'services.web.biuld: Mooring does not support `biuld`'],
      [6, 12, 'services.web.image is empty'],
      [9, 13, 'services.api.ports[0]: port 99999 is out of range (1-65535)'],
    ]);
  });

  it('reports a YAML syntax error with its position', async () => {
    const errs = await errors('services:\n  web:\n    image: [x\n    ports: []\n');
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0]!.file).toBe('web/compose.yaml');
    expect(errs[0]!.line).toBeGreaterThanOrEqual(3);
    expect(errs[0]!.message).toMatch(/^YAML: /);
  });

  it('reports a duplicate key where it is repeated', async () => {
    const errs = await errors('services:\n  web:\n    image: a\n    image: b\n');
    expect(errs).toEqual([
      {
        file: 'web/compose.yaml',
        line: 4,
        column: 5,
        message: 'YAML: Map keys must be unique; "image" is already at line 3, column 5',
      },
    ]);
  });

  it("gives compose's !reset and !override their meaning, and still refuses any other tag", async () => {
    const s = await service(
      'services:\n  web:\n    image: a\n    ports: !reset ["80:80"]\n    user: !override 1000\n',
    );
    expect(s.ports).toEqual([]);
    expect(s.user).toBe('1000');
    const errs = await errors('services:\n  web:\n    image: a\n    ports: !custom []\n');
    expect(errs[0]).toMatchObject({ line: 4, message: 'YAML: Unresolved tag: !custom' });
  });

  it('reports an alias without an anchor, and bounds merge-key expansion', async () => {
    expect(await errors('services:\n  web: *nope\n')).toEqual([
      { file: 'web/compose.yaml', line: 2, column: 8, message: 'YAML: alias *nope names no anchor' },
    ]);
    // Nine levels stay under the bound on what aliases stand for (manifest-limits.test.ts), so that the
    // merge bound is the one that holds here.
    const levels = Array.from(
      { length: 9 },
      (_, i) => `x-a${i + 1}: &a${i + 1} {<<: [*a${i}, *a${i}, *a${i}]}`,
    );
    const bomb = [
      'x-a0: &a0 {restart: always}',
      ...levels,
      'services:',
      '  web: {<<: *a9, image: x}',
      '',
    ].join('\n');
    const errs = await errors(bomb);
    expect(errs.map((e) => e.message)).toEqual([
      'services.web: merge keys are nested too deeply or too many',
    ]);
  });

  it('requires an image (or a build) and checks types', async () => {
    const errs = await errors(`services:
  web:
    environment: 5
    init: maybe
    restart: sometimes
  db:
    image: [a]
`);
    expect(errs.map((e) => [e.line, e.column, e.message])).toEqual([
      [
        2,
        3,
        'services.web: set image (the image to run) or build (a folder of the config repo to build it from)',
      ],
      [3, 18, 'services.web.environment must be a list or a map'],
      [4, 11, 'services.web.init must be true or false'],
      [5, 14, 'services.web.restart must be no, always, on-failure[:N] or unless-stopped'],
      [7, 12, 'services.db.image must be a string'],
    ]);
  });
});

describe('loadStack: interpolation from .env', () => {
  it('interpolates values from the stack .env only', async () => {
    const s = await service(
      `services:
  app:
    image: "registry.local/app:\${TAG}"
    command: ["echo", "$GREETING", "$$HOME", "\${MISSING:-none}"]
    environment:
      URL: http://\${HOST}:\${PORT:-80}/
`,
      { 'web/.env': 'TAG=2.0\nGREETING="hi there"\nHOST=db\n' },
    );
    expect(s.image).toBe('registry.local/app:2.0');
    expect(s.command).toEqual(['echo', 'hi there', '$HOME', 'none']);
    expect(s.environment).toEqual({ URL: 'http://db:80/' });
  });

  it('reads an unset variable as an empty string, as compose does, with one warning at its first use', async () => {
    const stack = await load(
      'services:\n  app:\n    image: nginx\n    user: "${APP_USER}"\n    environment:\n      - U=${APP_USER}x\n',
    );
    expect(stack.services[0]!.user).toBe('');
    expect(stack.services[0]!.environment).toEqual({ U: 'x' });
    expect(stack.warnings).toEqual([
      {
        file: 'web/compose.yaml',
        line: 4,
        column: 11,
        message:
          'variable APP_USER is not set, so it reads as an empty string here (and at 1 more place); define it in web/.env, or write ${APP_USER:-} where an empty value is meant',
      },
    ]);
  });

  it('reports a :? message', async () => {
    const errs = await errors('services:\n  app:\n    image: "${IMAGE:?set IMAGE in web/.env}"\n', {
      'web/.env': 'IMAGE=\n',
    });
    expect(errs).toEqual([
      {
        file: 'web/compose.yaml',
        line: 3,
        column: 12,
        message: 'services.app.image: required variable IMAGE is missing a value: set IMAGE in web/.env',
      },
    ]);
  });

  it('reports .env syntax errors in the .env file', async () => {
    const errs = await errors('services:\n  app:\n    image: nginx\n', { 'web/.env': 'GOOD=1\nB@D=2\n' });
    expect(errs).toEqual([
      { file: 'web/.env', line: 2, column: 2, message: 'unexpected character "@" in variable name "B@D=2"' },
    ]);
  });

  it('types interpolated numbers and booleans by field', async () => {
    const s = await service(
      `services:
  app:
    image: x
    init: \${INIT}
    ports:
      - target: \${PORT}
        published: \${PORT}
`,
      { 'web/.env': 'INIT=true\nPORT=8080\n' },
    );
    expect(s.init).toBe(true);
    expect(s.ports).toEqual([{ hostIp: '', hostPort: '8080', containerPort: 8080, protocol: 'tcp' }]);
  });
});

describe('loadStack: normalization', () => {
  it('splits command and entrypoint strings like a shell, keeps lists as they are', async () => {
    const s = await service(`services:
  app:
    image: x
    command: sh -c 'echo "a  b"; sleep 1'
    entrypoint: ["/bin/tini", "--"]
`);
    expect(s.command).toEqual(['sh', '-c', 'echo "a  b"; sleep 1']);
    expect(s.entrypoint).toEqual(['/bin/tini', '--']);
  });

  it('reads short and long ports', async () => {
    const s = await service(`services:
  app:
    image: x
    ports:
      - 80
      - "8080:80"
      - "127.0.0.1:8443:443"
      - "5353:53/udp"
      - "8000-8001:90-91"
      - target: 9000
        published: "9001"
        host_ip: 0.0.0.0
        protocol: tcp
        mode: host
      - target: 9100
`);
    expect(s.ports).toEqual([
      { hostIp: '', hostPort: '', containerPort: 80, protocol: 'tcp' },
      { hostIp: '', hostPort: '8080', containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: '8443', containerPort: 443, protocol: 'tcp' },
      { hostIp: '', hostPort: '5353', containerPort: 53, protocol: 'udp' },
      { hostIp: '', hostPort: '8000', containerPort: 90, protocol: 'tcp' },
      { hostIp: '', hostPort: '8001', containerPort: 91, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: '9001', containerPort: 9000, protocol: 'tcp' },
      { hostIp: '', hostPort: '', containerPort: 9100, protocol: 'tcp' },
    ]);
  });

  it('reports bad long ports', async () => {
    const errs = await errors(`services:
  app:
    image: x
    ports:
      - published: 80
      - target: 0
      - target: 80
        protocol: icmp
        name: web
`);
    expect(errs.map((e) => [e.line, e.column, e.message])).toEqual([
      [5, 9, 'services.app.ports[0].target is required'],
      [6, 17, 'services.app.ports[1].target must be between 1 and 65535, not 0'],
      [8, 19, 'services.app.ports[2].protocol must be tcp, udp or sctp'],
      [9, 9, 'services.app.ports[2].name: Mooring does not support `name`'],
    ]);
  });

  it('merges env_file then environment, list and map forms', async () => {
    const files = {
      'web/.env': 'FROM_DOTENV=dot\n',
      'web/app.env': 'A=from-file\nB=from-file\n',
      'shared/common.env': 'C=common\nA=common\n',
    };
    const list = await service(
      `services:
  app:
    image: x
    env_file: [../shared/common.env, app.env, {path: ./optional.env, required: false}]
    environment:
      - B=override
      - EMPTY=
      - FROM_DOTENV
      - NOT_ANYWHERE
`,
      files,
    );
    expect(list.environment).toEqual({
      A: 'from-file',
      B: 'override',
      C: 'common',
      EMPTY: '',
      FROM_DOTENV: 'dot',
    });

    const map = await service(
      `services:
  app:
    image: x
    env_file: app.env
    environment:
      B: 2
      DEBUG: false
      FROM_DOTENV:
      NOT_ANYWHERE: null
`,
      files,
    );
    expect(map.environment).toEqual({ A: 'from-file', B: '2', DEBUG: 'false', FROM_DOTENV: 'dot' });
  });

  it('reports a missing required env_file and one outside the repo', async () => {
    const errs = await errors(`services:
  app:
    image: x
    env_file:
      - missing.env
      - ../../etc/passwd
      - /etc/passwd
`);
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [
        5,
        'services.app.env_file: web/missing.env does not exist in the config repo at this revision; commit it or mark it required: false',
      ],
      [
        6,
        'services.app.env_file: ../../etc/passwd must be a path inside the config repo, relative to the stack folder',
      ],
      [
        7,
        'services.app.env_file: /etc/passwd must be a path inside the config repo, relative to the stack folder',
      ],
    ]);
  });

  it('reads mounts: named, anonymous, host bind, repo files and folders, long syntax', async () => {
    const files = {
      'web/conf/app.conf': 'listen 80;',
      'web/conf/other': 'x',
      'shared/certs/a.pem': 'PEM',
    };
    const stack = await load(
      `services:
  app:
    image: x
    volumes:
      - data:/var/lib/data
      - /cache
      - /srv/app/logs/../logs:/logs:ro
      - ./conf/app.conf:/etc/app.conf:ro
      - ../shared/certs:/certs
      - type: volume
        source: ext
        target: /ext
        read_only: true
      - type: bind
        source: ./conf
        target: /conf
volumes:
  data:
  ext:
    external: true
    name: shared-ext
`,
      files,
      { ...DEFAULT_SAFETY, bindRoots: ['/srv/app/'] },
    );
    const oid = (text: string): string => createHash('sha1').update(text).digest('hex');
    expect(stack.services[0]!.mounts).toEqual([
      { type: 'volume', source: 'web_data', target: '/var/lib/data', readOnly: false },
      { type: 'volume', source: '', target: '/cache', readOnly: false },
      // The short syntax makes a missing host folder, as compose does (issue 11, item 5).
      { type: 'bind', source: '/srv/app/logs', target: '/logs', readOnly: true, createHostPath: true },
      {
        type: 'repo',
        repoPath: 'web/conf/app.conf',
        oid: oid('listen 80;'),
        objectType: 'blob',
        target: '/etc/app.conf',
        readOnly: true,
      },
      {
        type: 'repo',
        repoPath: 'shared/certs',
        oid: expect.stringMatching(/^[0-9a-f]{40}$/) as string,
        objectType: 'tree',
        target: '/certs',
        readOnly: false,
      },
      { type: 'volume', source: 'shared-ext', target: '/ext', readOnly: true },
      {
        type: 'repo',
        repoPath: 'web/conf',
        oid: expect.stringMatching(/^[0-9a-f]{40}$/) as string,
        objectType: 'tree',
        target: '/conf',
        readOnly: false,
      },
    ]);
    expect(stack.volumes).toEqual([
      {
        key: 'data',
        name: 'web_data',
        external: false,
        driver: 'local',
        labels: {
          'com.docker.compose.project': 'web',
          'com.docker.compose.volume': 'data',
          'dev.mooring.managed': 'true',
        },
      },
      { key: 'ext', name: 'shared-ext', external: true, driver: '', labels: {} },
    ]);
  });

  it('refuses mounts that are undeclared, escape the repo or are not in it', async () => {
    const errs = await errors(`services:
  app:
    image: x
    volumes:
      - data:/data
      - ../../outside:/o
      - ./missing.conf:/m
      - ./x:relative
      - type: npipe
        source: //./pipe/docker_engine
        target: /pipe
      - type: tmpfs
        source: /x
        target: /tmp
`);
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [
        5,
        'services.app.volumes[0]: volume "data" is not declared; add it under the top-level volumes, or write ./data for a folder of the repo',
      ],
      [6, 'services.app.volumes[1]: ../../outside points outside the config repo'],
      [
        7,
        'services.app.volumes[2]: ./missing.conf (web/missing.conf) does not exist in the config repo at this revision; a relative bind mount must name a file or folder committed to the repo',
      ],
      [8, 'services.app.volumes[3]: the target "relative" must be an absolute path in the container'],
      [
        9,
        'services.app.volumes[4]: type npipe mounts a Windows named pipe, which only a Windows engine running Windows containers has; use type bind for a Unix socket',
      ],
      [13, 'services.app.volumes[5].source: a tmpfs mount has no source'],
    ]);
  });

  it('keeps a relative bind that git does not hold in the stack folder under state/, as compose keeps it beside the file', async () => {
    const result = await loadStack({
      reader: repo({
        'web/compose.yaml':
          'services:\n  app:\n    image: x\n    volumes:\n      - ./data/:/data\n      - ./conf:/conf:ro,z\n',
        'web/conf/app.ini': 'x=1\n',
      }),
      stackDir: 'web',
      composeFile: 'web/compose.yaml',
      safety: DEFAULT_SAFETY,
      homeDir: '/home/me',
      stateDir: '/home/me/.mooring/state/homelab',
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(
      result.stack.services[0]!.mounts.map((m) => [m.type, 'source' in m ? m.source : m.target]),
    ).toEqual([
      ['bind', '/home/me/.mooring/state/homelab/web%2Fdata'],
      ['repo', '/conf'],
    ]);
    expect(result.stack.services[0]!.mounts[0]).toMatchObject({ createHostPath: true, readOnly: false });
    expect(result.stack.warnings).toEqual([
      expect.objectContaining({
        line: 5,
        message:
          'services.app.volumes[0]: ./data/ is not in the config repo, so it is kept on this machine in /home/me/.mooring/state/homelab/web%2Fdata across revisions (compose keeps it beside the compose file); commit it if its content belongs in git',
      }),
    ]);
  });

  it('reads networks with aliases and engine names', async () => {
    const stack = await load(`services:
  app:
    image: x
    networks:
      front:
        aliases: [www, app]
      default:
  db:
    image: y
    networks: [back]
networks:
  front:
    driver: overlay
    labels: {team: web}
  back:
    name: shared-back
  outside:
    external: true
`);
    expect(stack.services.map((s) => s.networks)).toEqual([
      [
        { name: 'web_default', aliases: ['app'] },
        { name: 'web_front', aliases: ['app', 'www'] },
      ],
      [{ name: 'shared-back', aliases: ['db'] }],
    ]);
    expect(stack.networks.map((n) => [n.key, n.name, n.external, n.driver, n.labels])).toEqual([
      [
        'default',
        'web_default',
        false,
        'bridge',
        {
          'com.docker.compose.project': 'web',
          'com.docker.compose.network': 'default',
          'dev.mooring.managed': 'true',
        },
      ],
      [
        'front',
        'web_front',
        false,
        'overlay',
        {
          team: 'web',
          'com.docker.compose.project': 'web',
          'com.docker.compose.network': 'front',
          'dev.mooring.managed': 'true',
        },
      ],
      [
        'back',
        'shared-back',
        false,
        'bridge',
        {
          'com.docker.compose.project': 'web',
          'com.docker.compose.network': 'back',
          'dev.mooring.managed': 'true',
        },
      ],
      ['outside', 'outside', true, '', {}],
    ]);
  });

  it('refuses undeclared networks and networks with network_mode', async () => {
    const errs = await errors(`services:
  app:
    image: x
    networks: [nope]
  db:
    image: y
    network_mode: bridge
    networks: [default]
`);
    expect(errs.map((e) => [e.line, e.column, e.message])).toEqual([
      [4, 16, 'services.app.networks: network "nope" is not declared; add it under the top-level networks'],
      [8, 5, 'services.db.networks: a service cannot have both network_mode and networks'],
    ]);
  });

  it('reads labels, restart, healthcheck and the small keys', async () => {
    const s = await service(`services:
  app:
    image: x
    labels: ["a=1", "b", "c=x=y"]
    restart: on-failure:3
    healthcheck:
      test: curl -f http://localhost/ || exit 1
      interval: 1m30s
      timeout: 500ms
      start_period: 1h
      retries: 5
    init: true
    working_dir: /app
    user: 1000
    hostname: app.local
    stop_grace_period: 1500ms
    container_name: my-app
    extra_hosts: ["b.local=10.0.0.2", "a.local:10.0.0.1", "v6.local=::1"]
`);
    expect(s).toMatchObject({
      labels: { a: '1', b: '', c: 'x=y' },
      restart: 'on-failure',
      healthcheck: {
        test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
        intervalNs: 90e9,
        timeoutNs: 5e8,
        startPeriodNs: 3600e9,
        retries: 5,
      },
      init: true,
      workingDir: '/app',
      user: '1000',
      hostname: 'app.local',
      stopGracePeriodSec: 2,
      containerName: 'my-app',
      extraHosts: ['a.local:10.0.0.1', 'b.local:10.0.0.2', 'v6.local:::1'],
    });
  });

  it('fills healthcheck defaults, keeps list tests, turns disable into NONE', async () => {
    const stack = await load(`services:
  a:
    image: x
    healthcheck: {test: ["CMD", "true"]}
  b:
    image: x
    healthcheck: {disable: true}
  c:
    image: x
    labels: {z: 1, y: true}
    extra_hosts: {db: 10.0.0.3}
`);
    expect(stack.services.map((s) => s.healthcheck)).toEqual([
      { test: ['CMD', 'true'], intervalNs: 30e9, timeoutNs: 30e9, retries: 3, startPeriodNs: 0 },
      { test: ['NONE'], intervalNs: 0, timeoutNs: 0, retries: 0, startPeriodNs: 0 },
      null,
    ]);
    expect(stack.services[2]!.labels).toEqual({ z: '1', y: 'true' });
    expect(stack.services[2]!.extraHosts).toEqual(['db:10.0.0.3']);
  });

  it('reports bad durations and reserved labels', async () => {
    const errs = await errors(`services:
  app:
    image: x
    stop_grace_period: 10
    healthcheck:
      interval: soon
    labels:
      dev.mooring.managed: "false"
`);
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [4, 'services.app.stop_grace_period must be a duration such as 10s, 1m30s or 500ms'],
      [6, 'services.app.healthcheck.interval must be a duration such as 10s, 1m30s or 500ms'],
      [
        8,
        'services.app.labels: label dev.mooring.managed is reserved; Mooring sets the com.docker.compose.* and dev.mooring.* labels itself',
      ],
    ]);
  });

  it('reads depends_on lists and maps', async () => {
    const stack = await load(`services:
  web:
    image: x
    depends_on:
      db: {condition: service_healthy, restart: true}
      cache:
      migrate: {condition: service_completed_successfully, required: false}
  api:
    image: x
    depends_on: [db]
  db: {image: x}
  cache: {image: x}
  migrate: {image: x}
`);
    expect(stack.services[0]!.dependsOn).toEqual([
      { service: 'cache', condition: 'service_started' },
      { service: 'db', condition: 'service_healthy' },
      { service: 'migrate', condition: 'service_completed_successfully' },
    ]);
    expect(stack.services[1]!.dependsOn).toEqual([{ service: 'db', condition: 'service_started' }]);
  });

  it('reports unknown dependencies, bad conditions and cycles', async () => {
    const errs = await errors(`services:
  a:
    image: x
    depends_on: [b, ghost]
  b:
    image: x
    depends_on:
      c: {condition: service_ready}
  c:
    image: x
    depends_on: [a]
`);
    expect(errs.map((e) => [e.line, e.column, e.message])).toEqual([
      [4, 21, 'services.a: depends on "ghost", which is not a service of this stack'],
      [
        8,
        22,
        'services.b.depends_on.c.condition must be one of service_started, service_healthy, service_completed_successfully',
      ],
      [11, 18, 'services.c: dependency cycle a → b → c → a'],
    ]);
  });

  it('refuses two services with one container name', async () => {
    const errs = await errors(
      'services:\n  a:\n    image: x\n    container_name: app\n  b:\n    image: x\n    container_name: app\n',
    );
    expect(errs).toEqual([
      {
        file: 'web/compose.yaml',
        line: 5,
        column: 3,
        message: 'services.b: container name app is already used by a',
      },
    ]);
  });

  it('makes network_mode service:x a dependency', async () => {
    const stack = await load(`services:
  vpn: {image: x}
  app:
    image: y
    network_mode: service:vpn
`);
    expect(stack.services[1]!.networkMode).toBe('service:vpn');
    expect(stack.services[1]!.networks).toEqual([]);
    expect(stack.services[1]!.dependsOn).toEqual([{ service: 'vpn', condition: 'service_started' }]);
    const errs = await errors('services:\n  app:\n    image: y\n    network_mode: "service:nope"\n');
    expect(errs[0]!.message).toBe('services.app: depends on "nope", which is not a service of this stack');
  });
});

describe('specHash', () => {
  const base = `services:
  app:
    image: nginx
    environment:
      A: "1"
      B: "2"
    volumes:
      - ./conf:/conf
    labels: {x: "1", y: "2"}
`;

  async function hash(
    compose: string,
    files: Record<string, string> = { 'web/conf/a': 'one' },
  ): Promise<string> {
    return specHash(await service(compose, files));
  }

  it('is a sha256 hex digest, stable for the same spec', async () => {
    const h = await hash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(await hash(base)).toBe(h);
  });

  it('ignores key order in the YAML', async () => {
    const reordered = `services:
  app:
    labels: {y: "2", x: "1"}
    volumes:
      - ./conf:/conf
    environment:
      B: "2"
      A: "1"
    image: nginx
`;
    expect(await hash(reordered)).toBe(await hash(base));
    const asList = base
      .replace('      A: "1"\n      B: "2"\n', '')
      .replace('environment:\n', 'environment: [B=2, A=1]\n');
    expect(await hash(asList)).toBe(await hash(base));
  });

  it('changes with an env value or the content of a mounted repo folder', async () => {
    const h = await hash(base);
    expect(await hash(base.replace('B: "2"', 'B: "3"'))).not.toBe(h);
    expect(await hash(base, { 'web/conf/a': 'two' })).not.toBe(h);
  });
});
