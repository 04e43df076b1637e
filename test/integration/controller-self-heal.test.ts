// The controller against the real engine and git server: self-heal of out-of-band changes, suspend,
// prune, and the drift records it leaves behind.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StackStatus } from '../../electron/shared/model.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller, type ControllerOptions } from '../../electron/engine/reconcile/controller.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { EventLog, UNIQUE, waitFor } from '../helpers/controller.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createRepo, type TestRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';

// Other sessions may run these tests at the same time against the same engine.
const S = UNIQUE;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED controller self-heal tests: no Docker engine answers.');

const STACKS = [`ctlheal${S}`, `ctlsusp${S}`, `ctlprune${S}`, `ctlkeep${S}`];

const FAST: ControllerOptions = {
  pollIntervalMs: 5_000,
  selfHealDebounceMs: 300,
  retryBaseMs: 500,
  reconnectMaxMs: 1_000,
  homeCheckMs: 200,
};

const two = (stack: string, greeting = 'hello'): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    environment:
      GREETING: ${greeting}
  worker:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    depends_on: [app]
# ${stack}
`;

const one = `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
`;

async function containersOf(project: string): Promise<string[]> {
  const out = await docker(
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--format',
    '{{.Names}} {{.State}}',
  );
  return out.split('\n').filter(Boolean).sort();
}

describe.skipIf(!haveDocker)('controller: self-heal, suspend and prune', () => {
  let server: GitServer;
  let repo: TestRepo;
  let home: string;
  let engine: Engine;
  let controller: Controller | null;
  let log: EventLog;

  const stack = (name: string): StackStatus | undefined =>
    controller?.snapshot().stacks.find((s) => s.name === name);
  const runs = (name: string) => engine.history.runs.list({ stack: name }).reverse();
  const startController = async (options: ControllerOptions = FAST): Promise<Controller> => {
    controller = new Controller(engine, options);
    controller.subscribe(log.listener);
    await controller.start();
    return controller;
  };
  // A look can see the containers in line a moment before the run that made them records its end.
  const synced = (name: string) =>
    waitFor(`${name} Synced and Healthy, its run ended`, () => {
      const s = stack(name);
      const ended = runs(name).every((r) => r.result !== 'running');
      return s?.sync === 'Synced' && s.health === 'Healthy' && ended ? s : null;
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
    repo = await createRepo(server, `ctl-heal-${Date.now()}`, {
      'mooring.yaml': `stacks:
  ctlheal${S}: { sync: auto, selfHeal: true }
  ctlsusp${S}: { sync: auto, selfHeal: true }
  ctlprune${S}: { sync: auto, selfHeal: true, prune: true }
  ctlkeep${S}: { sync: auto, selfHeal: true }
`,
      [`ctlheal${S}/compose.yaml`]: two(`ctlheal${S}`),
    });
    engine = await Engine.open({ home });
    await engine.addSource({ name: 'cfg', url: repo.url });
  });
  afterEach(async () => {
    await controller?.stop();
    // CTL_DEBUG=1 prints the controller's log, as `mooring watch` would, to see why a test failed.
    if (process.env.CTL_DEBUG) console.log(log.text());
    engine.close();
    await removeStacks(...STACKS);
    await rm(home, { recursive: true, force: true });
  });

  it('repairs docker stop and docker rm -f, and a hand-made look-alike is left alone, each as a self-heal run', async () => {
    await startController();
    await synced(`ctlheal${S}`);
    expect(runs(`ctlheal${S}`).map((r) => [r.trigger, r.result])).toEqual([['auto', 'succeeded']]);

    // 1. Stopped by hand.
    await docker('stop', '-t', '1', `ctlheal${S}-app-1`);
    await waitFor('drift seen', () => log.text().includes(`drift ctlheal${S}: app (state`));
    await waitFor('app running again', async () => (await inspect(`ctlheal${S}-app-1`)).State.Running);
    await synced(`ctlheal${S}`);

    // 2. Removed by hand.
    const workerBefore = (await inspect(`ctlheal${S}-worker-1`)).Id;
    await docker('rm', '-f', `ctlheal${S}-worker-1`);
    await waitFor('worker recreated', async () => {
      const w = await inspect(`ctlheal${S}-worker-1`).catch(() => null);
      return w?.State.Running && w.Id !== workerBefore;
    });
    await synced(`ctlheal${S}`);

    // 3. A hand-made look-alike with another env, carrying the stack's labels.
    const app = await inspect(`ctlheal${S}-app-1`);
    const labels = Object.entries(app.Config.Labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    await docker('rm', '-f', `ctlheal${S}-app-1`);
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      `ctlheal${S}-app-byhand`,
      '--network',
      `ctlheal${S}_default`,
      ...labels,
      '-e',
      'GREETING=tampered',
      'local/busybox:1',
      'sleep',
      '3600',
    );
    // Labels can be copied: the look-alike is not this home's, so it is left alone and named, and the
    // declared container is made beside it (issue 10).
    await waitFor('the declared container made beside the look-alike', async () => {
      const names = await containersOf(`ctlheal${S}`);
      return names.join(',') ===
        `ctlheal${S}-app-1 running,ctlheal${S}-app-byhand running,ctlheal${S}-worker-1 running`
        ? names
        : null;
    });
    expect((await inspect(`ctlheal${S}-app-1`)).Config.Env).toContain('GREETING=hello');
    const healed = await synced(`ctlheal${S}`);
    expect(healed.warnings.join('\n')).toMatch(new RegExp(`ctlheal${S}-app-byhand: .*not ours, left alone`));
    await docker('rm', '-f', `ctlheal${S}-app-byhand`);

    const all = runs(`ctlheal${S}`);
    expect(all[0]).toMatchObject({ trigger: 'auto', result: 'succeeded' });
    expect(all.slice(1).every((r) => r.trigger === 'self-heal')).toBe(true);
    expect(all.at(-1)!.result).toBe('succeeded');
    // One repair per incident, give or take one for the two-step hand-made change: no storm.
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(all.length).toBeLessThanOrEqual(6);

    // Every drift was recorded, and resolved by the run that repaired it.
    const drifts = engine.records.drifts.list({ stack: `ctlheal${S}` });
    expect(drifts.length).toBeGreaterThanOrEqual(3);
    expect(drifts.every((d) => d.resolvedAt !== null)).toBe(true);
    expect(drifts.filter((d) => /^run \d+$/.test(d.resolution ?? '')).length).toBeGreaterThanOrEqual(3);
  });

  it('a whole stack removed by hand at once (like `docker compose down`) is repaired by one run', async () => {
    await startController();
    await synced(`ctlheal${S}`);
    await docker('rm', '-f', `ctlheal${S}-app-1`, `ctlheal${S}-worker-1`);
    await waitFor('both back', async () => (await containersOf(`ctlheal${S}`)).length === 2);
    await synced(`ctlheal${S}`);
    // Once the repair has ended, the controller looks again, finds the stack in sync, and does nothing.
    const repair = await waitFor('the repair recorded', () =>
      runs(`ctlheal${S}`).find((r) => r.trigger === 'self-heal' && r.result !== 'running'),
    );
    const ended = log.events.findIndex(
      (e) => e.type === 'progress' && e.event.type === 'run-finished' && e.event.runId === repair.id,
    );
    expect(ended).toBeGreaterThanOrEqual(0);
    await log.letBe(
      'the repaired stack looked at and let be',
      (e) =>
        (e.type === 'look' || e.type === 'wake') &&
        e.stack === `ctlheal${S}` &&
        !e.facts.running &&
        e.facts.status.sync === 'Synced',
      ended,
    );
    expect(runs(`ctlheal${S}`).map((r) => [r.trigger, r.result])).toEqual([
      ['auto', 'succeeded'],
      ['self-heal', 'succeeded'],
    ]);
  });

  it('a suspended stack is left alone and shows as suspended; resume repairs it', async () => {
    await repo.commit({ [`ctlsusp${S}/compose.yaml`]: one }, `add ctlsusp${S}`);
    await engine.fetch();
    await startController();
    await synced(`ctlsusp${S}`);

    // From another process, as a person would.
    const suspend = await mooring(home, ['suspend', `ctlsusp${S}`, '--reason', 'maintenance']);
    expect(suspend.code, suspend.stderr).toBe(0);
    expect(suspend.stdout).toContain(`Suspended "ctlsusp${S}"`);
    await waitFor('the controller sees the suspension', () => stack(`ctlsusp${S}`)?.suspended);

    await docker('stop', '-t', '1', `ctlsusp${S}-app-1`);
    await waitFor('drift seen', () => stack(`ctlsusp${S}`)?.sync === 'OutOfSync');
    // The controller looked at the drift and did nothing: no run, and no timer for a self-heal later.
    await log.letBe(
      'the drift on the suspended stack looked at and let be',
      (e) =>
        e.type === 'look' &&
        e.stack === `ctlsusp${S}` &&
        !e.facts.running &&
        e.facts.suspended &&
        e.facts.status.sync === 'OutOfSync',
    );
    expect((await inspect(`ctlsusp${S}-app-1`)).State.Running).toBe(false);
    expect(runs(`ctlsusp${S}`)).toHaveLength(1);

    const json = await mooringJson<{ stacks: StackStatus[] }>(home, ['status', `ctlsusp${S}`]);
    expect(json.stacks[0]).toMatchObject({ name: `ctlsusp${S}`, sync: 'OutOfSync', suspended: true });
    const human = await mooring(home, ['status']);
    expect(human.stdout).toMatch(new RegExp(`ctlsusp${S} .*OutOfSync .*suspended \\(auto\\+self-heal\\)`));
    expect(human.stdout).toContain(`mooring resume ctlsusp${S}`);
    expect(stack(`ctlheal${S}`)?.suspended).toBe(false);

    const resume = await mooring(home, ['resume', `ctlsusp${S}`]);
    expect(resume.code).toBe(0);
    await waitFor('repaired after resume', async () => (await inspect(`ctlsusp${S}-app-1`)).State.Running);
    await synced(`ctlsusp${S}`);
    expect(runs(`ctlsusp${S}`).map((r) => r.trigger)).toEqual(['auto', 'self-heal']);
  });

  it('prunes only with prune: true, never down to zero containers of a stack git still has, and removes a deleted stack whose last policy said prune', async () => {
    await repo.commit(
      {
        [`ctlprune${S}/compose.yaml`]: two(`ctlprune${S}`),
        [`ctlkeep${S}/compose.yaml`]: two(`ctlkeep${S}`),
      },
      `add ctlprune${S} and ctlkeep${S}`,
    );
    await engine.fetch();
    await startController();
    await synced(`ctlprune${S}`);
    await synced(`ctlkeep${S}`);

    // A service removed in git: pruned where the policy says so, kept (Orphaned) where it does not.
    await repo.commit(
      { [`ctlprune${S}/compose.yaml`]: one, [`ctlkeep${S}/compose.yaml`]: one },
      'drop the workers',
    );
    await controller!.fetchNow();
    await waitFor(
      `ctlprune${S} worker pruned`,
      async () => (await containersOf(`ctlprune${S}`)).length === 1,
    );
    await synced(`ctlprune${S}`);
    // ctlkeep got the new revision too (app recreated), and kept its worker.
    await waitFor(`ctlkeep${S} synced but for its worker`, () => {
      const keep = stack(`ctlkeep${S}`);
      return (
        keep?.services.find((s) => s.name === 'app')?.sync === 'Synced' &&
        keep.services.find((s) => s.name === 'app')?.state === 'running' &&
        keep.services.find((s) => s.name === 'worker')?.sync === 'Orphaned'
      );
    });
    expect(await containersOf(`ctlkeep${S}`)).toEqual([
      `ctlkeep${S}-app-1 running`,
      `ctlkeep${S}-worker-1 running`,
    ]);

    // A stack that declares no service at all: prune would empty it, which it never does.
    await repo.commit({ [`ctlprune${S}/compose.yaml`]: 'services: {}\n' }, `empty ctlprune${S}`);
    await controller!.fetchNow();
    await waitFor('the refusal said', () => log.text().includes(`ctlprune${S} declares no service`));
    expect(await containersOf(`ctlprune${S}`)).toEqual([`ctlprune${S}-app-1 running`]);

    // The stack folders deleted in git: only the one whose last policy said prune goes.
    await repo.commit(
      { [`ctlprune${S}/compose.yaml`]: null, [`ctlkeep${S}/compose.yaml`]: null },
      'delete both',
    );
    await controller!.fetchNow();
    await waitFor(`ctlprune${S} removed`, async () => (await containersOf(`ctlprune${S}`)).length === 0);
    const last = await waitFor('the prune run recorded', () => {
      const run = runs(`ctlprune${S}`).at(-1);
      return run?.result === 'succeeded' && run.plan.some((a) => a.kind === 'remove') ? run : null;
    });
    expect(last.trigger).toBe('auto');
    // Its network goes with it; volumes would stay (data).
    expect(last.plan.map((a) => `${a.kind} ${a.target}`)).toEqual([
      'remove app',
      `remove-network ctlprune${S}_default`,
    ]);
    const networks = async (stack: string): Promise<string> =>
      docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${stack}`);
    expect(await networks(`ctlprune${S}`)).toBe('');
    await waitFor('the other one left alone, and said so', () =>
      log.text().includes(`ctlkeep${S} is no longer declared in git; left running`),
    );
    expect(await containersOf(`ctlkeep${S}`)).toHaveLength(2);
    expect(await networks(`ctlkeep${S}`)).not.toBe('');
  });
});
