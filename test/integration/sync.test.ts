// The engine and CLI against a real Docker engine and a real smart-HTTP git server (issue 2's
// acceptance tests). Out-of-band changes are made with the docker CLI, as a person would.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunRecord, StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createRepo, type TestRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';

const haveDocker = await dockerOk();
if (!haveDocker)
  console.warn('SKIPPED sync tests: no Docker engine answers (run scripts/setup-test-env.sh as root).');

const web = (env: string, extra = ''): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    environment:
      GREETING: ${env}
    volumes:
      - ./conf/app.conf:/etc/app.conf:ro
  worker:
    image: local/busybox:1
    init: true
    command: sleep 3600
    depends_on: [app]
${extra}`;

const cache = `services:
  cache:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    ports:
      - "127.0.0.1::8080"
`;

type Status = { stacks: StackStatus[] };
const stack = (s: Status, name: string): StackStatus => {
  const found = s.stacks.find((x) => x.name === name);
  if (!found) throw new Error(`no stack ${name} in ${JSON.stringify(s.stacks.map((x) => x.name))}`);
  return found;
};
const service = (s: StackStatus, name: string) => s.services.find((x) => x.name === name)!;

describe.skipIf(!haveDocker)('sync against the real engine and git server', () => {
  let server: GitServer;
  let repo: TestRepo;
  let home: string;

  beforeAll(async () => {
    await removeStacks('itweb', 'itcache', 'itbroken');
    server = await startGitServer();
  });
  afterAll(async () => {
    await removeStacks('itweb', 'itcache', 'itbroken');
    await server.close();
  });
  beforeEach(async () => {
    await removeStacks('itweb', 'itcache', 'itbroken');
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-home-'));
    repo = await createRepo(server, `cfg-${Date.now()}`, {
      'itweb/compose.yaml': web('hello'),
      'itweb/conf/app.conf': 'version=1\n',
      'itcache/compose.yaml': cache,
    });
    return async () => {
      await rm(home, { recursive: true, force: true });
    };
  });

  it('adds an HTTP source, shows Missing, syncs to Synced and Healthy with the labels', async () => {
    const add = await mooring(home, ['source', 'add', 'cfg', repo.url]);
    expect(add.code, add.stderr).toBe(0);

    const before = await mooringJson<Status>(home, ['status']);
    expect(before.code).toBe(0);
    expect(stack(before, 'itweb').sync).toBe('Missing');
    expect(stack(before, 'itweb').services.map((s) => [s.name, s.sync, s.health])).toEqual([
      ['app', 'Missing', 'Missing'],
      ['worker', 'Missing', 'Missing'],
    ]);

    const sync = await mooring(home, ['sync']);
    expect(sync.code, sync.stderr).toBe(0);

    const after = await mooringJson<Status>(home, ['status']);
    for (const name of ['itweb', 'itcache']) {
      const s = stack(after, name);
      expect([s.sync, s.health], JSON.stringify(s.services)).toEqual(['Synced', 'Healthy']);
      expect(s.services.every((x) => x.sync === 'Synced' && x.health === 'Healthy')).toBe(true);
    }
    const app = await inspect('itweb-app-1');
    const head = stack(after, 'itweb').revision!;
    expect(app.Config.Labels).toMatchObject({
      'com.docker.compose.project': 'itweb',
      'com.docker.compose.service': 'app',
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
      'dev.mooring.managed': 'true',
      'dev.mooring.source': 'cfg',
      'dev.mooring.revision': head,
    });
    expect(app.Config.Labels['dev.mooring.spec-hash']).toMatch(/^[0-9a-f]{64}$/);
    // docker compose's own view of the project sees it.
    expect(
      await docker('ps', '--filter', 'label=com.docker.compose.project=itweb', '--format', '{{.Names}}'),
    ).toContain('itweb-worker-1');
    // A second sync has nothing to do.
    const again = await mooringJson<{ results: { plan: { actions: unknown[] } }[] }>(home, [
      'sync',
      '--dry-run',
    ]);
    expect(again.results.every((r) => r.plan.actions.length === 0)).toBe(true);
  });

  it('a pushed env change is drift on that field only; sync recreates only that container', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    await mooring(home, ['sync']);
    const workerBefore = (await inspect('itweb-worker-1')).Id;
    const appBefore = (await inspect('itweb-app-1')).Id;

    await repo.commit({ 'itweb/compose.yaml': web('bonjour') }, 'say bonjour');
    expect((await mooring(home, ['fetch'])).code).toBe(0);
    const diff = await mooringJson<Status>(home, ['diff']);
    expect(diff.code).toBe(1);
    const app = service(stack(diff, 'itweb'), 'app');
    expect(app.sync).toBe('OutOfSync');
    expect(app.reasons).toContainEqual({ path: 'environment.GREETING', desired: 'bonjour', live: 'hello' });
    expect(service(stack(diff, 'itweb'), 'worker').sync).toBe('Synced');

    const plan = await mooring(home, ['sync', 'itweb', '--dry-run']);
    expect(plan.stdout).toContain('recreate app');
    expect(plan.stdout).toContain('environment.GREETING');

    expect((await mooring(home, ['sync', 'itweb'])).code).toBe(0);
    expect((await mooring(home, ['diff'])).code).toBe(0);
    expect((await inspect('itweb-worker-1')).Id).toBe(workerBefore);
    expect((await inspect('itweb-app-1')).Id).not.toBe(appBefore);
    expect((await inspect('itweb-app-1')).Config.Env).toContain('GREETING=bonjour');
  });

  it('reports and repairs out-of-band stop and removal; a hand-made copy with our labels is reported, never removed', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    await mooring(home, ['sync']);
    await docker('stop', '-t', '1', 'itweb-worker-1');
    await docker('rm', '-f', 'itcache-cache-1');
    // Recreated by hand, copying every label (this home's instance id too) but with another env value.
    const app = await inspect('itweb-app-1');
    await docker('rm', '-f', 'itweb-app-1');
    const labels = Object.entries(app.Config.Labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      'itweb-app-1',
      '--network',
      'itweb_default',
      ...labels,
      '-e',
      'GREETING=tampered',
      'local/busybox:1',
      'sleep',
      '3600',
    );
    const impostor = (await inspect('itweb-app-1')).Id;

    const s = await mooringJson<Status>(home, ['status']);
    const worker = service(stack(s, 'itweb'), 'worker');
    expect(worker.sync).toBe('OutOfSync');
    expect(worker.reasons).toContainEqual(expect.objectContaining({ path: 'state', desired: 'running' }));
    expect(service(stack(s, 'itcache'), 'cache')).toMatchObject({ sync: 'Missing', health: 'Missing' });
    const tampered = service(stack(s, 'itweb'), 'app');
    expect(tampered.sync).toBe('OutOfSync');
    expect(tampered.reasons).toContainEqual({
      path: 'environment.GREETING',
      desired: 'hello',
      live: 'tampered',
    });
    expect(tampered.reasons).toContainEqual(expect.objectContaining({ path: 'owner' }));
    expect(stack(s, 'itweb').sync).toBe('OutOfSync');

    // Labels can be copied; what this home made cannot: the copy is left alone and the run says why.
    const sync = await mooring(home, ['sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(/itweb-app-1.*no record of making it: not ours, left alone/);
    expect((await inspect('itweb-app-1')).Id).toBe(impostor);
    const partly = await mooringJson<Status>(home, ['status']);
    expect(stack(partly, 'itcache').sync).toBe('Synced');

    await docker('rm', '-f', 'itweb-app-1');
    expect((await mooring(home, ['sync'])).code).toBe(0);
    const fixed = await mooringJson<Status>(home, ['status']);
    expect(fixed.stacks.map((x) => [x.name, x.sync])).toEqual([
      ['itcache', 'Synced'],
      ['itweb', 'Synced'],
    ]);
    expect((await inspect('itweb-app-1')).Config.Env).toContain('GREETING=hello');
  });

  it('a service removed in git is Orphaned; sync keeps it, --prune removes it, an unlabelled look-alike is untouched', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    await mooring(home, ['sync']);
    await docker('run', '-d', '--init', '--name', 'itweb-stranger-1', 'local/busybox:1', 'sleep', '3600');
    await repo.commit(
      { 'itweb/compose.yaml': web('hello').replace(/ {2}worker:[\s\S]*$/, '') },
      'drop worker',
    );
    await mooring(home, ['fetch']);

    const s = await mooringJson<Status>(home, ['status', 'itweb']);
    expect(service(stack(s, 'itweb'), 'worker').sync).toBe('Orphaned');
    expect(stack(s, 'itweb').sync).toBe('OutOfSync');

    await mooring(home, ['sync', 'itweb']);
    expect((await inspect('itweb-worker-1')).State.Running).toBe(true);

    const pruned = await mooring(home, ['sync', 'itweb', '--prune']);
    expect(pruned.code, pruned.stderr).toBe(0);
    await expect(inspect('itweb-worker-1')).rejects.toThrow();
    expect((await inspect('itweb-stranger-1')).State.Running).toBe(true);
    const after = await mooringJson<Status>(home, ['status', 'itweb']);
    expect(stack(after, 'itweb').sync).toBe('Synced');
  });

  it('broken manifests are reported with file:line:col and change nothing; a good stack still syncs', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    const cases: [string, RegExp][] = [
      ['services:\n  a:\n    image: [unclosed\n', /itbroken\/compose\.yaml:\d+:\d+/],
      [
        'services:\n  a:\n    image: local/busybox:1\n    deplyo: {}\n',
        /itbroken\/compose\.yaml:4:5.*deplyo/,
      ],
      ['services:\n  a:\n    image: local/busybox:${TAG}\n', /itbroken\/compose\.yaml:3:12.*TAG/],
      [
        'services:\n  a:\n    image: local/busybox:1\n    privileged: true\n',
        /itbroken\/compose\.yaml:4:\d+.*privileged/,
      ],
    ];
    for (const [content, expected] of cases) {
      await repo.commit({ 'itbroken/compose.yaml': content }, 'break it');
      await mooring(home, ['fetch']);
      const status = await mooring(home, ['status']);
      expect(status.code).toBe(4);
      expect(status.stdout).toMatch(expected);
      const sync = await mooring(home, ['sync']);
      expect(sync.code).toBe(4);
      expect(sync.stderr).toMatch(expected);
      expect(await docker('ps', '-aq', '--filter', 'label=com.docker.compose.project=itbroken')).toBe('');
      expect((await inspect('itweb-app-1')).State.Running).toBe(true);
    }
    const history = await mooringJson<{ runs: RunRecord[] }>(home, ['history', '--stack', 'itbroken']);
    expect(history.runs.length).toBe(cases.length);
    expect(history.runs.every((r) => r.result === 'failed' && /Invalid manifest/.test(r.error ?? ''))).toBe(
      true,
    );
  });

  it('with the remote down, status answers from the mirror and says the source is unreachable', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    await mooring(home, ['sync']);
    await server.stop();
    try {
      const fetch = await mooring(home, ['fetch']);
      expect(fetch.code).toBe(3);
      expect(fetch.stderr).toMatch(/Source "cfg".*unreachable/);
      const s = await mooringJson<Status>(home, ['status']);
      expect(s.code).toBe(3);
      expect(stack(s, 'itweb').sync).toBe('Synced');
      expect(stack(s, 'itweb').warnings.join(' ')).toMatch(
        /Source "cfg" is unreachable since .*showing the revision fetched/,
      );
      const human = await mooring(home, ['status']);
      expect(human.stdout).toContain('unreachable');
    } finally {
      await server.start();
    }
    expect((await mooring(home, ['fetch'])).code).toBe(0);
    expect((await mooring(home, ['status'])).code).toBe(0);
  });

  it('a change to a bind-mounted file is drift naming the file; sync recreates and the container sees it', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    await mooring(home, ['sync']);
    expect(await docker('exec', 'itweb-app-1', 'cat', '/etc/app.conf')).toBe('version=1');
    const workerBefore = (await inspect('itweb-worker-1')).Id;

    await repo.commit({ 'itweb/conf/app.conf': 'version=2\n' }, 'bump config');
    await mooring(home, ['fetch']);
    const diff = await mooringJson<Status>(home, ['diff', 'itweb']);
    expect(diff.code).toBe(1);
    const app = service(stack(diff, 'itweb'), 'app');
    expect(app.sync).toBe('OutOfSync');
    expect(app.reasons).toEqual([
      expect.objectContaining({
        path: 'volumes./etc/app.conf',
        desired: expect.stringContaining('itweb/conf/app.conf@') as string,
      }),
    ]);
    // Reading the new revision did not change what the running container sees.
    expect(await docker('exec', 'itweb-app-1', 'cat', '/etc/app.conf')).toBe('version=1');

    expect((await mooring(home, ['sync', 'itweb'])).code).toBe(0);
    expect(await docker('exec', 'itweb-app-1', 'cat', '/etc/app.conf')).toBe('version=2');
    expect((await inspect('itweb-worker-1')).Id).toBe(workerBefore);
    expect((await mooring(home, ['diff', 'itweb'])).code).toBe(0);
  });

  it('history and log work with the git server and the Docker engine both unreachable', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    await mooring(home, ['sync', 'itweb']);
    await repo.commit({ 'itweb/compose.yaml': web('hola') }, 'say hola');
    await mooring(home, ['fetch']);
    await mooring(home, ['sync', 'itweb']);
    await server.stop();
    const offline = { ...process.env, DOCKER_HOST: `unix://${path.join(home, 'no-such-docker.sock')}` };
    try {
      const history = await mooringJson<{ runs: RunRecord[] }>(home, ['history'], offline);
      expect(history.code).toBe(0);
      expect(history.runs.map((r) => [r.stack, r.result, r.trigger])).toEqual([
        ['itweb', 'succeeded', 'cli'],
        ['itweb', 'succeeded', 'cli'],
      ]);
      expect(history.runs[0]!.revision).not.toBe(history.runs[1]!.revision);
      const log = await mooringJson<{ commits: { message: string; stacks: string[] }[] }>(
        home,
        ['log'],
        offline,
      );
      expect(log.code).toBe(0);
      expect(log.commits.map((c) => c.message.trim())).toEqual(['say hola', 'initial commit']);
      expect(log.commits[0]!.stacks).toEqual(['itweb']);
      const status = await mooringJson<Status>(home, ['status'], offline);
      expect(status.code).toBe(3);
      expect(stack(status, 'itweb').sync).toBe('Unknown');
      expect(stack(status, 'itweb').warnings.join(' ')).toMatch(/Docker engine at unix:.* is unreachable/);
      const sync = await mooring(home, ['sync'], offline);
      expect(sync.code).toBe(3);
      expect(sync.stderr).toMatch(/Docker engine .* unreachable.*Start Docker/);
    } finally {
      await server.start();
    }
  });

  it('an image that is not present and cannot be pulled fails before anything of the stack changes', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    await repo.commit(
      { 'itweb/compose.yaml': web('hello', '  extra:\n    image: local/does-not-exist:1\n    init: true\n') },
      'add a service whose image is nowhere',
    );
    await mooring(home, ['fetch']);
    const sync = await mooring(home, ['sync', 'itweb']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(/Image "local\/does-not-exist:1" is not in the engine and cannot be pulled/);
    expect(await docker('ps', '-aq', '--filter', 'label=com.docker.compose.project=itweb')).toBe('');
    const history = await mooringJson<{ runs: RunRecord[] }>(home, ['history']);
    expect(history.runs[0]).toMatchObject({ stack: 'itweb', result: 'failed' });
  });

  it('a missing external network fails the run before anything changes, in the output and in history', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    const network = `itmissing-${Date.now()}`;
    await repo.commit(
      { 'itcache/compose.yaml': `${cache}networks:\n  default:\n    name: ${network}\n    external: true\n` },
      'use a network nobody created',
    );
    await mooring(home, ['fetch']);
    const sync = await mooring(home, ['sync', 'itcache']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain(`itcache: External network "${network}" does not exist`);
    expect(await docker('ps', '-aq', '--filter', 'label=com.docker.compose.project=itcache')).toBe('');
    const history = await mooringJson<{ runs: RunRecord[] }>(home, ['history']);
    expect(history.runs[0]).toMatchObject({ stack: 'itcache', result: 'failed', plan: [] });
    expect(history.runs[0]?.error).toContain(`docker network create ${network}`);
  });

  it('a source whose folder is gone at its tip is named; status still shows the other sources', async () => {
    await mooring(home, ['source', 'add', 'cfg', repo.url]);
    const team = await createRepo(server, `team-${Date.now()}`, {
      'team/itbroken/compose.yaml': cache.replace('cache:', 'job:'),
    });
    expect((await mooring(home, ['source', 'add', 'team', team.url, '--path', 'team'])).code).toBe(0);
    expect((await mooring(home, ['sync', 'itbroken'])).code).toBe(0);
    // The folder is renamed in git: what `--path` names is not there any more.
    await team.commit(
      {
        'team/itbroken/compose.yaml': null,
        'ops/itbroken/compose.yaml': cache.replace('cache:', 'job:'),
      },
      'move the stacks to ops/',
    );
    await mooring(home, ['fetch']);

    const json = await mooring(home, ['status', '--json']);
    expect(json.code).toBe(4);
    const report = JSON.parse(json.stdout) as Status & { unreadable: { source: string; error: string }[] };
    expect(report.stacks.map((s) => s.name).sort()).toEqual(['itcache', 'itweb']);
    expect(report.unreadable).toEqual([
      { source: 'team', error: expect.stringContaining('Folder "team" does not exist') as unknown },
    ]);
    const text = await mooring(home, ['status']);
    expect(text.stdout).toContain('itweb');
    expect(text.stderr).toContain('! Source "team" cannot be read, so its stacks are not shown');
    // Its running stack is not taken for one deleted in git.
    expect(text.stdout).not.toContain('itbroken');
    expect(await docker('ps', '-q', '--filter', 'label=com.docker.compose.project=itbroken')).not.toBe('');
  });
});
