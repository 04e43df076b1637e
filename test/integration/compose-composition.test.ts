// A stack composed as docker compose composes it (issue 11, item 1), deployed to the real engine: a
// base file, its compose.override.yaml, an include from another folder of the repo, a service that
// extends one of another file, and a service of a profile that is not active until mooring.yaml says
// so. An unset variable is a warning in the status and the plan, and the deployed stack is Synced.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan, StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const STACK = `composed${UNIQUE}`;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED composition tests: no Docker engine answers.');

const files: Record<string, string> = {
  [`${STACK}/compose.yaml`]: `include:
  - ../lib/db.yaml
services:
  app:
    extends:
      file: ../lib/common.yml
      service: base
    command: ["sleep", "3600"]
    environment:
      ROLE: app
      MISSING: "\${NOT_SET_ANYWHERE}"
    depends_on: [db]
  debug:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    profiles: [debug]
    depends_on: [app]
`,
  [`${STACK}/compose.override.yaml`]: `services:
  app:
    environment: [ROLE=overridden, EXTRA=1]
    labels: [from=override]
`,
  [`${STACK}/.env`]: 'TAG=7\n',
  // Not stacks themselves: this folder holds no compose.yaml.
  'lib/common.yml': `services:
  base:
    image: local/busybox:1
    init: true
    environment: {SHARED: "1", TAG: "\${TAG}", PROJECT: "\${COMPOSE_PROJECT_NAME}"}
`,
  'lib/db.yaml': `services:
  db:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    volumes: ["dbdata:/data"]
volumes:
  dbdata:
`,
};

type Status = { stacks: StackStatus[] };

describe.skipIf(!haveDocker)('a composed stack on the real engine', () => {
  let home: string;
  let repo: LocalRepo;

  beforeAll(async () => {
    await removeStacks(STACK);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-composed-'));
    repo = await createLocalRepo(files);
  });
  afterAll(async () => {
    await removeStacks(STACK);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('deploys base + override + include + extends, leaves the inactive profile out, and is Synced', async () => {
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const plan = await mooringJson<{ results: { plan: Plan }[] }>(home, ['sync', STACK, '--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    const warning = `${STACK}/compose.yaml:11:16: variable NOT_SET_ANYWHERE is not set, so it reads as an empty string here; define it in ${STACK}/.env, or write \${NOT_SET_ANYWHERE:-} where an empty value is meant`;
    expect(plan.results[0]!.plan.notes).toContain(warning);

    const sync = await mooring(home, ['sync', STACK]);
    expect(sync.code, sync.stderr).toBe(0);
    const names = await docker(
      'ps',
      '-a',
      '--filter',
      `label=com.docker.compose.project=${STACK}`,
      '--format',
      '{{.Names}}',
    );
    expect(names.split('\n').sort()).toEqual([`${STACK}-app-1`, `${STACK}-db-1`]);

    const app = await inspect(`${STACK}-app-1`);
    expect(app.State.Running).toBe(true);
    expect(app.Config.Env).toEqual(
      expect.arrayContaining([
        'ROLE=overridden',
        'EXTRA=1',
        'SHARED=1',
        'TAG=7',
        `PROJECT=${STACK}`,
        'MISSING=',
      ]),
    );
    expect(app.Config.Labels).toMatchObject({ from: 'override' });
    const db = JSON.parse(await docker('inspect', `${STACK}-db-1`)) as {
      Mounts: { Type: string; Name?: string; Destination: string }[];
    }[];
    expect(db[0]!.Mounts).toEqual([
      expect.objectContaining({ Type: 'volume', Name: `${STACK}_dbdata`, Destination: '/data' }),
    ]);

    const status = await mooringJson<Status>(home, ['status', STACK]);
    const st = status.stacks.find((s) => s.name === STACK)!;
    expect(st.services.map((s) => [s.name, s.sync, s.reasons]).sort()).toEqual([
      ['app', 'Synced', []],
      ['db', 'Synced', []],
    ]);
    expect(st.sync).toBe('Synced');
    expect(st.warnings).toContain(warning);
  });

  it('runs the profile service once mooring.yaml activates its profile', async () => {
    await repo.commit({ 'mooring.yaml': `stacks:\n  ${STACK}: { profiles: [debug] }\n` }, 'activate debug');
    const sync = await mooring(home, ['sync', STACK]);
    expect(sync.code, sync.stderr).toBe(0);
    const debug = await inspect(`${STACK}-debug-1`);
    expect(debug.State.Running).toBe(true);
    const status = await mooringJson<Status>(home, ['status', STACK]);
    const st = status.stacks.find((s) => s.name === STACK)!;
    expect(st.services.map((s) => [s.name, s.sync]).sort()).toEqual([
      ['app', 'Synced'],
      ['db', 'Synced'],
      ['debug', 'Synced'],
    ]);
    expect(st.policy.profiles).toEqual(['debug']);
  });
});
