// The controller and git: a git server that goes away (the last revision keeps being enforced), a
// source whose folder is gone at a new head (its last stacks are kept and enforced), a bad
// commit on an auto stack (recorded once, nothing touched, the next good commit syncs), and a local
// source whose new commits are seen on disk without waiting for a poll.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SourceState, StackStatus } from '../../electron/shared/model.ts';
import { Engine } from '../../electron/engine/engine.ts';
import {
  Controller,
  type ControllerOptions,
  type DecideEvent,
} from '../../electron/engine/reconcile/controller.ts';
import { mooring } from '../helpers/cli.ts';
import { EventLog, sleep, SLOW_STACK, UNIQUE, waitFor } from '../helpers/controller.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, createRepo, runGit, type TestRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';

// Other sessions may run these tests at the same time against the same engine.
const S = UNIQUE;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED controller git tests: no Docker engine answers.');

const STACKS = [`ctlgit${S}`, `ctlbad${S}`, `ctllocal${S}`, `ctlmanual${S}`, `ctlretry${S}`, `ctlmid${S}`];

const FAST: ControllerOptions = {
  pollIntervalMs: 5_000,
  selfHealDebounceMs: 300,
  retryBaseMs: 500,
  reconnectMaxMs: 1_000,
  homeCheckMs: 200,
};

const app = (greeting: string): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    environment:
      GREETING: ${greeting}
`;

const POLICY = `stacks:
  ctlgit${S}: { sync: auto, selfHeal: true }
  ctlbad${S}: { sync: auto, selfHeal: true }
  ctllocal${S}: { sync: auto, selfHeal: true }
`;

const greeting = async (container: string): Promise<string | undefined> =>
  (await inspect(container)).Config.Env.find((e) => e.startsWith('GREETING='))?.slice('GREETING='.length);

describe.skipIf(!haveDocker)('controller: git faults and bad commits', () => {
  let server: GitServer;
  let home: string;
  let engine: Engine;
  let controller: Controller | null;
  let log: EventLog;
  const cleanup: string[] = [];

  const stack = (name: string): StackStatus | undefined =>
    controller?.snapshot().stacks.find((s) => s.name === name);
  const runs = (name: string) => engine.history.runs.list({ stack: name }).reverse();
  const startController = async (options: ControllerOptions = FAST): Promise<Controller> => {
    controller = new Controller(engine, options);
    controller.subscribe(log.listener);
    await controller.start();
    return controller;
  };
  const synced = (name: string) =>
    waitFor(`${name} Synced and Healthy`, () => {
      const s = stack(name);
      return s?.sync === 'Synced' && s.health === 'Healthy' ? s : null;
    });

  beforeAll(async () => {
    await removeStacks(...STACKS);
    server = await startGitServer();
  });
  afterAll(async () => {
    await removeStacks(...STACKS);
    await server.close();
  });
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-ctl-home-'));
    log = new EventLog();
    controller = null;
    engine = await Engine.open({ home });
  });
  afterEach(async () => {
    await controller?.stop();
    // CTL_DEBUG=1 prints the controller's log, as `mooring watch` would, to see why a test failed.
    if (process.env.CTL_DEBUG) console.log(log.text());
    engine.close();
    await removeStacks(...STACKS);
    await rm(home, { recursive: true, force: true });
    for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('with the git server stopped: unreachable since a time, self-heal goes on from the last revision, new commits come once it is back', async () => {
    const repo: TestRepo = await createRepo(server, `ctl-git-${Date.now()}`, {
      'mooring.yaml': POLICY,
      [`ctlgit${S}/compose.yaml`]: app('one'),
    });
    await engine.addSource({ name: 'cfg', url: repo.url });
    await startController();
    await synced(`ctlgit${S}`);
    const first = stack(`ctlgit${S}`)!.revision;

    await server.stop();
    let restarted = false;
    try {
      await controller!.fetchNow();
      const down = controller!.snapshot().sources[0]!;
      expect(down.lastError).toMatch(/Source "cfg".*unreachable/);
      expect(down.failingSince).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(log.events).toContainEqual(
        expect.objectContaining({
          type: 'source',
          source: expect.objectContaining({ lastError: expect.any(String) as string }) as SourceState,
        }),
      );
      await waitFor('the status says how stale it is', () =>
        stack(`ctlgit${S}`)?.warnings.some((w) =>
          /Source "cfg" is unreachable since .*showing the revision/.test(w),
        ),
      );

      // A commit lands while the server is down (pushed to its folder): nothing can see it yet.
      await repo.commit({ [`ctlgit${S}/compose.yaml`]: app('two') }, 'say two');
      await controller!.fetchNow();
      const still = controller!.snapshot().sources[0]!;
      expect(still.failingSince).toBe(down.failingSince);

      // The last fetched revision is still enforced.
      await docker('stop', '-t', '1', `ctlgit${S}-app-1`);
      await waitFor(
        'healed with the server down',
        async () => (await inspect(`ctlgit${S}-app-1`)).State.Running,
      );
      await synced(`ctlgit${S}`);
      expect(await greeting(`ctlgit${S}-app-1`)).toBe('one');
      expect(runs(`ctlgit${S}`).map((r) => [r.trigger, r.result, r.revision])).toEqual([
        ['auto', 'succeeded', first],
        ['self-heal', 'succeeded', first],
      ]);

      await server.start();
      restarted = true;
      await controller!.fetchNow();
      expect(controller!.snapshot().sources[0]).toMatchObject({ lastError: null, failingSince: null });
      await waitFor('the new commit deployed', async () => (await greeting(`ctlgit${S}-app-1`)) === 'two');
      await synced(`ctlgit${S}`);
      expect(runs(`ctlgit${S}`).at(-1)).toMatchObject({ trigger: 'auto', result: 'succeeded' });
      expect(runs(`ctlgit${S}`).at(-1)!.revision).not.toBe(first);
    } finally {
      if (!restarted) await server.start();
    }
  });

  it('a source whose folder is gone at the new head keeps its last stacks enforced, and says so', async () => {
    const repo: TestRepo = await createRepo(server, `ctl-path-${Date.now()}`, {
      'team/mooring.yaml': POLICY,
      [`team/ctlgit${S}/compose.yaml`]: app('one'),
    });
    await engine.addSource({ name: 'team', url: repo.url, path: 'team' });
    await startController();
    await synced(`ctlgit${S}`);
    const first = stack(`ctlgit${S}`)!.revision;

    // The folder is renamed in git: nothing of it may read as "every stack was deleted".
    await repo.commit(
      {
        'team/mooring.yaml': null,
        [`team/ctlgit${S}/compose.yaml`]: null,
        'ops/mooring.yaml': POLICY,
        [`ops/ctlgit${S}/compose.yaml`]: app('two'),
      },
      'move to ops/',
    );
    await controller!.fetchNow();
    await waitFor('the controller said so', () =>
      log.text().includes('source team cannot be read (Folder "team" does not exist'),
    );
    expect(stack(`ctlgit${S}`)?.revision).toBe(first);
    // The last stacks read are still enforced.
    await docker('stop', '-t', '1', `ctlgit${S}-app-1`);
    await waitFor(
      'healed from the last revision read',
      async () => (await inspect(`ctlgit${S}-app-1`)).State.Running,
    );
    expect(await greeting(`ctlgit${S}-app-1`)).toBe('one');
    expect(runs(`ctlgit${S}`).every((r) => r.plan.every((a) => a.kind !== 'remove'))).toBe(true);
  });

  it('a bad commit on an auto stack: recorded once per revision, containers left as they were, the next good commit syncs', async () => {
    const repo = await createRepo(server, `ctl-bad-${Date.now()}`, {
      'mooring.yaml': POLICY,
      [`ctlbad${S}/compose.yaml`]: app('good'),
    });
    await engine.addSource({ name: 'cfg', url: repo.url });
    await startController();
    await synced(`ctlbad${S}`);
    const before = await inspect(`ctlbad${S}-app-1`);

    const bad = await repo.commit(
      { [`ctlbad${S}/compose.yaml`]: `${app('bad')}    deplyo: {}\n` },
      'an unknown key: invalid',
    );
    await controller!.fetchNow();
    await waitFor('the invalid revision recorded', () =>
      runs(`ctlbad${S}`).find((r) => r.revision === bad && r.result === 'failed'),
    );
    await waitFor('status shows the manifest error', () => stack(`ctlbad${S}`)?.errors.length);
    expect(stack(`ctlbad${S}`)!.sync).toBe('Unknown');
    expect(stack(`ctlbad${S}`)!.errors[0]!.message).toMatch(/deplyo/);

    // More fetches, a refresh, an engine event on the stack, a restarted controller: still one record.
    // Each time, the controller looks at the bad revision and does nothing.
    const atBadHead = (e: DecideEvent): boolean =>
      e.type === 'look' &&
      e.stack === `ctlbad${S}` &&
      !e.facts.running &&
      e.facts.head === bad &&
      e.facts.target?.valid === false;
    await controller!.fetchNow();
    await controller!.refresh();
    const paused = log.events.length;
    await docker('pause', `ctlbad${S}-app-1`);
    await docker('unpause', `ctlbad${S}-app-1`);
    await log.letBe('the pause looked at and let be', atBadHead, paused);
    await controller!.stop();
    const restarted = log.events.length;
    await startController();
    await log.letBe(
      'the restarted controller looked at the bad revision and let it be',
      atBadHead,
      restarted,
    );
    const atBad = runs(`ctlbad${S}`).filter((r) => r.revision === bad);
    expect(atBad).toHaveLength(1);
    expect(atBad[0]).toMatchObject({ trigger: 'auto', result: 'failed' });
    expect(atBad[0]!.error).toMatch(
      new RegExp(`Invalid manifest, nothing applied[\\s\\S]*ctlbad${S}/compose\\.yaml:\\d+:\\d+`),
    );
    expect(log.lines().filter((l) => l.includes('invalid manifest, nothing applied'))).toHaveLength(1);

    // The running container was left alone.
    const during = await inspect(`ctlbad${S}-app-1`);
    expect(during.Id).toBe(before.Id);
    expect(during.State.Running).toBe(true);
    expect(await greeting(`ctlbad${S}-app-1`)).toBe('good');

    const good = await repo.commit({ [`ctlbad${S}/compose.yaml`]: app('fixed') }, 'fix it');
    await controller!.fetchNow();
    await waitFor('the good commit deployed', async () => (await greeting(`ctlbad${S}-app-1`)) === 'fixed');
    await synced(`ctlbad${S}`);
    expect(
      runs(`ctlbad${S}`).map((r) => [r.trigger, r.result, r.revision === bad, r.revision === good]),
    ).toEqual([
      ['auto', 'succeeded', false, false],
      ['auto', 'failed', true, false],
      ['auto', 'succeeded', false, true],
    ]);
  });

  it('a failing auto stack says what the controller will do and when: retry 2 of 5 at a time (issue 13, item 8)', async () => {
    const repo = await createRepo(server, `ctl-retry-${Date.now()}`, {
      'mooring.yaml': `stacks:\n  ctlretry${S}: { sync: auto }\n`,
      // Not on this engine and no registry answers: the run fails before anything changes.
      [`ctlretry${S}/compose.yaml`]: 'services:\n  app:\n    image: local/nosuch-image:1\n',
    });
    await engine.addSource({ name: 'cfg', url: repo.url });
    const before = Date.now();
    await startController({ ...FAST, retryBaseMs: 60_000, retryMaxMs: 60_000 });
    const pending = await waitFor('a retry pending', () => stack(`ctlretry${S}`)?.pending ?? null);
    expect(pending).toMatchObject({ what: 'retry', attempt: 2, of: 5 });
    // Due about one backoff after the failure, not now and not never.
    const at = Date.parse(pending.at);
    expect(at).toBeGreaterThan(before + 30_000);
    expect(at).toBeLessThan(Date.now() + 61_000);
    expect(runs(`ctlretry${S}`).map((r) => r.result)).toEqual(['failed']);
  });

  it('on a manual stack it only watches: drift is recorded, and resolved by "desired state changed" when git catches up', async () => {
    const extra = '  extra:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n';
    const repo = await createRepo(server, `ctl-manual-${Date.now()}`, {
      'mooring.yaml': POLICY,
      [`ctlmanual${S}/compose.yaml`]: app('m') + extra,
    });
    await engine.addSource({ name: 'cfg', url: repo.url });
    const [deployed] = await engine.sync({ stacks: [`ctlmanual${S}`] });
    expect(deployed?.result).toBe('succeeded');
    await startController();
    await synced(`ctlmanual${S}`);

    // Removed by hand; then git decides it is not wanted after all.
    await docker('rm', '-f', `ctlmanual${S}-extra-1`);
    const open = await waitFor('the drift recorded', () =>
      engine.records.drifts.list({ stack: `ctlmanual${S}`, open: true }).find((d) => d.service === 'extra'),
    );
    expect(stack(`ctlmanual${S}`)!.sync).toBe('OutOfSync');
    await repo.commit({ [`ctlmanual${S}/compose.yaml`]: app('m') }, 'no more extra');
    await controller!.fetchNow();
    await synced(`ctlmanual${S}`);
    const resolved = engine.records.drifts.list({ stack: `ctlmanual${S}` }).find((d) => d.id === open.id);
    expect(resolved!.resolution).toMatch(/^desired state changed \(revision [0-9a-f]{7}\)$/);
    // Manual: the controller made no run of its own.
    expect(runs(`ctlmanual${S}`).map((r) => r.trigger)).toEqual(['cli']);
  });

  it('a commit to a local source is seen on disk, long before the next poll', async () => {
    const local = await createLocalRepo({ 'mooring.yaml': POLICY, [`ctllocal${S}/compose.yaml`]: app('a') });
    // Removed after the controller stopped: until then, runs write deploy notes into its .git.
    cleanup.push(local.path);
    await engine.addSource({ name: 'local', url: local.path });
    // Polling once a minute: only the watch on the repo's refs can see the commit in time.
    await startController({ ...FAST, pollIntervalMs: 60_000 });
    await synced(`ctllocal${S}`);
    await sleep(300);
    const committed = Date.now();
    await local.commit({ [`ctllocal${S}/compose.yaml`]: app('b') }, 'say b');
    const fetched = await waitFor(
      'the commit seen',
      () =>
        log.events.find((e) => e.type === 'log' && e.kind === 'fetch' && e.message.includes('1 new commit')),
      10_000,
    );
    await waitFor('deployed', async () => (await greeting(`ctllocal${S}-app-1`)) === 'b', 10_000);
    // Not a timed assert (the benchmark measures): the poll is a minute away, so this is the watch.
    expect(fetched.type === 'log' ? Date.parse(fetched.at) - committed : Infinity).toBeLessThan(10_000);
  });

  it('every kind of ref update to a local source is seen on disk: commits, amend, plumbing, gc, a new branch folder, reset, a folder removed and made again (issue 14, item 2)', async () => {
    const name = `ctlrefs${S}`;
    const local = await createLocalRepo({
      'mooring.yaml': `stacks:\n  ${name}: { sync: manual }\n`,
      [`${name}/compose.yaml`]: app('0'),
    });
    cleanup.push(local.path);
    await engine.addSource({ name: 'local', url: local.path });
    // Polling once a minute: only the watch on the repo's refs sees these in time.
    await startController({ ...FAST, pollIntervalMs: 60_000 });
    const git = (...args: string[]) => runGit(local.path, args);
    const seen = async (what: string): Promise<void> => {
      const head = (await git('rev-parse', 'HEAD')).trim();
      await waitFor(`${what} seen`, () => (stack(name)?.revision === head ? true : null), 10_000);
    };
    let n = 0;
    const edit = () => writeFile(path.join(local.path, name, 'compose.yaml'), app(String(++n)));
    await seen('the first commit');
    for (let i = 0; i < 2; i++) {
      await edit();
      await git('commit', '-qam', `commit ${n}`);
      await seen(`commit ${n}`);
    }
    await edit();
    await git('commit', '-q', '--amend', '-am', 'amended');
    await seen('--amend');
    // As `mooring promote` and other tools do: a commit object, then the ref moved.
    const tree = (await git('rev-parse', 'HEAD^{tree}')).trim();
    await git(
      'update-ref',
      'refs/heads/main',
      (await git('commit-tree', tree, '-p', 'HEAD', '-m', 'plumbing')).trim(),
    );
    await seen('update-ref');
    await git('gc', '-q'); // the branch moves into packed-refs
    await edit();
    await git('commit', '-qam', 'after gc');
    await seen('a commit after gc');
    // A branch in a folder that did not exist when the watch began.
    await git('checkout', '-qb', 'feature/x');
    await edit();
    await git('commit', '-qam', 'on feature/x');
    await seen('a commit on a new branch feature/x');
    await edit();
    await git('commit', '-qam', 'again on feature/x');
    await seen('a second commit on feature/x');
    await git('reset', '-q', '--hard', 'HEAD~1');
    await seen('reset --hard');
    // Git removes the folder feature/ with its last branch; a branch there later is a new folder.
    await git('checkout', '-q', 'main');
    await seen('back on main');
    await git('branch', '-qD', 'feature/x');
    await git('checkout', '-qb', 'feature/y');
    await edit();
    await git('commit', '-qam', 'on feature/y');
    await seen('a commit on feature/y, in a folder made again');
    await edit();
    await git('commit', '-qam', 'again on feature/y');
    await seen('a second commit on feature/y');
  });

  it('a commit pushed to an http source is fetched within seconds of the push: its branch is asked for often, and fetched only when it moved (issue 14)', async () => {
    const repo = await createRepo(server, `ctl-refs-${Date.now()}`, {
      'mooring.yaml': POLICY,
      [`ctlgit${S}/compose.yaml`]: app('one'),
    });
    await engine.addSource({ name: 'cfg', url: repo.url });
    // Polling once a minute, the ref check on its default: only the check can see the push in time.
    await startController({ ...FAST, pollIntervalMs: 60_000 });
    await synced(`ctlgit${S}`);
    const fetches = () => log.events.filter((e) => e.type === 'log' && e.kind === 'fetch').length;
    const before = fetches();
    // A check or more, and nothing moved: no fetch.
    await sleep(6_000);
    expect(fetches()).toBe(before);

    const pushed = Date.now();
    await repo.commit({ [`ctlgit${S}/compose.yaml`]: app('two') }, 'say two');
    const fetched = await waitFor(
      'the push seen',
      () =>
        log.events.find((e) => e.type === 'log' && e.kind === 'fetch' && e.message.includes('1 new commit')),
      20_000,
    );
    await waitFor('deployed', async () => (await greeting(`ctlgit${S}-app-1`)) === 'two', 20_000);
    // Not a timed assert (the benchmark measures): the poll is a minute away, so this is the check.
    expect(fetched.type === 'log' ? Date.parse(fetched.at) - pushed : Infinity).toBeLessThan(20_000);
    expect(fetches()).toBe(before + 1);
  });

  it('a commit fetched by another process while a run applies is deployed by the run after it', async () => {
    const name = `ctlmid${S}`;
    const repo = await createRepo(server, `ctl-mid-${Date.now()}`, {
      'mooring.yaml': `stacks:\n  ${name}: { sync: auto, selfHeal: true }\n`,
      [`${name}/compose.yaml`]: SLOW_STACK,
    });
    await engine.addSource({ name: 'cfg', url: repo.url });
    await startController();
    // The first run waits ~3 s for `slow` to be healthy: the commit lands and is fetched meanwhile.
    await waitFor('the first run applying', () => engine.records.locks.holder('cfg', name) !== undefined);
    const second = await repo.commit(
      {
        [`${name}/compose.yaml`]: SLOW_STACK.replace(
          'command: ["sleep", "3600"]',
          'command: ["sleep", "3601"]',
        ),
      },
      'sleep a second longer',
    );
    // `mooring fetch` from another process on the same home folder, as `rollback --revert` does.
    const fetched = await mooring(home, ['fetch', 'cfg']);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout).toContain(second.slice(0, 7));
    expect(engine.records.locks.holder('cfg', name), 'the first run still applied').toBeDefined();
    const deployed = await waitFor(
      'the new commit deployed',
      () =>
        engine.history.runs
          .list({ stack: name })
          .find((r) => r.revision === second && r.result === 'succeeded'),
      30_000,
    );
    // Said as a new revision, not as a change made by hand.
    expect(log.text()).toContain(`${name} @ ${second.slice(0, 7)}: the new revision differs from what runs`);
    expect(log.text()).not.toContain(`drift ${name}`);
    expect(deployed.trigger).toBe('auto');
    expect(await docker('inspect', '--format', '{{json .Config.Cmd}}', `${name}-after-1`)).toBe(
      '["sleep","3601"]',
    );
  });
});
