// Issue 10, against the real engine: Mooring removes only what this home made (labels can be copied,
// the ownership record cannot), two folders never deploy as one stack, a commit that deletes every
// stack of a source waits for a person, and a stack deleted while nothing watched is judged on the
// first look.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StackStatus } from '../../electron/shared/model.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { EventLog, UNIQUE, waitFor } from '../helpers/controller.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const S = UNIQUE;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED ownership tests: no Docker engine answers.');

const A = `own-a${S}`;
const B = `own-b${S}`;
const VICTIM = `own-victim${S}`;
const STACKS = [A, B, VICTIM];

const sleeper = (extra = ''): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
${extra}`;

type Status = { stacks: StackStatus[] };
const stackOf = (s: Status, name: string): StackStatus | undefined => s.stacks.find((x) => x.name === name);

describe.skipIf(!haveDocker)('ownership: only what this home made is ever removed', () => {
  let home: string;
  let repo: LocalRepo;
  const strays: string[] = [];

  beforeAll(async () => {
    await removeStacks(...STACKS);
  });
  afterAll(async () => {
    await removeStacks(...STACKS);
  });
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-own-'));
  });
  afterEach(async () => {
    await removeStacks(...STACKS);
    for (const name of strays.splice(0)) {
      await docker('rm', '-f', name).catch(() => '');
      await docker('network', 'rm', name).catch(() => '');
    }
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('a hand-made container with our managed label and another (or no) instance id is left alone by --prune', async () => {
    repo = await createLocalRepo({ [`${A}/compose.yaml`]: sleeper() });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    expect((await mooring(home, ['sync'])).code).toBe(0);
    for (const [n, instance] of [
      ['other', 'another-home'],
      ['none', null],
    ] as const) {
      const name = `${A}-${n}-1`;
      strays.push(name);
      await docker(
        'run',
        '-d',
        '--init',
        '--name',
        name,
        '--label',
        `com.docker.compose.project=${A}`,
        '--label',
        `com.docker.compose.service=${n}`,
        '--label',
        'dev.mooring.managed=true',
        '--label',
        'dev.mooring.source=cfg',
        ...(instance ? ['--label', `dev.mooring.instance=${instance}`] : []),
        'local/busybox:1',
        'sleep',
        '3600',
      );
    }
    const status = await mooringJson<Status>(home, ['status']);
    const a = stackOf(status, A)!;
    // Not taken for orphans of the stack: named, and left alone.
    expect(a.services.map((s) => s.name)).toEqual(['app']);
    expect(a.sync).toBe('Synced');
    expect(a.warnings.join('\n')).toMatch(/not ours, left alone/);

    const prune = await mooring(home, ['sync', '--prune']);
    expect(prune.code, prune.stderr).toBe(0);
    expect((await inspect(`${A}-other-1`)).State.Running).toBe(true);
    expect((await inspect(`${A}-none-1`)).State.Running).toBe(true);
  });

  it("a container holding a wanted name with another home's labels is never recreated over", async () => {
    repo = await createLocalRepo({ [`${A}/compose.yaml`]: sleeper() });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    // Another home deployed first (same labels as ours, its own instance id).
    const name = `${A}-app-1`;
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      name,
      '--label',
      `com.docker.compose.project=${A}`,
      '--label',
      'com.docker.compose.service=app',
      '--label',
      'dev.mooring.managed=true',
      '--label',
      'dev.mooring.instance=another-home',
      'local/busybox:1',
      'sleep',
      '3600',
    );
    const before = (await inspect(name)).Id;
    const sync = await mooring(home, ['sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(
      new RegExp(`"${name}" exists and is labelled as Mooring's, but this home has no record`),
    );
    expect(sync.stderr).toMatch(/nothing of stack .* was changed/);
    expect((await inspect(name)).Id).toBe(before);
  });

  it('a hand-made network with our labels survives the prune of a stack deleted in git', async () => {
    repo = await createLocalRepo({
      [`${A}/compose.yaml`]: sleeper(),
      [`${B}/compose.yaml`]: sleeper(),
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    expect((await mooring(home, ['sync'])).code).toBe(0);
    const fake = `${A}_fake`;
    strays.push(fake);
    await docker(
      'network',
      'create',
      '--label',
      `com.docker.compose.project=${A}`,
      '--label',
      'dev.mooring.managed=true',
      fake,
    );
    await repo.commit({ [`${A}/compose.yaml`]: null }, `delete ${A}`);
    const prune = await mooring(home, ['sync', '--prune']);
    expect(prune.code, prune.stdout + prune.stderr).toBe(0);
    await expect(inspect(`${A}-app-1`)).rejects.toThrow();
    // Ours went with the stack; the look-alike stays.
    expect(await docker('network', 'ls', '-q', '--filter', `name=^${A}_default$`)).toBe('');
    expect(await docker('network', 'ls', '--format', '{{.Name}}', '--filter', `name=^${fake}$`)).toBe(fake);
    expect((await inspect(`${B}-app-1`)).State.Running).toBe(true);
  });

  it('containers of a home made before the ownership record existed are still its own', async () => {
    repo = await createLocalRepo({ [`${A}/compose.yaml`]: sleeper() });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    expect((await mooring(home, ['sync'])).code).toBe(0);
    // As an older version left it: no ownership rows, and the record started after the container.
    const engine = await Engine.open({ home });
    engine.history.db.exec('DELETE FROM owned');
    engine.history.db
      .prepare('UPDATE migrations SET applied_at = ? WHERE version = 6')
      .run(new Date(Date.now() + 1000).toISOString());
    engine.close();
    await repo.commit({ [`${A}/compose.yaml`]: sleeper('    environment: { X: "2" }\n') }, 'change');
    const sync = await mooring(home, ['sync']);
    expect(sync.code, sync.stderr).toBe(0);
    expect((await inspect(`${A}-app-1`)).Config.Env).toContain('X=2');
  });
});

describe.skipIf(!haveDocker)('stack names: two folders never deploy as one stack', () => {
  let home: string;
  let repo: LocalRepo;

  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-names-'));
  });
  afterEach(async () => {
    await removeStacks(...STACKS);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('a folder whose compose name: is another folder is an error on both, naming both', async () => {
    repo = await createLocalRepo({
      [`${VICTIM}/compose.yaml`]: sleeper(),
      [`aaa${S}/compose.yaml`]: `name: ${VICTIM}\n${sleeper('    environment: { EVIL: "1" }\n')}`,
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const status = await mooringJson<Status>(home, ['status']);
    const both = status.stacks.filter((s) => s.name === VICTIM);
    expect(both).toHaveLength(2);
    for (const s of both) {
      expect(s.sync).toBe('Unknown');
      expect(s.errors[0]!.message).toMatch(new RegExp(`also the name of (${VICTIM}|aaa${S})/`));
    }
    const sync = await mooring(home, ['sync']);
    expect(sync.code).toBe(4);
    await expect(inspect(`${VICTIM}-app-1`)).rejects.toThrow();
  });

  it('folders that normalize to one name (My App and myapp) are both refused', async () => {
    const spaced = `My Own-a${S}`;
    repo = await createLocalRepo({
      [`${spaced}/compose.yaml`]: sleeper(),
      [`${spaced.replace(' ', '').toLowerCase()}/compose.yaml`]: sleeper(),
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const status = await mooringJson<Status>(home, ['status']);
    const both = status.stacks.filter((s) => s.name === `myown-a${S}`);
    expect(both).toHaveLength(2);
    expect(both.map((s) => s.errors[0]!.message).join('\n')).toContain(`${spaced}/`);
    expect(both.every((s) => s.sync === 'Unknown')).toBe(true);
  });
});

describe.skipIf(!haveDocker)('prune of stacks deleted in git', () => {
  let home: string;
  let repo: LocalRepo;
  let engine: Engine | null = null;
  let controller: Controller | null = null;

  const policy = `stacks:\n  ${A}: { sync: auto, selfHeal: true, prune: true }\n  ${B}: { sync: auto, selfHeal: true, prune: true }\n`;

  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-prune-'));
  });
  afterEach(async () => {
    await controller?.stop();
    controller = null;
    engine?.close();
    engine = null;
    await removeStacks(...STACKS);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('a commit that deletes every stack of a source needs --allow-empty, and the controller holds it', async () => {
    repo = await createLocalRepo({
      'mooring.yaml': policy,
      [`${A}/compose.yaml`]: sleeper(),
      [`${B}/compose.yaml`]: sleeper(),
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    expect((await mooring(home, ['sync'])).code).toBe(0);
    await repo.commit({ [`${A}/compose.yaml`]: null, [`${B}/compose.yaml`]: null }, 'delete everything');

    // The controller does not prune, says why, and leaves the source alone.
    engine = await Engine.open({ home });
    const log = new EventLog();
    controller = new Controller(engine, { pollIntervalMs: 5_000, homeCheckMs: 200 });
    controller.subscribe(log.listener);
    await controller.start();
    await waitFor('the hold to be said', () => /Pruning waits for a person/.test(log.text()));
    const held = controller.snapshot().stacks.find((s) => s.name === A)!;
    expect(held.deletedInGit).toBe(true);
    expect(held.pruneHold).toMatch(/every stack of source "cfg"/);
    expect((await inspect(`${A}-app-1`)).State.Running).toBe(true);
    expect(engine.history.runs.list({ stack: A }).filter((r) => r.trigger === 'auto')).toHaveLength(0);
    await controller.stop();
    controller = null;

    const refused = await mooring(home, ['sync', '--prune']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/every stack of source "cfg".*add --allow-empty/s);
    expect((await inspect(`${B}-app-1`)).State.Running).toBe(true);

    const status = await mooring(home, ['status']);
    expect(status.stdout).toMatch(/Pruning waits for a person/);

    const confirmed = await mooring(home, ['sync', '--prune', '--allow-empty']);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    await expect(inspect(`${A}-app-1`)).rejects.toThrow();
    await expect(inspect(`${B}-app-1`)).rejects.toThrow();
  });

  it('deleting one of two stacks is pruned by the controller without asking', async () => {
    repo = await createLocalRepo({
      'mooring.yaml': policy,
      [`${A}/compose.yaml`]: sleeper(),
      [`${B}/compose.yaml`]: sleeper(),
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    expect((await mooring(home, ['sync'])).code).toBe(0);
    engine = await Engine.open({ home });
    controller = new Controller(engine, { pollIntervalMs: 5_000, homeCheckMs: 200 });
    await controller.start();
    await repo.commit({ [`${A}/compose.yaml`]: null }, `delete ${A}`);
    await waitFor(`${A} pruned`, async () =>
      inspect(`${A}-app-1`).then(
        () => false,
        () => true,
      ),
    );
    expect((await inspect(`${B}-app-1`)).State.Running).toBe(true);
  });

  it('a stack deleted while the controller was off is pruned on its first look', async () => {
    repo = await createLocalRepo({
      'mooring.yaml': policy,
      [`${A}/compose.yaml`]: sleeper(),
      [`${B}/compose.yaml`]: sleeper(),
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    expect((await mooring(home, ['sync'])).code).toBe(0);
    // Deleted with nothing watching: this home's commit cache has never seen that commit.
    await repo.commit({ [`${A}/compose.yaml`]: null }, `delete ${A}`);
    engine = await Engine.open({ home });
    const log = new EventLog();
    controller = new Controller(engine, { pollIntervalMs: 60_000, homeCheckMs: 200 });
    controller.subscribe(log.listener);
    await controller.start();
    await waitFor(
      `${A} pruned on the first start`,
      async () =>
        inspect(`${A}-app-1`).then(
          () => false,
          () => true,
        ),
      15_000,
    );
    expect(log.text()).not.toMatch(/left running/);
  });
});
