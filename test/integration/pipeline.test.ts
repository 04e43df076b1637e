// The pipeline stages end to end (issue 5's acceptance tests), against the real engine and a git server
// that keeps what is pushed: build an image from an app repo, promote it into the config repo (with a
// concurrent commit and a conflicting one), let the controller deploy it, find the deploy note on the
// server and from a fresh home folder, roll back, resume, and revert.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { Engine } from '../../electron/engine/engine.ts';
import type { BuildAndPromoteResult } from '../../electron/engine/pipeline/pipeline.ts';
import type { PromoteResult } from '../../electron/engine/pipeline/promote.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import type { StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { EventLog, waitFor } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, createRepo, runGit, type LocalRepo, type TestRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';

const haveDocker = await dockerOk();
if (!haveDocker)
  console.warn('SKIPPED pipeline tests: no Docker engine answers (run scripts/setup-test-env.sh).');

const STACK = 'itpipe';
const IMAGE = 'mooring-it/pipe-app';
const POLL_MS = 5_000;
/** A poll, then a fetch and a sync: generous, as the shared 2-core CI machine can be slow. */
const POLL_AND_SYNC_MS = 2 * POLL_MS + 20_000;
const HOST = os.hostname();

// Paths named for this test, so that the intermediate images its builds leave (the classic builder
// keeps them as cache, without labels) can be told from anyone else's and removed afterwards.
const MARK = 'mooring-it-pipe';
const dockerfile = `FROM local/busybox:1
COPY . /${MARK}
RUN test -x /${MARK}/run.sh && test ! -e /${MARK}/secret.txt
CMD ["/${MARK}/run.sh"]
`;

const appFiles = (version: string): Record<string, string> => ({
  Dockerfile: dockerfile,
  '.dockerignore': 'secret.txt\n',
  'secret.txt': 'not for the image\n',
  'run.sh': '#!/bin/sh\nexec sleep 3600\n',
  'version.txt': `${version}\n`,
});

const compose = (image: string): string => `# the pipeline test stack
services:
  app:
    image: "${image}"   # written by mooring promote
    init: true
`;

describe.skipIf(!haveDocker)('pipeline stages against the real engine and git server', () => {
  let server: GitServer;
  let app: LocalRepo;
  let config: TestRepo;
  let home: string;
  let engine: Engine;
  let controller: Controller | null = null;
  /** What the controller said: printed when a test fails, to tell why it did (or did not) act. */
  const controllerLog = new EventLog();
  const homes: string[] = [];

  /** Commits on the server's main branch the way another person would: pull first, then push. */
  const upstream = async (files: Record<string, string>, message: string): Promise<string> => {
    await runGit(config.work, ['pull', '-q', '--rebase', 'origin', 'main']);
    return config.commit(files, message);
  };
  const serverGit = (...args: string[]): Promise<string> => runGit(config.bare, args);
  const running = (): Promise<string> => docker('inspect', '--format', '{{.Config.Image}}', `${STACK}-app-1`);
  const status = async (h = home): Promise<StackStatus> => {
    const s = await mooringJson<{ stacks: StackStatus[] }>(h, ['status', STACK]);
    return s.stacks.find((x) => x.name === STACK)!;
  };

  let v1: { tag: string; commit: string; id: string };
  let v2: { tag: string; commit: string; id: string };
  let promoteV1: PromoteResult;

  beforeAll(async () => {
    await removeStacks(STACK);
    await removeImages();
    server = await startGitServer();
    app = await createLocalRepo(appFiles('1'));
    // An executable file: its git mode must reach the image (the Dockerfile checks it).
    await chmod(path.join(app.path, 'run.sh'), 0o755);
    await app.commit({}, 'run.sh is executable');
    config = await createRepo(server, 'pipeline-config', {
      'mooring.yaml': `stacks:\n  ${STACK}: { sync: auto }\n`,
      [`${STACK}/compose.yaml`]: compose('local/busybox:1'),
      'README.md': 'config\n',
    });
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-pipe-home-'));
    homes.push(home);
    const add = await mooring(home, ['source', 'add', 'cfg', config.url]);
    expect(add.code, add.stderr).toBe(0);
    engine = await Engine.open({ home });
  });

  beforeEach(() => {
    onTestFailed(() => {
      if (controllerLog.events.length) console.log(`The controller said:\n${controllerLog.text()}`);
    });
  });

  afterAll(async () => {
    await controller?.stop();
    engine.close();
    await removeStacks(STACK);
    await removeImages();
    await server.close();
    for (const h of homes) await rm(h, { recursive: true, force: true });
    await rm(app.path, { recursive: true, force: true });
    await rm(config.work, { recursive: true, force: true });
  });

  it('builds an image from a local app repo, tagged with the app commit; a broken step is named', async () => {
    const commit = await runGit(app.path, ['rev-parse', 'HEAD']);
    const r = await mooring(home, ['build', app.path, '--tag', IMAGE]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const tag = `${IMAGE}:${commit.slice(0, 12)}`;
    // The engine's output streamed through, and the summary names tag and commit.
    expect(r.stdout).toMatch(/^Step 1\/\d+ : FROM local\/busybox:1$/m);
    expect(r.stdout).toContain(`Built ${tag} (sha256:`);
    const image = JSON.parse(await docker('image', 'inspect', tag)) as [
      { Id: string; Config: { Labels: Record<string, string> } },
    ];
    expect(image[0].Config.Labels).toMatchObject({
      'org.opencontainers.image.revision': commit,
      'dev.mooring.app-commit': commit,
    });
    v1 = { tag, commit, id: image[0].Id };
    const [build] = engine.listBuilds({ limit: 1 });
    expect(build).toMatchObject({ result: 'succeeded', commit, tag, imageId: v1.id, appRepo: app.path });
    expect(engine.getBuild(build!.id)?.log).toContain('Successfully tagged');

    // A broken step: the build fails, says which step, and history keeps it.
    const broken = await app.commit(
      { Dockerfile: dockerfile.replace('CMD', 'RUN echo about to fail && exit 3\nCMD') },
      'broken',
    );
    const failed = await mooringJson<BuildAndPromoteResult>(home, ['build', app.path, '--tag', IMAGE]);
    expect(failed.code).toBe(1);
    expect(failed.build).toMatchObject({
      result: 'failed',
      commit: broken,
      failedStep: { step: 4, instruction: 'RUN echo about to fail && exit 3' },
    });
    expect(failed.build.error).toMatch(
      /^Step 4\/\d+ \(RUN echo about to fail && exit 3\) failed: .*non-zero code: 3/,
    );
    expect(failed.stderr).toContain('about to fail');
    expect(engine.listBuilds({ limit: 1 })[0]).toMatchObject({ result: 'failed', failedStep: { step: 4 } });
    await app.commit(appFiles('2'), 'version 2');
  });

  it('builds from an http app repo at a tag, with a Dockerfile outside the context folder', async () => {
    const remote = await createRepo(server, 'pipeline-app', {
      'docker/Dockerfile': `FROM local/busybox:1\nCOPY hello.txt /${MARK}.txt\nRUN grep -q v7 /${MARK}.txt\n`,
      'site/hello.txt': 'v7\n',
    });
    await runGit(remote.work, ['tag', 'v7']);
    await runGit(remote.work, ['push', '-q', 'origin', 'v7']);
    await remote.commit({ 'site/hello.txt': 'v8\n' }, 'v8');
    const tagged = await runGit(remote.work, ['rev-parse', 'v7']);
    const r = await mooringJson<BuildAndPromoteResult>(home, [
      'build',
      remote.url,
      '--rev',
      'v7',
      '--context',
      'site',
      '--dockerfile',
      'docker/Dockerfile',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.build).toMatchObject({
      result: 'succeeded',
      commit: tagged,
      tag: `pipeline-app:${tagged.slice(0, 12)}`,
    });
    await docker('rmi', '-f', r.build.tag!);
    await rm(remote.work, { recursive: true, force: true });
  });

  it('promotes: one commit on the server whose diff is exactly the image line', async () => {
    const before = await serverGit('rev-parse', 'main');
    const r = await mooringJson<{ promote: PromoteResult }>(home, [
      'promote',
      STACK,
      'app',
      v1.tag,
      '--push',
    ]);
    expect(r.code, r.stderr).toBe(0);
    promoteV1 = r.promote;
    expect(promoteV1).toMatchObject({
      oldImage: 'local/busybox:1',
      newImage: v1.tag,
      pushed: true,
      parent: before,
    });
    expect(await serverGit('rev-parse', 'main')).toBe(promoteV1.commit);
    expect(await serverGit('diff', '--numstat', before, 'main')).toBe(`1\t1\t${STACK}/compose.yaml`);
    expect(await serverGit('diff', '-U0', before, 'main')).toContain(
      `-    image: "local/busybox:1"   # written by mooring promote\n+    image: "${v1.tag}"   # written by mooring promote`,
    );
    const message = await serverGit('log', '-1', '--format=%an <%ae>%n%B', 'main');
    expect(message).toContain('Mooring <mooring@localhost>');
    expect(message).toContain(`local/busybox:1 → ${v1.tag}`);
    // The image's labels told promote which app commit it holds.
    expect(message).toContain(`App commit: ${v1.commit}`);
    // Without --push an http source is left alone.
    const dry = await mooring(home, ['promote', STACK, 'app', 'other:1']);
    expect(dry.stdout).toContain('Nothing was written: add --push');
    expect(await serverGit('rev-parse', 'main')).toBe(promoteV1.commit);
  });

  it('pushes with the source token, and a refused push never shows the token', async () => {
    const secured = await startGitServer({ token: 'tok-s3cret' });
    try {
      const repo = await createRepo(secured, 'secured-config', {
        [`${STACK}/compose.yaml`]: compose('local/busybox:1'),
      });
      const h = await mkdtemp(path.join(os.tmpdir(), 'mooring-pipe-token-'));
      homes.push(h);
      const env = { ...process.env, CFG_TOKEN: 'tok-s3cret' };
      expect(
        (await mooring(h, ['source', 'add', 'sec', repo.url, '--token-env', 'CFG_TOKEN'], env)).code,
      ).toBe(0);
      const ok = await mooring(h, ['promote', STACK, 'app', 'local/busybox:2', '--push'], env);
      expect(ok.code, ok.stderr).toBe(0);
      expect(await runGit(repo.bare, ['show', `main:${STACK}/compose.yaml`])).toContain('local/busybox:2');
      const wrong = await mooring(h, ['promote', STACK, 'app', 'local/busybox:3', '--push'], {
        ...process.env,
        CFG_TOKEN: 'tok-wrong',
      });
      expect(wrong.code).toBe(3);
      expect(wrong.stderr).toMatch(/HTTP 401/);
      expect(wrong.stderr + wrong.stdout).not.toContain('tok-wrong');
      await rm(repo.work, { recursive: true, force: true });
    } finally {
      await secured.close();
    }
  });

  it('re-applies the change on top of a concurrent commit, and stops on a conflicting one', async () => {
    const raced = await engine.promote({
      stack: STACK,
      service: 'app',
      image: 'local/busybox:1',
      push: true,
      beforePublish: async ({ attempt }) => {
        if (attempt === 1) await upstream({ 'README.md': 'config, edited meanwhile\n' }, 'concurrent edit');
      },
    });
    expect(raced.attempts).toBe(2);
    expect(await serverGit('log', '--format=%s', '-2', 'main')).toBe(
      `Promote ${STACK}/app to local/busybox:1\nconcurrent edit`,
    );
    expect(await serverGit('diff', '--numstat', 'main~1', 'main')).toBe(`1\t1\t${STACK}/compose.yaml`);
    expect(await serverGit('show', 'main:README.md')).toBe('config, edited meanwhile');

    const tip = await serverGit('rev-parse', 'main');
    await expect(
      engine.promote({
        stack: STACK,
        service: 'app',
        image: v1.tag,
        push: true,
        beforePublish: async ({ attempt }) => {
          if (attempt === 1)
            await upstream({ [`${STACK}/compose.yaml`]: compose('hand/picked:9') }, 'hand-picked image');
        },
      }),
    ).rejects.toThrow(
      /changed upstream while promoting: itpipe\/compose.yaml had local\/busybox:1, the branch now has hand\/picked:9/,
    );
    expect(await serverGit('log', '-1', '--format=%s', 'main')).toBe('hand-picked image');
    expect(await serverGit('rev-list', '--count', `${tip}..main`)).toBe('1');
    // Put v1 back for what follows.
    await engine.promote({ stack: STACK, service: 'app', image: v1.tag, push: true });
  });

  it('with sync: auto, the controller runs a promoted build within one poll interval and notes the deploy', async () => {
    controller = new Controller(engine, { pollIntervalMs: POLL_MS, homeCheckMs: 200 });
    controller.subscribe(controllerLog.listener);
    await controller.start();
    await waitFor('v1 running', async () => (await running().catch(() => '')) === v1.tag);

    // Build v2 and promote it in one step, as a pipeline would.
    const r = await mooringJson<BuildAndPromoteResult>(home, [
      'build',
      app.path,
      '--tag',
      IMAGE,
      '--promote',
      `${STACK}/app`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const promoted = r.promote!.commit!;
    v2 = { tag: r.build.tag!, commit: r.build.commit!, id: r.build.imageId! };
    expect(await serverGit('rev-parse', 'main')).toBe(promoted);
    await waitFor('v2 running within one poll interval', async () => (await running()) === v2.tag, POLL_MS);
    // The container runs before the run is recorded as finished.
    const run = await waitFor('the auto run finished', () =>
      engine.history.runs
        .list({ stack: STACK, limit: 5 })
        .find((x) => x.revision === promoted && x.result !== 'running'),
    );
    expect(run).toMatchObject({ revision: promoted, trigger: 'auto', result: 'succeeded' });

    // The note is on that commit on the server.
    const note = await waitFor('the deploy note on the server', () =>
      serverGit('notes', '--ref=mooring', 'show', promoted).catch(() => ''),
    );
    const deploy = note
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((d) => d.runId === run.id);
    expect(deploy).toMatchObject({
      host: HOST,
      stack: STACK,
      trigger: 'auto',
      result: 'succeeded',
      images: [{ service: 'app', image: v2.tag, id: v2.id }],
    });

    // A fresh install fetching the same source sees the deploy, from the note alone.
    const fresh = await mkdtemp(path.join(os.tmpdir(), 'mooring-pipe-fresh-'));
    homes.push(fresh);
    expect((await mooring(fresh, ['source', 'add', 'cfg', config.url])).code).toBe(0);
    const log = await mooringJson<{
      commits: { id: string; deploys: { host: string; stack: string; runId: number; local: boolean }[] }[];
    }>(fresh, ['log']);
    expect(log.commits.find((c) => c.id === promoted)?.deploys).toContainEqual(
      expect.objectContaining({ host: HOST, stack: STACK, runId: run.id, local: false }),
    );
    expect((await mooring(fresh, ['log'])).stdout).toContain(`${STACK}@${HOST}`);
    // This home knows the run as its own, with the image ids its note recorded.
    const mine = (await engine.log({ limit: 5 })).find((c) => c.id === promoted)?.deploys;
    expect(mine).toContainEqual(
      expect.objectContaining({
        runId: run.id,
        local: true,
        images: [{ service: 'app', image: v2.tag, id: v2.id }],
      }),
    );

    // Syncing again deploys nothing, so it notes nothing: the commit keeps one line for this home.
    const again = await mooringJson<{
      results: { runId: number; note: { written: boolean; pushed: boolean | null } }[];
    }>(home, ['sync', STACK]);
    expect(again.results[0]?.note).toMatchObject({ written: false, pushed: null });
    expect(await serverGit('notes', '--ref=mooring', 'show', promoted)).toBe(note);

    // Two more installs note their first deploy of the same commit; the second's notes ref is behind
    // the server's by then (fetched before the first pushed): its push is rejected, it merges, and no
    // deploy is lost.
    const third = await mkdtemp(path.join(os.tmpdir(), 'mooring-pipe-third-'));
    homes.push(third);
    expect((await mooring(third, ['source', 'add', 'cfg', config.url])).code).toBe(0);
    const first = await mooringJson<{ results: { runId: number; note: { pushed: boolean } }[] }>(third, [
      'sync',
      STACK,
    ]);
    expect(first.results[0]?.note).toMatchObject({ pushed: true });
    const other = await mooringJson<{
      results: { runId: number; note: { pushed: boolean; error: string | null } }[];
    }>(fresh, ['sync', STACK]);
    expect(other.results[0]?.note).toMatchObject({ pushed: true, error: null });
    const all = (await serverGit('notes', '--ref=mooring', 'show', promoted))
      .split('\n')
      .map((l) => JSON.parse(l) as { runId: number });
    expect(all.map((d) => d.runId)).toEqual(
      expect.arrayContaining([run.id, first.results[0]!.runId, other.results[0]!.runId]),
    );
    expect(all).toHaveLength(3);
    expect(await serverGit('log', '-1', '--format=%s', 'refs/notes/mooring')).toBe(
      'Merge deploy notes from the remote',
    );
  });

  it('rolls back to the previous revision, suspended; resume returns to the tip; --revert commits it', async () => {
    const tip = await serverGit('rev-parse', 'main');
    const previous = await serverGit('rev-parse', 'main~1');
    await waitFor('no run in progress', () => engine.records.locks.holder('cfg', STACK) === undefined);
    expect(await serverGit('show', `${previous}:${STACK}/compose.yaml`)).toContain(v1.tag);
    const rb = await mooring(home, ['rollback', STACK, previous]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toContain(`Rolled back ${STACK} to ${previous.slice(0, 7)}`);
    expect(await running()).toBe(v1.tag);
    expect(engine.history.runs.list({ stack: STACK, limit: 1 })[0]).toMatchObject({
      trigger: 'rollback',
      revision: previous,
    });
    const suspended = await status();
    expect(suspended.suspended).toBe(true);
    expect((await mooring(home, ['status', STACK])).stdout).toContain('suspended');
    // The controller leaves it alone, even when told to look again.
    await controller!.fetchNow();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await running()).toBe(v1.tag);

    expect((await mooring(home, ['resume', STACK])).code).toBe(0);
    await waitFor('back at the tip after resume', async () => (await running()) === v2.tag, POLL_AND_SYNC_MS);
    expect(engine.history.runs.list({ stack: STACK, limit: 1 })[0]).toMatchObject({ revision: tip });

    // --revert: a commit on the server whose stack folder is as at `previous`; the controller deploys it.
    const rv = await mooringJson<{ rollback: { revert: { commit: string; undone: { id: string }[] } } }>(
      home,
      ['rollback', STACK, previous, '--revert'],
    );
    expect(rv.code, rv.stderr).toBe(0);
    const revert = rv.rollback.revert.commit;
    expect(await serverGit('rev-parse', 'main')).toBe(revert);
    expect(await serverGit('log', '-1', '--format=%s', 'main')).toBe(
      `Revert stack ${STACK} to ${previous.slice(0, 12)}`,
    );
    expect(await serverGit('rev-parse', `main:${STACK}`)).toBe(
      await serverGit('rev-parse', `${previous}:${STACK}`),
    );
    expect(await serverGit('diff', '--name-only', tip, 'main')).toBe(`${STACK}/compose.yaml`);
    expect(rv.rollback.revert.undone.map((c) => c.id)).toEqual([tip]);
    await waitFor('the revert deployed', async () => (await running()) === v1.tag, POLL_AND_SYNC_MS);
  });
});

/** The images this test built: tagged ones by name, intermediate ones by the paths their steps name. */
async function removeImages(): Promise<void> {
  const ids = (await docker('images', '-q', '--filter', `reference=${IMAGE}`)).split('\n').filter(Boolean);
  if (ids.length) await docker('rmi', '-f', ...new Set(ids)).catch(() => '');
  // Children before parents: a few passes, each removing what nothing else builds on any more.
  for (let pass = 0; pass < 5; pass++) {
    const untagged = (await docker('images', '-a', '--filter', 'dangling=true', '-q', '--no-trunc'))
      .split('\n')
      .filter(Boolean);
    const ours: string[] = [];
    for (const id of new Set(untagged)) {
      const cmd = await docker('image', 'inspect', '--format', '{{json .ContainerConfig.Cmd}}', id).catch(
        () => '',
      );
      if (cmd.includes(MARK) || cmd.includes('about to fail')) ours.push(id);
    }
    if (ours.length === 0) return;
    for (const id of ours) await docker('rmi', id).catch(() => '');
  }
}
