// `build:` end to end (issue 11, item 2), against the real engine and a local config repo: the first
// sync builds from git and runs; nothing changed builds nothing; a commit in one context rebuilds and
// recreates only that service; a broken Dockerfile fails the run before anything of the stack changes,
// with the failing step named; two services of one build are built once; a tag moved out of band is
// drift, and is built again.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.ts';
import type { SyncResult } from '../../electron/engine/engine.ts';
import type { StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, runGit, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker)
  console.warn('SKIPPED compose build tests: no Docker engine answers (run scripts/setup-test-env.sh).');

const STACK = `itbuild${UNIQUE}`;
// In every Dockerfile, so that the intermediate images the classic builder leaves can be told apart.
const MARK = 'mooring-it-compose-build';

const dockerfile = (extra = ''): string => `FROM local/busybox:1
ARG GREETING=unset
RUN echo "$GREETING" > /${MARK}-greeting
COPY . /${MARK}
${extra}CMD ["sleep", "3600"]
`;

const compose = `services:
  app:
    image: ${STACK}-shared
    build:
      context: ./app
      args:
        GREETING: hello
    init: true
  worker:
    build:
      context: ./app
      args: [GREETING=hello]
    init: true
  web:
    build: ./web
    init: true
    depends_on: [app]
`;

describe.skipIf(!haveDocker)('build: in compose files, against the real engine', () => {
  let repo: LocalRepo;
  let home: string;
  let engine: Engine;

  const status = async (): Promise<StackStatus> => {
    const s = await mooringJson<{ stacks: StackStatus[] }>(home, ['status', STACK]);
    return s.stacks.find((x) => x.name === STACK)!;
  };
  // The last run, as history keeps it.
  const lastResult = (): SyncResult => {
    const [run] = engine.history.runs.list({ stack: STACK, limit: 1 });
    return {
      stack: STACK,
      source: 'cfg',
      revision: run?.revision ?? null,
      plan: run ? { source: 'cfg', stack: STACK, revision: run.revision, actions: run.plan } : null,
      runId: run?.id ?? null,
      result: run?.result === 'succeeded' ? 'succeeded' : 'failed',
      error: run?.error ?? null,
    };
  };
  const builds = (): number => engine.listBuilds({ appRepo: repo.path, limit: 1000 }).length;
  const ids = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const s of ['app', 'worker', 'web']) {
      out[s] = await docker('inspect', '--format', '{{.Id}}', `${STACK}-${s}-1`);
    }
    return out;
  };
  const imageOf = (service: string): Promise<string> =>
    docker('inspect', '--format', '{{.Config.Image}}', `${STACK}-${service}-1`);

  beforeAll(async () => {
    await removeStacks(STACK);
    await removeImages();
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: compose,
      [`${STACK}/app/Dockerfile`]: dockerfile(),
      [`${STACK}/app/main.sh`]: 'echo app v1\n',
      [`${STACK}/web/Dockerfile`]: dockerfile(),
      [`${STACK}/web/index.html`]: 'v1\n',
      'README.md': 'config\n',
    });
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-build-home-'));
    const add = await mooring(home, ['source', 'add', 'cfg', repo.path]);
    expect(add.code, add.stderr).toBe(0);
    engine = await Engine.open({ home });
  });

  afterAll(async () => {
    engine?.close();
    await removeStacks(STACK);
    await removeImages();
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  /**
   * Every image this test's builds made: names of the stack untagged (never by id: one of them is a
   * second name of local/busybox:1), then what Mooring built for the stack, by its label.
   */
  async function removeImages(): Promise<void> {
    const named = (await docker('images', '--format', '{{.Repository}}:{{.Tag}}', `${STACK}-*`))
      .split('\n')
      .filter(Boolean);
    if (named.length > 0) await docker('rmi', ...named).catch(() => '');
    const labelled = (await docker('images', '-q', '--filter', `label=dev.mooring.build-stack=${STACK}`))
      .split('\n')
      .filter(Boolean);
    if (labelled.length > 0) await docker('rmi', '-f', ...new Set(labelled)).catch(() => '');
    // What a failed build leaves as cache, untagged: found by the MARK its steps carry, children first.
    for (let pass = 0; pass < 5; pass++) {
      const untagged = (await docker('images', '-a', '--filter', 'dangling=true', '-q', '--no-trunc'))
        .split('\n')
        .filter(Boolean);
      const ours: string[] = [];
      for (const id of new Set(untagged)) {
        const cmd = await docker('image', 'inspect', '--format', '{{json .ContainerConfig.Cmd}}', id).catch(
          () => '',
        );
        if (cmd.includes(MARK)) ours.push(id);
      }
      if (ours.length === 0) return;
      for (const id of ours) await docker('rmi', id).catch(() => '');
    }
  }

  let first: Record<string, string>;

  it('the first sync builds from git (one build for the two services that share it) and runs', async () => {
    const before = await status();
    expect(before.services.map((s) => s.sync)).toEqual(['Missing', 'Missing', 'Missing']);
    const desired = before.services.find((s) => s.name === 'app')!.image.desired!;
    expect(desired).toMatch(new RegExp(`^mooring-build/${STACK}:[0-9a-f]{12}$`));

    const plan = await mooringJson<{ results: SyncResult[] }>(home, ['sync', STACK, '--dry-run']);
    const actions = plan.results[0]!.plan!.actions;
    const buildActions = actions.filter((a) => a.kind === 'build');
    expect(buildActions).toHaveLength(2);
    expect(buildActions.map((a) => a.reason).join('\n')).toContain('for app, worker');
    expect(actions.some((a) => a.kind === 'pull')).toBe(false);

    const r = await mooring(home, ['sync', STACK]);
    expect(r.code, r.stderr).toBe(0);
    // The CLI shows the build as it runs: its header, the engine's steps, the result.
    expect(r.stderr).toContain(`… build ${desired}: not built yet`);
    expect(r.stderr).toMatch(/\| Step 2\/\d+ : ARG GREETING=unset/);
    expect(r.stderr).toMatch(new RegExp(`✓ build ${desired.replace(/[/.]/g, '\\$&')}`));
    expect(builds()).toBe(2);

    const after = await status();
    expect(after.sync, JSON.stringify(after.services.map((s) => s.reasons))).toBe('Synced');
    expect(await imageOf('app')).toBe(desired);
    expect(await imageOf('worker')).toBe(desired);
    expect(await imageOf('web')).not.toBe(desired);
    // The argument reached the build; the context came from git.
    expect(await docker('exec', `${STACK}-app-1`, 'cat', `/${MARK}-greeting`)).toBe('hello');
    expect(await docker('exec', `${STACK}-web-1`, 'cat', `/${MARK}/index.html`)).toBe('v1');
    // Compose's names for the result: image: where given, else <project>-<service>.
    const id = await docker('image', 'inspect', '--format', '{{.Id}}', desired);
    expect(await docker('image', 'inspect', '--format', '{{.Id}}', `${STACK}-shared`)).toBe(id);
    expect(await docker('image', 'inspect', '--format', '{{.Id}}', `${STACK}-worker`)).toBe(id);
    const labels = JSON.parse(
      await docker('image', 'inspect', '--format', '{{json .Config.Labels}}', desired),
    ) as Record<string, string>;
    expect(labels).toMatchObject({
      'dev.mooring.build-stack': STACK,
      'org.opencontainers.image.revision': await gitHead(),
    });
    expect(labels['dev.mooring.build-hash']).toMatch(new RegExp(`^${desired.split(':')[1]}[0-9a-f]{52}$`));
    first = await ids();
  });

  it('builds nothing when nothing in a context changed, even at a new commit', async () => {
    const r = await mooring(home, ['sync', STACK]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('already in sync');
    await repo.commit({ 'README.md': 'config, edited\n' }, 'a file outside every context');
    const again = await mooring(home, ['sync', STACK]);
    expect(again.code, again.stderr).toBe(0);
    expect(lastResult().plan!.actions).toEqual([]);
    expect(builds()).toBe(2);
    expect(await ids()).toEqual(first);
  });

  it('a commit in one context rebuilds and recreates only the service that runs it', async () => {
    const webBefore = await imageOf('web');
    await repo.commit({ [`${STACK}/web/index.html`]: 'v2\n' }, 'web v2');
    const st = await status();
    const web = st.services.find((s) => s.name === 'web')!;
    expect(web.sync).toBe('OutOfSync');
    expect(web.reasons.map((x) => x.path)).toContain('image');
    expect(st.services.filter((s) => s.sync === 'Synced').map((s) => s.name)).toEqual(['app', 'worker']);

    const r = await mooring(home, ['sync', STACK]);
    expect(r.code, r.stderr).toBe(0);
    const actions = lastResult().plan!.actions;
    expect(actions.map((a) => `${a.kind} ${a.kind === 'build' ? 'image' : a.target}`)).toEqual([
      'build image',
      'recreate web',
    ]);
    expect(actions[0]!.reason).toContain(`changed since ${webBefore}`);
    expect(builds()).toBe(3);
    const now = await ids();
    expect(now.app).toBe(first.app);
    expect(now.worker).toBe(first.worker);
    expect(now.web).not.toBe(first.web);
    expect(await docker('exec', `${STACK}-web-1`, 'cat', `/${MARK}/index.html`)).toBe('v2');
    expect((await status()).sync).toBe('Synced');
    first = now;
  });

  it('a broken Dockerfile fails the run before anything of the stack changes, naming the step', async () => {
    await repo.commit(
      {
        [`${STACK}/app/Dockerfile`]: dockerfile('RUN echo about to fail && exit 3\n'),
        [`${STACK}/web/index.html`]: 'v3\n',
      },
      'a broken step, and a change that would recreate web',
    );
    const r = await mooring(home, ['sync', STACK]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /✗ build mooring-build\/\S+ \(\d+ ms\): build \d+ failed: Step 5\/\d+ \(RUN echo about to fail && exit 3\) failed/,
    );
    expect(r.stderr).toContain(`nothing of stack "${STACK}" was changed`);
    expect(await ids()).toEqual(first);

    const run = lastResult().runId!;
    const recorded = engine.history.runs.get(run)!;
    expect(recorded.run.result).toBe('failed');
    expect(recorded.run.error).toMatch(/Step 5\/\d+ \(RUN echo about to fail && exit 3\) failed/);
    const failed = recorded.actions.find((a) => a.result === 'failed')!;
    expect(failed.kind).toBe('build');
    // The services' actions never ran.
    expect(recorded.actions.filter((a) => a.kind === 'recreate').map((a) => a.result)).toEqual(
      expect.arrayContaining(['skipped']),
    );
    expect(recorded.actions.filter((a) => a.kind === 'recreate' && a.result !== 'skipped')).toEqual([]);
    // Its log is kept with the builds, the failed step with it.
    const build = engine.listBuilds({ appRepo: repo.path, limit: 1 })[0]!;
    expect(build).toMatchObject({ result: 'failed', failedStep: { step: 5 } });
    expect(engine.getBuild(build.id)!.log).toContain('about to fail');
  });

  it('a build tag moved out of band is drift, and the next sync builds it again', async () => {
    await repo.commit({ [`${STACK}/app/Dockerfile`]: dockerfile() }, 'fixed');
    let r = await mooring(home, ['sync', STACK]);
    expect(r.code, r.stderr).toBe(0);
    expect((await status()).sync).toBe('Synced');
    const tag = await imageOf('app');
    const count = builds();

    // Someone points the tag at another image: what the services run is no longer what git builds.
    await docker('tag', 'local/busybox:1', tag);
    const st = await status();
    expect(st.services.find((s) => s.name === 'app')!.reasons.map((x) => x.path)).toContain('image.id');
    r = await mooring(home, ['sync', STACK]);
    expect(r.code, r.stderr).toBe(0);
    const actions = lastResult().plan!.actions;
    expect(actions[0]).toMatchObject({ kind: 'build', target: tag });
    expect(actions[0]!.reason).toContain('did not make');
    expect(builds()).toBe(count + 1);
    expect(await docker('image', 'inspect', '--format', '{{.Id}}', tag)).not.toBe(
      await docker('image', 'inspect', '--format', '{{.Id}}', 'local/busybox:1'),
    );
    expect((await status()).sync).toBe('Synced');
  });

  it("gives the result compose's names, but never takes a name from an image it did not build", async () => {
    const busybox = await docker('image', 'inspect', '--format', '{{.Id}}', 'local/busybox:1');
    // A name another tool gave an image: a repo's image: must not be able to point it elsewhere.
    await docker('tag', 'local/busybox:1', `${STACK}-victim:1`);
    await repo.commit(
      {
        [`${STACK}/compose.yaml`]: `${compose}  guard:
    image: ${STACK}-victim:1
    build:
      context: ./web
      dockerfile_inline: |
        FROM local/busybox:1
        RUN echo inline > /${MARK}-inline
        CMD ["sleep", "3600"]
    init: true
`,
      },
      'a service whose image: names an image that is not ours',
    );
    const r = await mooring(home, ['sync', STACK]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`not tagged ${STACK}-victim:1: that name holds an image`);
    expect(await docker('image', 'inspect', '--format', '{{.Id}}', `${STACK}-victim:1`)).toBe(busybox);
    // The service runs its build all the same, made from the inline Dockerfile.
    expect(await imageOf('guard')).toMatch(/^mooring-build\//);
    expect(await docker('exec', `${STACK}-guard-1`, 'cat', `/${MARK}-inline`)).toBe('inline');
    expect((await status()).sync).toBe('Synced');
  });

  const gitHead = (): Promise<string> => runGit(repo.path, ['rev-parse', 'HEAD']);
});
