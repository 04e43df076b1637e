// Stacks as Swarm services (issue 15), on a single-node swarm made here (`docker swarm init
// --advertise-addr 127.0.0.1`) and left at the end: deploy with docker stack's labels, scale drift and
// its heal, a rolling update, a failing update that Swarm rolls back, prune, history, and a stack
// that stays containers on the manager. Test files run one at a time: no other test sees the swarm.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord, StackStatus } from '../../electron/shared/model.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks, removeSwarmStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker)
  console.warn('SKIPPED Swarm tests: no Docker engine answers (run scripts/setup-test-env.sh as root).');

const STACK = `swm${UNIQUE}`;
const PLAIN = `swmplain${UNIQUE}`;
const HEAL = `swmheal${UNIQUE}`;
const SECRET = `swmsec${UNIQUE}`;
const BUILT = `swmbuild${UNIQUE}`;
const EXT = `swmext${UNIQUE}`;
const EXTC = `swmextc${UNIQUE}`;
/** Made on the swarm by hand, as `docker secret create` and `docker config create` do. */
const EXT_PW = `extpw${UNIQUE}`;
const EXT_CFG = `extcfg${UNIQUE}`;
// `name:` beside `external: true`, and the legacy `external: {name: …}`.
const WITH_EXTERNAL = `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    secrets: [db_pw]
    configs: [{ source: shared, target: /etc/shared }]
secrets:
  db_pw: { external: true, name: ${EXT_PW} }
configs:
  shared: { external: { name: ${EXT_CFG} } }
`;
const WITH_FILES = `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    secrets: [{ source: token, mode: 0400 }]
    configs: [{ source: motd, target: /etc/motd }]
secrets:
  token: { file: ./token.txt }
configs:
  motd: { content: "hello from git" }
`;

function compose(opts: { env: string; command?: string; worker?: boolean }): string {
  return `services:
  web:
    image: local/busybox:1
    init: true
    command: ${opts.command ?? '["sleep", "3600"]'}
    environment:
      A: "${opts.env}"
    deploy:
      replicas: 2
      labels:
        team: edge
      update_config:
        parallelism: 1
        delay: 0s
        monitor: 3s
        failure_action: rollback
      rollback_config:
        parallelism: 2
        monitor: 1s
      restart_policy:
        condition: on-failure
        delay: 1s
${
  opts.worker === false
    ? ''
    : `  worker:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
`
}`;
}

async function serviceField(name: string, format: string): Promise<string> {
  return (await docker('service', 'inspect', '--format', format, name)).trim();
}

async function runningTasks(name: string): Promise<number> {
  const out = await docker(
    'service',
    'ps',
    '--filter',
    'desired-state=running',
    '--format',
    '{{.CurrentState}}',
    name,
  );
  return out.split('\n').filter((l) => l.startsWith('Running')).length;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe.skipIf(!haveDocker)('stacks as Swarm services on a manager', () => {
  let madeSwarm = false;
  let base: string;
  let repo: LocalRepo;
  let home: string;

  const status = async (name = STACK): Promise<StackStatus> => {
    const s = await mooringJson<{ stacks: StackStatus[] }>(home, ['status', name]);
    return s.stacks[0]!;
  };

  beforeAll(async () => {
    const state = (await docker('info', '--format', '{{.Swarm.LocalNodeState}}')).trim();
    if (state !== 'active') {
      await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
      madeSwarm = true;
    }
    base = await mkdtemp(path.join(os.tmpdir(), 'mooring-swarm-'));
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: compose({ env: '1' }),
      [`${PLAIN}/compose.yaml`]:
        'services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n',
      [`${HEAL}/compose.yaml`]: compose({ env: 'h', worker: false }),
      [`${SECRET}/compose.yaml`]: WITH_FILES,
      [`${SECRET}/token.txt`]: 'first-token',
      [`${BUILT}/compose.yaml`]: 'services:\n  app:\n    build: ./app\n    init: true\n',
      [`${EXT}/compose.yaml`]: WITH_EXTERNAL,
      [`${EXTC}/compose.yaml`]: WITH_EXTERNAL,
      [`${BUILT}/app/Dockerfile`]:
        'FROM local/busybox:1\nRUN echo built-from-git > /made\nCMD ["sleep", "3600"]\n',
      'mooring.yaml': `stacks:\n  ${PLAIN}:\n    mode: containers\n  ${HEAL}: { sync: auto, selfHeal: true }\n  ${EXTC}: { mode: containers }\n`,
    });
    home = path.join(base, 'home');
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await removeSwarmStacks(STACK, HEAL, SECRET, BUILT, EXT).catch(() => undefined);
    await docker('secret', 'rm', EXT_PW).catch(() => '');
    await docker('config', 'rm', EXT_CFG).catch(() => '');
    const built = (await docker('images', '-q', '--filter', `label=dev.mooring.build-stack=${BUILT}`))
      .split('\n')
      .filter(Boolean);
    if (built.length > 0) await docker('rmi', '-f', ...new Set(built)).catch(() => '');
    await removeStacks(PLAIN, EXTC);
    if (madeSwarm) await docker('swarm', 'leave', '--force').catch(() => '');
    await rm(base, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  }, 120_000);

  it('deploys services with docker stack’s labels; a scale made by hand is drift, and a sync heals it', async () => {
    const sync = await mooring(home, ['sync', STACK]);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    // `docker stack` sees Mooring's stack: its services, and their tasks.
    const services = await docker('stack', 'services', '--format', '{{.Name}} {{.Replicas}}', STACK);
    expect(services.trim().split('\n').sort()).toEqual([`${STACK}_web 2/2`, `${STACK}_worker 1/1`]);
    expect((await docker('stack', 'ps', '-q', STACK)).trim().split('\n')).toHaveLength(3);
    expect(await serviceField(`${STACK}_web`, '{{index .Spec.Labels "team"}}')).toBe('edge');
    expect(await serviceField(`${STACK}_web`, '{{.Spec.UpdateConfig.FailureAction}}')).toBe('rollback');
    // Overlay network as docker stack makes it.
    expect(
      (await docker('network', 'inspect', '--format', '{{.Driver}} {{.Scope}}', `${STACK}_default`)).trim(),
    ).toBe('overlay swarm');
    let st = await status();
    expect([st.sync, st.health]).toEqual(['Synced', 'Healthy']);
    expect(st.services.find((s) => s.name === 'web')!.replicas).toEqual({ desired: 2, running: 2 });

    await docker('service', 'scale', '--detach', `${STACK}_web=3`);
    st = await status();
    expect(st.sync).toBe('OutOfSync');
    expect(st.services.find((s) => s.name === 'web')!.reasons).toEqual([
      { path: 'replicas', desired: '2', live: '3' },
    ]);
    // Nothing else drifts: Swarm's own defaults are not taken for changes.
    expect(st.services.find((s) => s.name === 'worker')!.sync).toBe('Synced');

    const heal = await mooringJson<{ results: { plan: { actions: { kind: string; target: string }[] } }[] }>(
      home,
      ['sync', STACK],
    );
    expect(heal.results[0]!.plan.actions.map((a) => [a.kind, a.target])).toEqual([['scale', 'web']]);
    await waitFor('2 tasks of web', async () => (await runningTasks(`${STACK}_web`)) === 2);
    expect((await status()).sync).toBe('Synced');
  });

  it('a change in git is a rolling update; a failing one is rolled back by Swarm and fails the run with its reason', async () => {
    await repo.commit({ [`${STACK}/compose.yaml`]: compose({ env: '2' }) }, 'web: A=2');
    const update = await mooringJson<{
      results: {
        result: string;
        error: string | null;
        plan: { actions: { kind: string; target: string; reason: string }[] };
      }[];
    }>(home, ['sync', STACK]);
    expect(update.code, JSON.stringify(update.results)).toBe(0);
    expect(update.results[0]!.plan.actions.map((a) => [a.kind, a.target, a.reason])).toEqual([
      ['recreate', 'web', 'rolling update: environment'],
    ]);
    expect(await serviceField(`${STACK}_web`, '{{json .Spec.TaskTemplate.ContainerSpec.Env}}')).toBe(
      '["A=2"]',
    );
    expect((await status()).sync).toBe('Synced');

    await repo.commit(
      { [`${STACK}/compose.yaml`]: compose({ env: '2', command: '["sh", "-c", "exit 3"]' }) },
      'web: broken',
    );
    const broken = await mooring(home, ['sync', STACK]);
    expect(broken.code).not.toBe(0);
    expect(broken.stdout + broken.stderr).toContain('Swarm rolled it back');
    // Swarm went back to the spec that ran: still the sleeping web, with A=2.
    expect(await serviceField(`${STACK}_web`, '{{json .Spec.TaskTemplate.ContainerSpec.Args}}')).toBe(
      '["sleep","3600"]',
    );
    const st = await status();
    expect(st.sync).toBe('OutOfSync');
    expect(st.services.find((s) => s.name === 'web')!.reasons.map((r) => r.path)).toEqual(['args']);
  });

  it('prunes the services git no longer declares; history has every run', async () => {
    await repo.commit(
      { [`${STACK}/compose.yaml`]: compose({ env: '2', worker: false }) },
      'no worker, web fixed',
    );
    const sync = await mooring(home, ['sync', '--prune', STACK]);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    expect((await docker('stack', 'services', '--format', '{{.Name}}', STACK)).trim()).toBe(`${STACK}_web`);
    expect((await status()).sync).toBe('Synced');
    const { runs } = await mooringJson<{ runs: RunRecord[] }>(home, ['history', '--stack', STACK]);
    expect(runs.map((r) => r.result)).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded', 'succeeded']);
    // web is as git has it already: Swarm's rollback put back the spec git now declares again.
    expect(runs[0]!.plan.map((a) => [a.kind, a.target])).toEqual([['remove', 'worker']]);
  });

  it('puts secrets and configs in the swarm named by their content; a changed secret rolls the service onto a new one and the old one goes', async () => {
    const secrets = async (): Promise<string[]> =>
      (
        await docker(
          'secret',
          'ls',
          '--format',
          '{{.Name}}',
          '--filter',
          `label=com.docker.stack.namespace=${SECRET}`,
        )
      )
        .split('\n')
        .filter(Boolean);
    const read = async (file: string): Promise<string> => {
      const id = (
        await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${SECRET}_app`)
      ).split('\n')[0]!;
      return (await docker('exec', id, 'cat', file)).trim();
    };
    const sync = await mooring(home, ['sync', SECRET]);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    const [first] = await secrets();
    expect(first).toMatch(new RegExp(`^${SECRET}_token_[0-9a-f]{12}$`));
    expect(await read('/run/secrets/token')).toBe('first-token');
    expect(await read('/etc/motd')).toBe('hello from git');
    expect((await status(SECRET)).sync).toBe('Synced');

    await repo.commit({ [`${SECRET}/token.txt`]: 'second-token' }, 'rotate the token');
    const st = await status(SECRET);
    expect(st.sync).toBe('OutOfSync');
    expect(st.services[0]!.reasons.map((r) => r.path)).toEqual(['secrets']);
    const rotate = await mooringJson<{ results: { plan: { actions: { kind: string }[] } }[] }>(home, [
      'sync',
      SECRET,
    ]);
    expect(rotate.code, JSON.stringify(rotate.results)).toBe(0);
    expect(rotate.results[0]!.plan.actions.map((a) => a.kind)).toEqual([
      'create-secret',
      'recreate',
      'remove-secret',
    ]);
    const now = await secrets();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(first);
    await waitFor(
      'the new token in the task',
      async () => (await read('/run/secrets/token').catch(() => '')) === 'second-token',
    );
    expect((await status(SECRET)).sync).toBe('Synced');
    // The secret's bytes went to the engine only: the history database never holds them.
    expect((await readFile(path.join(home, 'mooring.db'))).includes('second-token')).toBe(false);
  });

  it('a stack deleted in git shows as such; pruning it removes its services, network, secret and config', async () => {
    await repo.commit({ [`${SECRET}/compose.yaml`]: null, [`${SECRET}/token.txt`]: null }, 'no secret stack');
    const st = await status(SECRET);
    expect([st.sync, st.deletedInGit, st.services.map((s) => s.sync)]).toEqual([
      'Orphaned',
      true,
      ['Orphaned'],
    ]);
    const engine = await Engine.open({ home });
    try {
      const [pruned] = await engine.pruneDeleted('cfg');
      expect(pruned!.error).toBeNull();
      expect(pruned!.plan!.actions.map((a) => a.kind).sort()).toEqual([
        'remove',
        'remove-config',
        'remove-network',
        'remove-secret',
      ]);
    } finally {
      engine.close();
    }
    // Swarm removes a service at once and stops its tasks after (their grace period); the overlay
    // network goes from this node once the last one has stopped, as after `docker stack rm`.
    for (const kind of ['service', 'secret', 'config', 'network'])
      await waitFor(
        `no ${kind} of the stack`,
        async () =>
          (
            await docker(kind, 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${SECRET}`)
          ).trim() === '',
      );
    const after = await mooringJson<{ stacks: StackStatus[] }>(home, ['status']);
    expect(after.stacks.map((s) => s.name)).not.toContain(SECRET);
  });

  it('builds an image from git for a swarm of one node, before anything of the stack changes', async () => {
    const sync = await mooringJson<{ results: { plan: { actions: { kind: string; level: number }[] } }[] }>(
      home,
      ['sync', BUILT],
    );
    expect(sync.code, JSON.stringify(sync.results)).toBe(0);
    expect(sync.results[0]!.plan.actions.map((a) => [a.kind, a.level])).toEqual([
      ['build', -1],
      ['create-network', 0],
      ['create', 1],
    ]);
    const id = (
      await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${BUILT}_app`)
    ).split('\n')[0]!;
    expect((await docker('exec', id, 'cat', '/made')).trim()).toBe('built-from-git');
    expect((await status(BUILT)).sync).toBe('Synced');
    // Built once: the next sync finds the image and has nothing to do.
    const again = await mooringJson<{ results: { plan: { actions: unknown[] } }[] }>(home, ['sync', BUILT]);
    expect(again.results[0]!.plan.actions).toEqual([]);
  });

  it('uses an external secret and config by their name on the swarm, never changing or removing them; one not there is refused with what to do', async () => {
    const services = async (): Promise<string> =>
      (await docker('service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${EXT}`)).trim();
    // What someone put on the swarm is read into a container only where this machine allows it.
    const unallowed = await mooring(home, ['sync', EXT]);
    expect(unallowed.code).toBe(4);
    expect(unallowed.stderr).toContain(`mooring source trust cfg --external-secret ${EXT_PW}`);
    const trust = await mooring(home, [
      'source',
      'trust',
      'cfg',
      '--external-secret',
      EXT_PW,
      '--external-secret',
      EXT_CFG,
    ]);
    expect(trust.code, trust.stderr).toBe(0);

    const refused = await mooring(home, ['sync', EXT]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `External secret "${EXT_PW}" is not on the swarm: create it first (docker secret create ${EXT_PW} FILE).`,
    );
    expect(refused.stderr).toContain(`External config "${EXT_CFG}" is not on the swarm`);
    expect(await services()).toBe('');

    const file = path.join(base, 'made-by-hand');
    await writeFile(file, 'made-by-hand');
    // One Mooring made for a stack (it changes and goes with that stack's files) is not taken.
    await docker(
      'secret',
      'create',
      '--label',
      'dev.mooring.managed=true',
      '--label',
      'com.docker.stack.namespace=other',
      EXT_PW,
      file,
    );
    const made = await mooring(home, ['sync', EXT]);
    expect(made.code).toBe(1);
    expect(made.stderr).toContain(`External secret "${EXT_PW}" was made by Mooring for stack other`);
    await docker('secret', 'rm', EXT_PW);
    await docker('secret', 'create', EXT_PW, file);
    await docker('config', 'create', EXT_CFG, file);
    const sync = await mooringJson<{ results: { plan: { actions: { kind: string }[] } }[] }>(home, [
      'sync',
      EXT,
    ]);
    expect(sync.code, sync.stderr).toBe(0);
    // Nothing is made of them: the services refer to what the swarm has.
    expect(sync.results[0]!.plan.actions.map((a) => a.kind)).toEqual(['create-network', 'create']);
    const task = async (): Promise<string> =>
      (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${EXT}_app`)).split(
        '\n',
      )[0]!;
    await waitFor('a task of the service', async () => (await task()) !== '');
    expect(await docker('exec', await task(), 'cat', '/run/secrets/db_pw')).toBe('made-by-hand');
    expect(await docker('exec', await task(), 'cat', '/etc/shared')).toBe('made-by-hand');
    expect((await status(EXT)).sync).toBe('Synced');
    const again = await mooringJson<{ results: { plan: { actions: unknown[] } }[] }>(home, ['sync', EXT]);
    expect(again.results[0]!.plan.actions).toEqual([]);

    // The stack deleted in git and pruned: its service and network go, what was made by hand stays.
    await repo.commit({ [`${EXT}/compose.yaml`]: null }, 'no external stack');
    const engine = await Engine.open({ home });
    try {
      const [pruned] = await engine.pruneDeleted('cfg');
      expect(pruned!.error).toBeNull();
      expect(pruned!.plan!.actions.map((a) => a.kind).sort()).toEqual(['remove', 'remove-network']);
    } finally {
      engine.close();
    }
    expect(await docker('secret', 'inspect', '--format', '{{.Spec.Name}}', EXT_PW)).toBe(EXT_PW);
    expect(await docker('config', 'inspect', '--format', '{{.Spec.Name}}', EXT_CFG)).toBe(EXT_CFG);
  });

  it('refuses an external secret to a stack that runs as containers, saying why', async () => {
    // Said by its status before any sync, beside the stack.
    expect((await status(EXTC)).warnings).toContain(
      'secrets.db_pw of service "app" is external: it lives in a Swarm, and the stack runs as containers here, which have no secret objects (docker compose refuses it too). Run it as Swarm services (on a Swarm manager; `mode: swarm` in mooring.yaml where it says containers), or give it file: or environment: instead.',
    );
    const refused = await mooring(home, ['sync', EXTC]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'secrets.db_pw of service "app" is external: it lives in a Swarm, and the stack runs as containers here',
    );
    expect((await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${EXTC}`)).trim()).toBe(
      '',
    );
  });

  it('`mode: containers` keeps a stack as containers on the manager; so does no mode once it runs so; `mode: swarm` over its containers is refused', async () => {
    const sync = await mooring(home, ['sync', PLAIN]);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    expect(
      (await docker('ps', '-q', '--filter', `label=com.docker.compose.project=${PLAIN}`)).trim(),
    ).not.toBe('');
    expect(
      (await docker('service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${PLAIN}`)).trim(),
    ).toBe('');
    expect((await status(PLAIN)).sync).toBe('Synced');

    // Without a mode, a stack already running as containers stays so: nothing redeploys it.
    const policy = (mode: string): string =>
      `stacks:\n  ${PLAIN}: { ${mode} }\n  ${HEAL}: { sync: auto, selfHeal: true }\n`;
    await repo.commit({ 'mooring.yaml': policy('sync: manual') }, 'no mode');
    const again = await mooringJson<{ results: { plan: { actions: unknown[] } }[] }>(home, ['sync', PLAIN]);
    expect(again.code).toBe(0);
    expect(again.results[0]!.plan.actions).toEqual([]);
    expect((await status(PLAIN)).sync).toBe('Synced');
    // `mode: swarm` with its containers still there: refused before anything changes.
    await repo.commit({ 'mooring.yaml': policy('mode: swarm') }, 'swarm');
    const refused = await mooring(home, ['sync', PLAIN]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('remove them first');
    expect(
      (await docker('service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${PLAIN}`)).trim(),
    ).toBe('');
  });

  it('the controller puts back a scale made by hand (self-heal), as a run of its own', async () => {
    const own = path.join(base, 'controller-home');
    const engine = await Engine.open({ home: own });
    await engine.addSource({ name: 'cfg', url: repo.path });
    const controller = new Controller(engine, {
      pollIntervalMs: 5_000,
      selfHealDebounceMs: 300,
      retryBaseMs: 500,
      reconnectMaxMs: 1_000,
    });
    const heal = (): StackStatus | undefined => controller.snapshot().stacks.find((x) => x.name === HEAL);
    try {
      await controller.start();
      await waitFor('the stack deployed and Synced', () => Promise.resolve(heal()?.sync === 'Synced'));
      await docker('service', 'scale', '--detach', `${HEAL}_web=4`);
      await waitFor('a self-heal run', () =>
        Promise.resolve(engine.history.runs.list({ stack: HEAL }).some((r) => r.trigger === 'self-heal')),
      );
      await waitFor('2 tasks of web again', async () => (await runningTasks(`${HEAL}_web`)) === 2);
      await waitFor('Synced again', () => Promise.resolve(heal()?.sync === 'Synced'));
      const runs = engine.history.runs.list({ stack: HEAL }).reverse();
      expect(runs.map((r) => [r.trigger, r.result])).toEqual([
        ['auto', 'succeeded'],
        ['self-heal', 'succeeded'],
      ]);
      expect(runs[1]!.plan.map((a) => [a.kind, a.reason])).toEqual([['scale', 'replicas 4 → 2']]);
    } finally {
      await controller.stop();
      engine.close();
    }
  });
});
