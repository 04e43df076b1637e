// The container keys of issue 11 (engineer A1) against the real engine: a stack using as many of them as
// this engine (20.10, API 1.41, cgroup v1) runs is deployed, `docker inspect` shows each one, the stack
// is Synced right after the sync, and a `docker update` out of band shows as drift under the compose
// key. pull_policy and platform are planned: what cannot be pulled fails clearly, before any change.
// Then the same service deployed by docker-compose 1.29 and by Mooring: the inspect fields these keys
// set are compared.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const run = promisify(execFile);
const haveDocker = await dockerOk();
const haveCompose = await run('docker-compose', ['version', '--short']).then(
  () => true,
  () => false,
);
if (!haveDocker) console.warn('SKIPPED container key tests: no Docker engine answers.');

const STACK = `keys${UNIQUE}`;
const NEVER = `never${UNIQUE}`;
const ARM = `arm${UNIQUE}`;

// A MAC address of this run only (a locally administered one).
const MAC = `02:42:ac:${[(process.pid >> 8) & 255, process.pid & 255, 7].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

const compose = (hook: string): string => `services:
  data:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    volumes: ["shared:/shared"]
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    ports: ["127.0.0.1::80"]
    expose: ["8080", "9000-9001/udp"]
    tmpfs: ["/run/app:size=64k"]
    ulimits:
      nofile: {soft: 1024, hard: 2048}
      nproc: 512
    logging:
      driver: json-file
      options: {max-size: 10m, max-file: "2"}
    cpu_period: 100000
    cpu_quota: 50000
    cpuset: "0"
    mem_swappiness: 10
    oom_kill_disable: true
    mem_limit: 64m
    cgroup: private
    runtime: runc
    isolation: default
    cpu_count: 1
    blkio_config: {weight: 300}
    device_cgroup_rules: ["c 1:3 mr"]
    mac_address: ${MAC}
    annotations: {com.example.team: core}
    links: ["data:store"]
    volumes_from: ["data:ro"]
    volumes: ["hooks:/hooks"]
    label_file: ./app.labels
    labels: {tier: front}
    use_api_socket: true
    attach: false
    post_start:
      - command: ["sh", "-c", "echo ${hook} > /run/app/hook"]
    pre_stop:
      - command: ["sh", "-c", "echo stopped-${hook} > /hooks/stopped"]
  updatable:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 100
    restart: unless-stopped
volumes:
  shared:
  hooks:
`;

interface Inspect {
  Id: string;
  Config: { ExposedPorts: Record<string, object>; Labels: Record<string, string> };
  HostConfig: Record<string, unknown>;
  Mounts: { Destination: string; Source: string; Type: string }[];
  NetworkSettings: { Networks: Record<string, { Links: string[] | null }> };
}

async function inspectOf(name: string): Promise<Inspect> {
  return (JSON.parse(await docker('inspect', name)) as Inspect[])[0]!;
}

async function statusOf(home: string, stack: string): Promise<StackStatus> {
  const st = await mooringJson<{ stacks: StackStatus[] }>(home, ['status']);
  return st.stacks.find((s) => s.name === stack)!;
}

const reasons = (st: StackStatus): [string, string, string[]][] =>
  st.services.map((s) => [s.name, s.sync, s.reasons.map((r) => r.path)]);

describe.skipIf(!haveDocker)('container keys on the real engine', () => {
  let home: string;
  let repo: LocalRepo;

  beforeAll(async () => {
    await removeStacks(STACK, NEVER, ARM);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-keys-'));
    // The engine socket for use_api_socket is this machine's to allow, never the repo's.
    await writeFile(
      path.join(home, 'settings.json'),
      JSON.stringify({ safety: { allowDockerSocket: true, allowDevices: true } }),
    );
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: compose('one'),
      [`${STACK}/app.labels`]: 'team=core\ntier=back\n',
      [`${NEVER}/compose.yaml`]: `services:\n  x:\n    image: local/absent${UNIQUE}:1\n    pull_policy: never\n`,
      [`${ARM}/compose.yaml`]: `services:\n  x:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n    platform: linux/arm64\n`,
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
  });
  afterAll(async () => {
    await removeStacks(STACK, NEVER, ARM);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('deploys every key, each shows in docker inspect, and the stack is Synced at once', async () => {
    // Kept and said, at its place: attach is the compose CLI's.
    const plan = await mooring(home, ['sync', '--dry-run', STACK]);
    // This engine (API 1.41) ignores annotations: said, not dropped in silence.
    expect(plan.stdout).toContain(
      'note: annotations of app are not applied: this engine speaks API 1.41, and annotations need 1.43',
    );
    // cpu_count is a Windows engine's; sent, kept, said.
    expect(plan.stdout).toMatch(/services\.app\.cpu_count applies to Windows engines only/);
    expect(plan.stdout).toMatch(
      new RegExp(`note: ${STACK}/compose.yaml:\\d+:5: services.app.attach applies to the compose CLI only`),
    );
    const sync = await mooring(home, ['sync', STACK]);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    const app = await inspectOf(`${STACK}-app-1`);
    const data = await inspectOf(`${STACK}-data-1`);
    expect(Object.keys(app.Config.ExposedPorts).sort()).toEqual([
      '80/tcp',
      '8080/tcp',
      '9000/udp',
      '9001/udp',
    ]);
    expect(app.HostConfig).toMatchObject({
      Tmpfs: { '/run/app': 'size=64k' },
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 2048 },
        { Name: 'nproc', Soft: 512, Hard: 512 },
      ],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
      CpuPeriod: 100000,
      CpuQuota: 50000,
      CpusetCpus: '0',
      MemorySwappiness: 10,
      OomKillDisable: true,
      Memory: 64 * 1024 ** 2,
      CgroupnsMode: 'private',
      Runtime: 'runc',
      Isolation: 'default',
      VolumesFrom: [`${STACK}-data-1:ro`],
      CpuCount: 1,
      DeviceCgroupRules: ['c 1:3 mr'],
    });
    expect((app.Config as { MacAddress?: string }).MacAddress).toBe(MAC);
    // This kernel has no CFQ: the engine dropped the weight (with a warning), which is not drift below.
    expect(app.HostConfig.BlkioWeight).toBe(0);
    expect(app.NetworkSettings.Networks[`${STACK}_default`]?.Links).toEqual([`${STACK}-data-1:store`]);
    // labels: over label_file
    expect(app.Config.Labels).toMatchObject({ team: 'core', tier: 'front' });
    // volumes_from brings data's volume; use_api_socket the engine's socket.
    expect(app.Mounts.find((m) => m.Destination === '/shared')?.Source).toBe(
      data.Mounts.find((m) => m.Destination === '/shared')?.Source,
    );
    expect(app.Mounts.find((m) => m.Destination === '/var/run/docker.sock')?.Type).toBe('bind');
    // post_start ran in the new container.
    expect(await docker('exec', `${STACK}-app-1`, 'cat', '/run/app/hook')).toBe('one');
    // The link resolves.
    expect(await docker('exec', `${STACK}-app-1`, 'cat', '/etc/hosts')).not.toBe('');

    const st = await statusOf(home, STACK);
    expect(reasons(st)).toEqual([
      ['data', 'Synced', []],
      ['app', 'Synced', []],
      ['updatable', 'Synced', []],
    ]);
    expect(st.sync).toBe('Synced');
    expect(st.warnings.filter((w) => w.includes('services.app.attach'))).toHaveLength(1);
  });

  it('an out-of-band docker update shows as drift under the compose keys', async () => {
    await docker(
      'update',
      '--memory',
      '96m',
      '--memory-swap',
      '192m',
      '--cpus',
      '0.75',
      '--pids-limit',
      '77',
      '--restart',
      'always',
      `${STACK}-updatable-1`,
    );
    await docker('update', '--cpu-quota', '25000', '--cpuset-cpus', '0-1', `${STACK}-app-1`);
    const st = await statusOf(home, STACK);
    const byName = new Map(st.services.map((s) => [s.name, s]));
    expect(byName.get('updatable')!.reasons).toEqual([
      { path: 'cpus', desired: '0.5', live: '0.75' },
      { path: 'mem_limit', desired: '64m', live: '96m' },
      { path: 'pids_limit', desired: '100', live: '77' },
      { path: 'restart', desired: 'unless-stopped', live: 'always' },
    ]);
    expect(byName.get('app')!.reasons).toEqual([
      { path: 'cpu_quota', desired: '50000', live: '25000' },
      { path: 'cpuset', desired: '0', live: '0-1' },
    ]);
    expect(byName.get('data')!.sync).toBe('Synced');
  });

  it('a sync puts it back; pre_stop ran in the container it replaced', async () => {
    await repo.commit({ [`${STACK}/compose.yaml`]: compose('two') }, 'hooks say two');
    const sync = await mooring(home, ['sync', STACK]);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    expect(reasons(await statusOf(home, STACK))).toEqual([
      ['data', 'Synced', []],
      ['app', 'Synced', []],
      ['updatable', 'Synced', []],
    ]);
    expect(await docker('exec', `${STACK}-app-1`, 'cat', '/run/app/hook')).toBe('two');
    // The old container's pre_stop was the new file's (compose runs the current definition's hooks).
    expect(await docker('exec', `${STACK}-app-1`, 'cat', '/hooks/stopped')).toBe('stopped-two');
  });

  it('pull_policy: never with an image that is not there fails before any change, and says what to do', async () => {
    const sync = await mooring(home, ['sync', NEVER]);
    expect(sync.code).not.toBe(0);
    expect(sync.stdout + sync.stderr).toContain(
      `services.x.pull_policy is never: load or build it on this engine (docker load, docker build -t local/absent${UNIQUE}:1), or set pull_policy: missing`,
    );
    expect(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${NEVER}`)).toBe('');
  });

  it('platform: an image here for another platform is pulled for it, and without a registry that fails clearly', async () => {
    const sync = await mooring(home, ['sync', ARM]);
    expect(sync.code).not.toBe(0);
    expect(sync.stdout + sync.stderr).toMatch(
      /Image "local\/busybox:1" for linux\/arm64 is pulled \(the engine has it for linux\/amd64, and services\.x\.platform is linux\/arm64\) but cannot be pulled/,
    );
    expect(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${ARM}`)).toBe('');
  });
});

// docker-compose 1.29 reads the Compose Specification too; the keys both know are compared here field
// by field (engineer E's harness compares whole stacks: test/integration/parity*).
const PARITY = `services:
  data:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    volumes: ["/data"]
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    expose: ["8080", "9000-9001/udp"]
    tmpfs: ["/run/app:size=64k"]
    ulimits:
      nofile: {soft: 1024, hard: 2048}
      nproc: 512
    logging:
      driver: json-file
      options: {max-size: 10m}
    cpu_period: 100000
    cpu_quota: 50000
    cpuset: "0"
    cpu_shares: 512
    mem_swappiness: 10
    oom_kill_disable: true
    mem_limit: 64m
    shm_size: 32m
    pids_limit: 50
    links: ["data:store"]
    volumes_from: ["data:ro"]
    read_only: true
    stop_signal: SIGINT
    sysctls: {net.core.somaxconn: "1024"}
`;

/** The fields these keys set, with names of the other side's containers written as SERVICE. */
function parityView(
  i: Inspect,
  project: string,
  sep: '-' | '_',
  ids: Map<string, string>,
): Record<string, unknown> {
  const name = (ref: string): string => {
    const [who = '', rest] = ref.split(':');
    const service = ids.get(who) ?? who.replace(new RegExp(`^${project}${sep}(.+)${sep}1$`), '$1');
    return rest === undefined ? service : `${service}:${rest}`;
  };
  const h = i.HostConfig;
  const links = Object.values(i.NetworkSettings.Networks).flatMap((n) => n.Links ?? []);
  return {
    ExposedPorts: Object.keys(i.Config.ExposedPorts ?? {}).sort(),
    Tmpfs: h.Tmpfs,
    Ulimits: h.Ulimits,
    LogConfig: h.LogConfig,
    CpuPeriod: h.CpuPeriod,
    CpuQuota: h.CpuQuota,
    CpusetCpus: h.CpusetCpus,
    CpuShares: h.CpuShares,
    MemorySwappiness: h.MemorySwappiness,
    OomKillDisable: h.OomKillDisable,
    Memory: h.Memory,
    ShmSize: h.ShmSize,
    PidsLimit: h.PidsLimit,
    ReadonlyRootfs: h.ReadonlyRootfs,
    Sysctls: h.Sysctls,
    VolumesFrom: ((h.VolumesFrom as string[] | null) ?? []).map(name),
    // docker-compose 1.29 also links each container under its own names; the alias is what both give.
    Links: [...new Set(links.map(name))].filter((l) => l.endsWith(':store')).sort(),
  };
}

describe.skipIf(!haveDocker || !haveCompose)('container keys: parity with docker-compose 1.29', () => {
  const A = `pa${UNIQUE.replace('-', '')}`;
  const B = `pb${UNIQUE}`;
  let home: string;
  let dir: string;
  let repo: LocalRepo;

  beforeAll(async () => {
    await removeStacks(A, B);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-keys-parity-'));
    dir = await mkdtemp(path.join(os.tmpdir(), 'compose-keys-parity-'));
    await writeFile(path.join(dir, 'docker-compose.yml'), PARITY);
    repo = await createLocalRepo({ [`${B}/compose.yaml`]: PARITY });
  });
  afterAll(async () => {
    await run('docker-compose', ['-p', A, 'down', '-v'], { cwd: dir }).catch(() => undefined);
    await removeStacks(A, B);
    await rm(home, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('the same service from both has the same inspect fields for these keys', async () => {
    await run('docker-compose', ['-p', A, 'up', '-d'], { cwd: dir });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const sync = await mooring(home, ['sync', B]);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    const aData = await inspectOf(`${A}_data_1`);
    const bData = await inspectOf(`${B}-data-1`);
    const a = parityView(await inspectOf(`${A}_app_1`), A, '_', new Map([[aData.Id, 'data']]));
    const b = parityView(await inspectOf(`${B}-app-1`), B, '-', new Map([[bData.Id, 'data']]));
    expect(b).toEqual(a);
    expect(b.VolumesFrom).toEqual(['data:ro']);
    expect(b.Links).toEqual(['data:store']);
  });
});
