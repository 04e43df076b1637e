// Networks and volumes against the real engine (issue 11): an internal network with a subnet of its
// own, a service with a fixed address and aliases on it, a tmpfs volume; a fresh sync is Synced; a
// container taken off its network, or given another address, is drift named by the compose key; a
// declared network or volume that is missing shows in the status (a stack of only a network and a
// volume is Missing, not Synced); a network changed in git is made again with its containers kept;
// and the same file deployed by docker-compose 1.29 inspects the same.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSE_VERSION } from '../../electron/engine/docker/labels.ts';
import type { StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';
import { runParity, showDiff, type ParityCase, type ParityRun } from '../helpers/parity.ts';

const haveDocker = await dockerOk();
const haveCompose = await promisify(execFile)('docker-compose', ['version', '--short']).then(
  () => true,
  () => false,
);
if (!haveDocker) console.warn('SKIPPED network and volume tests: no Docker engine answers.');

const STACK = `netvol${UNIQUE}`;
const ONLY = `netonly${UNIQUE}`;
// A /24 of its own per test process, away from the engine's default pools (172.17+, 192.168) and from
// the parity harness (10.190-10.249).
const pid = process.pid;
const NET = `10.${150 + (pid % 30)}.${pid % 250}`;

const compose = (internal: boolean): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    networks:
      back:
        aliases: [db-alias]
        ipv4_address: ${NET}.10
      front:
  other:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    networks: [back]
    volumes:
      - scratch:/scratch
networks:
  back:
    internal: ${internal}
    ipam:
      config:
        - subnet: ${NET}.0/24
  front:
volumes:
  scratch:
    driver_opts: {type: tmpfs, device: tmpfs, o: size=16m}
`;

const only = `services: {}
networks:
  lonely:
    labels: {com.example.purpose: test}
volumes:
  keep:
`;

interface Status {
  stacks: StackStatus[];
}

const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await docker(...args)) as T;

describe.skipIf(!haveDocker)('networks and volumes on the real engine', () => {
  let home: string;
  let repo: LocalRepo;
  const statusOf = async (name: string): Promise<StackStatus> => {
    const s = await mooringJson<Status>(home, ['status', name]);
    return s.stacks.find((x) => x.name === name)!;
  };
  const drift = (st: StackStatus): [string, string[]][] =>
    st.services.map((s) => [s.name, s.reasons.map((r) => `${r.path}: ${r.desired} | ${r.live}`)]);

  beforeAll(async () => {
    await removeStacks(STACK, ONLY);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-netvol-'));
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: compose(true),
      [`${ONLY}/compose.yaml`]: only,
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
  });
  afterAll(async () => {
    await removeStacks(STACK, ONLY);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('a stack of only a network and a volume is Missing until synced, then Synced', async () => {
    const before = await statusOf(ONLY);
    expect([before.sync, before.health]).toEqual(['Missing', 'Missing']);
    expect(before.resources?.map((r) => [r.kind, r.name, r.sync])).toEqual([
      ['network', `${ONLY}_lonely`, 'Missing'],
      ['volume', `${ONLY}_keep`, 'Missing'],
    ]);
    const sync = await mooring(home, ['sync', ONLY]);
    expect(sync.code, sync.stderr).toBe(0);
    const after = await statusOf(ONLY);
    expect([after.sync, after.health, after.resources]).toEqual(['Synced', 'Healthy', undefined]);
    // compose's own labels, so that `docker compose` sees them as the project's.
    const [net] = await json<{ Labels: Record<string, string> }[]>('network', 'inspect', `${ONLY}_lonely`);
    expect(net!.Labels).toMatchObject({
      'com.docker.compose.project': ONLY,
      'com.docker.compose.network': 'lonely',
      'com.docker.compose.version': COMPOSE_VERSION,
      'com.example.purpose': 'test',
    });
    const [vol] = await json<{ Labels: Record<string, string> }[]>('volume', 'inspect', `${ONLY}_keep`);
    expect(vol!.Labels).toMatchObject({
      'com.docker.compose.project': ONLY,
      'com.docker.compose.volume': 'keep',
      'com.docker.compose.version': COMPOSE_VERSION,
    });
  });

  it('a declared network removed out of band shows in the status, and a sync makes it again', async () => {
    await docker('network', 'rm', `${ONLY}_lonely`);
    const st = await statusOf(ONLY);
    expect(st.sync).toBe('OutOfSync');
    expect(st.resources).toEqual([
      {
        kind: 'network',
        key: 'lonely',
        name: `${ONLY}_lonely`,
        sync: 'Missing',
        reasons: [{ path: 'networks.lonely', desired: `${ONLY}_lonely`, live: null }],
      },
    ]);
    const diff = await mooring(home, ['diff', ONLY]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain(`network lonely (${ONLY}_lonely): Missing`);
    expect((await mooring(home, ['sync', ONLY])).code).toBe(0);
    expect((await statusOf(ONLY)).sync).toBe('Synced');
  });

  it('deploys an internal network with its subnet, a fixed address, aliases and a tmpfs volume; Synced at once', async () => {
    const sync = await mooring(home, ['sync', STACK]);
    expect(sync.code, sync.stderr).toBe(0);
    const st = await statusOf(STACK);
    expect(drift(st)).toEqual([
      ['app', []],
      ['other', []],
    ]);
    expect([st.sync, st.resources]).toEqual(['Synced', undefined]);

    const [back] = await json<
      { Internal: boolean; IPAM: { Config: { Subnet: string }[] }; Labels: Record<string, string> }[]
    >('network', 'inspect', `${STACK}_back`);
    expect(back!.Internal).toBe(true);
    expect(back!.IPAM.Config.map((c) => c.Subnet)).toEqual([`${NET}.0/24`]);
    const [app] = await json<
      {
        Id: string;
        NetworkSettings: {
          Networks: Record<
            string,
            { IPAddress: string; Aliases: string[]; IPAMConfig: { IPv4Address: string } }
          >;
        };
      }[]
    >('inspect', `${STACK}-app-1`);
    const ep = app!.NetworkSettings.Networks[`${STACK}_back`]!;
    expect(ep.IPAddress).toBe(`${NET}.10`);
    expect(ep.IPAMConfig.IPv4Address).toBe(`${NET}.10`);
    expect(ep.Aliases).toEqual(expect.arrayContaining(['app', 'db-alias', `${STACK}-app-1`]));
    const [scratch] = await json<{ Options: Record<string, string> }[]>(
      'volume',
      'inspect',
      `${STACK}_scratch`,
    );
    expect(scratch!.Options).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=16m' });
    expect(await docker('exec', `${STACK}-other-1`, 'sh', '-c', 'grep " /scratch " /proc/mounts')).toMatch(
      /^tmpfs \/scratch tmpfs .*size=16384k/,
    );
  });

  it('a container taken off its network, or given another address, is drift named by the compose key', async () => {
    await docker('network', 'disconnect', `${STACK}_back`, `${STACK}-app-1`);
    const off = await statusOf(STACK);
    expect(off.sync).toBe('OutOfSync');
    expect(drift(off)).toEqual([
      [
        'app',
        [
          `networks: ${STACK}_back, ${STACK}_front | ${STACK}_front`,
          `networks.${STACK}_back.aliases: app, db-alias | null`,
          `networks.${STACK}_back.ipv4_address: ${NET}.10 | null`,
        ],
      ],
      ['other', []],
    ]);
    await docker(
      'network',
      'connect',
      '--alias',
      'db-alias',
      '--alias',
      'app',
      '--ip',
      `${NET}.20`,
      `${STACK}_back`,
      `${STACK}-app-1`,
    );
    expect(drift(await statusOf(STACK))).toEqual([
      ['app', [`networks.${STACK}_back.ipv4_address: ${NET}.10 | ${NET}.20`]],
      ['other', []],
    ]);
    const sync = await mooring(home, ['sync', STACK]);
    expect(sync.code, sync.stderr).toBe(0);
    // Progress goes to stderr.
    expect(sync.stderr).toContain('✓ recreate app');
    const st = await statusOf(STACK);
    expect([st.sync, drift(st)]).toEqual([
      'Synced',
      [
        ['app', []],
        ['other', []],
      ],
    ]);
  });

  it('a network changed in git is made again; its containers are reconnected, not recreated', async () => {
    const ids = async (): Promise<string[]> =>
      (await docker('ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${STACK}`))
        .split('\n')
        .sort();
    const before = await ids();
    await repo.commit({ [`${STACK}/compose.yaml`]: compose(false) }, 'back is no longer internal');
    await mooring(home, ['fetch', 'cfg']);
    const st = await statusOf(STACK);
    expect(st.resources).toEqual([
      {
        kind: 'network',
        key: 'back',
        name: `${STACK}_back`,
        sync: 'OutOfSync',
        reasons: [{ path: 'networks.back.internal', desired: 'false', live: 'true' }],
      },
    ]);
    const sync = await mooring(home, ['sync', STACK]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).toContain(`✓ recreate-network ${STACK}_back`);
    const [back] = await json<{ Internal: boolean }[]>('network', 'inspect', `${STACK}_back`);
    expect(back!.Internal).toBe(false);
    expect(await ids()).toEqual(before);
    const after = await statusOf(STACK);
    expect([after.sync, after.health, drift(after)]).toEqual([
      'Synced',
      'Healthy',
      [
        ['app', []],
        ['other', []],
      ],
    ]);
  });

  it('a volume changed in git is shown and left alone: the plan says how to apply it', async () => {
    await repo.commit(
      { [`${STACK}/compose.yaml`]: compose(false).replace('size=16m', 'size=32m') },
      'a bigger scratch',
    );
    await mooring(home, ['fetch', 'cfg']);
    const st = await statusOf(STACK);
    expect(st.resources?.map((r) => [r.kind, r.sync, r.reasons])).toEqual([
      [
        'volume',
        'OutOfSync',
        [{ path: 'volumes.scratch.driver_opts.o', desired: 'size=32m', live: 'size=16m' }],
      ],
    ]);
    const plan = await mooring(home, ['sync', STACK, '--dry-run']);
    expect(plan.stdout).toContain(`volume ${STACK}_scratch differs from git`);
    expect(plan.stdout).toContain(`docker volume rm ${STACK}_scratch`);
  });
});

/** The same file by docker-compose 1.29 and by Mooring: networks, volumes and endpoints inspect alike. */
const PARITY: ParityCase[] = [
  {
    name: 'netvol',
    keys: [
      'networks.*.internal',
      'networks.*.ipam',
      'networks.*.driver_opts',
      'networks.*.labels',
      'services.*.networks.*.ipv4_address',
      'services.*.networks.*.aliases',
      'volumes.*.driver_opts',
      'volumes.*.labels',
    ],
    compose: (side) => `services:
  app:
    image: local/busybox:1
    init: true
    command: sleep 3600
    networks:
      back:
        aliases: [db-alias]
        ipv4_address: ${side.net}.0.10
      front:
    volumes:
      - scratch:/scratch
networks:
  back:
    internal: true
    driver_opts:
      com.docker.network.driver.mtu: "1400"
    ipam:
      config:
        - subnet: ${side.net}.0.0/24
          gateway: ${side.net}.0.1
    labels:
      com.example.tier: back
  front:
volumes:
  scratch:
    driver_opts: {type: tmpfs, device: tmpfs, o: size=8m}
    labels:
      com.example.kind: scratch
`,
    allow: [
      {
        field: /^Attachable$/,
        reason:
          'docker-compose 1.29 makes every network attachable (API 1.24 and later); compose v2, and Mooring, only with attachable: true',
        when: (a, b) => a === true && b === false,
      },
    ],
  },
];

describe.skipIf(!haveDocker || !haveCompose)('parity with docker-compose 1.29: networks and volumes', () => {
  let run: ParityRun | undefined;
  beforeAll(async () => {
    run = await runParity(PARITY, `${UNIQUE}n`);
  }, 300_000);
  afterAll(async () => {
    await run?.cleanup();
  });

  it('inspects the same, and is Synced right after', () => {
    const [r] = run!.results;
    expect(r!.failed).toEqual({});
    expect(r!.diffs.map(showDiff)).toEqual([]);
    expect([...run!.status.values()].map((s) => [s.sync, s.reasons])).toEqual([['Synced', []]]);
  });
});
