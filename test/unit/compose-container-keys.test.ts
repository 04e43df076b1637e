// The service keys of the Compose Specification that configure the container itself (issue 11, engineer
// A1): read with positions, refused where they reach the host, sent where the engine takes them, and
// compared with what the engine reports (its own defaults and what it drops normalized away).
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { containerOptions } from '../../electron/engine/docker/container-spec.ts';
import { diffFields, projectDesired, projectLive } from '../../electron/engine/docker/fields.ts';
import { loadStack, specHash } from '../../electron/engine/manifest/index.ts';
import type { LoadResult } from '../../electron/engine/manifest/index.ts';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type { DesiredService, DesiredStack, SafetySettings } from '../../electron/shared/model.ts';

async function loadWith(
  serviceYaml: string,
  safety: Partial<SafetySettings> = {},
  files: Record<string, string> = {},
): Promise<LoadResult> {
  const all: Record<string, string> = {
    ...files,
    'web/compose.yaml': `services:\n  app:\n    image: local/busybox:1\n${serviceYaml}`,
  };
  return loadStack({
    reader: {
      readFile: (p) => Promise.resolve(all[p] ?? null),
      stat: (p) => Promise.resolve(p in all ? { type: 'blob', oid: 'f'.repeat(40) } : null),
    },
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety: { ...DEFAULT_SAFETY, ...safety },
    homeDir: '/home/me',
  });
}

async function stackOf(serviceYaml: string, safety: Partial<SafetySettings> = {}): Promise<DesiredStack> {
  const r = await loadWith(serviceYaml, safety);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.stack;
}

const serviceOf = async (yaml: string, safety: Partial<SafetySettings> = {}): Promise<DesiredService> =>
  (await stackOf(yaml, safety)).services[0]!;

/** Every error of a refused file as `line:column message` (the service body starts on line 4). */
async function errorsOf(serviceYaml: string, safety: Partial<SafetySettings> = {}): Promise<string[]> {
  const r = await loadWith(serviceYaml, safety);
  if (r.ok) throw new Error('expected the file to be refused');
  return r.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
}

const ctx = {
  stack: 'web',
  source: 'cfg',
  revision: 'abc',
  specHash: 'h',
  home: '/home/m',
  instance: 'i',
  containerNames: new Map<string, string>(),
};

/**
 * What this engine (20.10, API 1.41, cgroup v1) reports for a container created with `options`: the
 * create fields as sent, over the values it fills in itself (measured with `docker inspect`).
 */
function inspectOf(options: Docker.ContainerCreateOptions, over: Record<string, unknown> = {}) {
  const { HostConfig, ...config } = options;
  return {
    Config: { ...config, Env: config.Env ?? [], Labels: config.Labels ?? {} },
    HostConfig: {
      ShmSize: 67108864,
      MemorySwap: 0,
      LogConfig: { Type: 'json-file', Config: {} },
      Runtime: 'runc',
      CgroupnsMode: 'host',
      Isolation: '',
      Ulimits: [],
      MemorySwappiness: null,
      OomKillDisable: false,
      CpuPeriod: 0,
      CpuQuota: 0,
      CpuRealtimePeriod: 0,
      CpuRealtimeRuntime: 0,
      CpuCount: 0,
      CpuPercent: 0,
      CpusetCpus: '',
      BlkioWeight: 0,
      BlkioWeightDevice: [],
      BlkioDeviceReadBps: [],
      DeviceCgroupRules: null,
      DeviceRequests: null,
      CgroupParent: '',
      UTSMode: '',
      UsernsMode: '',
      ...HostConfig,
      ...over,
    },
    Id: 'c0ffee'.padEnd(64, '0'),
    Name: `/${options.name ?? 'web-app-1'}`,
    Image: 'sha256:x',
    Mounts: [],
    // Each endpoint as the engine reports it (it adds the short id to the aliases).
    NetworkSettings: {
      Networks: Object.fromEntries(
        Object.entries(
          (options.NetworkingConfig?.EndpointsConfig ?? {}) as Record<
            string,
            { Aliases?: string[]; Links?: string[] }
          >,
        ).map(([n, ep]) => [
          n,
          { Aliases: [...(ep.Aliases ?? []), 'c0ffee000000'], Links: ep.Links ?? null },
        ]),
      ),
    },
  } as unknown as Docker.ContainerInspectInfo;
}

function drift(s: DesiredService, over: Record<string, unknown> = {}) {
  return diffFields(
    projectDesired(s, undefined),
    projectLive(inspectOf(containerOptions(s, ctx), over), undefined, '/home/m'),
  );
}

const P = 'refused by the safety policy';

describe('container keys: what the engine gets', () => {
  it('resources map onto the create call', async () => {
    const s = await serviceOf(
      [
        'cpu_period: 100000',
        'cpu_quota: 50000',
        'cpu_rt_period: 1s',
        'cpu_rt_runtime: 950000',
        'cpuset: "0"',
        'mem_swappiness: 10',
        'oom_kill_disable: true',
        'storage_opt: {size: 1G}',
        'isolation: default',
        'mac_address: 02:42:AC:11:00:99',
      ]
        .map((l) => `    ${l}\n`)
        .join(''),
    );
    const o = containerOptions(s, ctx);
    expect(o.HostConfig).toMatchObject({
      CpuPeriod: 100000,
      CpuQuota: 50000,
      CpuRealtimePeriod: 1_000_000,
      CpuRealtimeRuntime: 950_000,
      CpusetCpus: '0',
      MemorySwappiness: 10,
      OomKillDisable: true,
      StorageOpt: { size: '1G' },
      Isolation: 'default',
    });
    expect((o as { MacAddress?: string }).MacAddress).toBe('02:42:ac:11:00:99');
    expect(drift(s)).toEqual([]);
  });

  it('mem_swappiness: 0 sends nothing, as compose v2 does', async () => {
    const s = await serviceOf('    mem_swappiness: 0\n');
    expect(containerOptions(s, ctx).HostConfig).not.toHaveProperty('MemorySwappiness');
  });

  it('tmpfs: a path or a list of path[:options]', async () => {
    expect((await serviceOf('    tmpfs: /run\n')).passthrough?.hostConfig?.Tmpfs).toEqual({ '/run': '' });
    const s = await serviceOf('    tmpfs:\n      - /run:size=64k,mode=1777\n      - /tmp\n');
    expect(containerOptions(s, ctx).HostConfig?.Tmpfs).toEqual({ '/run': 'size=64k,mode=1777', '/tmp': '' });
    expect(drift(s)).toEqual([]);
    expect(drift(s, { Tmpfs: { '/run': 'size=64k,mode=1777' } })).toEqual([
      {
        path: 'tmpfs',
        desired: '{"/run":"size=64k,mode=1777","/tmp":""}',
        live: '{"/run":"size=64k,mode=1777"}',
      },
    ]);
  });

  it('ulimits: one value or soft and hard, each compared on its own', async () => {
    const s = await serviceOf('    ulimits:\n      nproc: 512\n      nofile: {soft: 1024, hard: 2048}\n');
    expect(containerOptions(s, ctx).HostConfig?.Ulimits).toEqual([
      { Name: 'nofile', Soft: 1024, Hard: 2048 },
      { Name: 'nproc', Soft: 512, Hard: 512 },
    ]);
    expect(drift(s)).toEqual([]);
    // A limit the daemon adds from its own defaults (dockerd --default-ulimit) is not git's to judge.
    const withDefault = [
      { Name: 'core', Soft: 0, Hard: 0 },
      { Name: 'nofile', Soft: 1024, Hard: 2048 },
      { Name: 'nproc', Soft: 512, Hard: 512 },
    ];
    expect(drift(s, { Ulimits: withDefault })).toEqual([]);
    expect(drift(s, { Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 4096 }] })).toEqual([
      { path: 'ulimits.nofile', desired: '1024:2048', live: '1024:4096' },
      { path: 'ulimits.nproc', desired: '512', live: null },
    ]);
  });

  it('logging: driver and options, compared only where git sets them', async () => {
    const s = await serviceOf(
      '    logging:\n      driver: json-file\n      options:\n        max-size: 10m\n        max-file: 3\n',
    );
    expect(containerOptions(s, ctx).HostConfig?.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-size': '10m', 'max-file': '3' },
    });
    expect(drift(s)).toEqual([]);
    // Options alone: the engine's default driver, and its default options merged in, are not drift.
    const opts = await serviceOf('    logging:\n      options: {max-size: 1m}\n');
    expect(
      drift(opts, { LogConfig: { Type: 'local', Config: { 'max-size': '1m', compress: 'true' } } }),
    ).toEqual([]);
    expect(drift(s, { LogConfig: { Type: 'local', Config: { 'max-size': '10m' } } })).toEqual([
      { path: 'logging.driver', desired: 'json-file', live: 'local' },
      { path: 'logging.options.max-file', desired: '3', live: null },
    ]);
  });

  it('blkio_config: weight and per-device limits in compose units', async () => {
    const s = await serviceOf(
      '    blkio_config:\n      weight: 300\n      device_read_bps:\n        - {path: /dev/sda, rate: 12mb}\n      device_write_iops:\n        - {path: /dev/sda, rate: 100}\n',
      { allowDevices: true },
    );
    expect(containerOptions(s, ctx).HostConfig).toMatchObject({
      BlkioWeight: 300,
      BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 12 * 1024 ** 2 }],
      BlkioDeviceWriteIOps: [{ Path: '/dev/sda', Rate: 100 }],
    });
    expect(drift(s)).toEqual([]);
    expect(drift(s, { BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1024 ** 2 }] })).toEqual([
      { path: 'blkio_config.device_read_bps', desired: '/dev/sda:12m', live: '/dev/sda:1m' },
    ]);
  });

  it('gpus: all, or device requests, with the gpu capability compose adds', async () => {
    const all = await serviceOf('    gpus: all\n', { allowDevices: true });
    expect(containerOptions(all, ctx).HostConfig?.DeviceRequests).toEqual([
      { Driver: '', Count: -1, Capabilities: [['gpu']] },
    ]);
    // The engine reports unset parts as null.
    expect(
      drift(all, {
        DeviceRequests: [{ Driver: '', Count: -1, DeviceIDs: null, Capabilities: [['gpu']], Options: null }],
      }),
    ).toEqual([]);
    const some = await serviceOf(
      '    gpus:\n      - driver: nvidia\n        device_ids: ["0"]\n        capabilities: [compute]\n',
      { allowDevices: true },
    );
    expect(containerOptions(some, ctx).HostConfig?.DeviceRequests).toEqual([
      { Driver: 'nvidia', Count: 0, DeviceIDs: ['0'], Capabilities: [['compute', 'gpu']] },
    ]);
  });

  it('namespaces and runtime as the engine names them', async () => {
    const s = await serviceOf(
      '    cgroup: private\n    runtime: runc\n    uts: host\n    userns_mode: host\n',
      {
        allowHostNamespaces: true,
      },
    );
    expect(containerOptions(s, ctx).HostConfig).toMatchObject({
      CgroupnsMode: 'private',
      Runtime: 'runc',
      UTSMode: 'host',
      UsernsMode: 'host',
    });
    expect(drift(s)).toEqual([]);
    expect(drift(s, { CgroupnsMode: 'host' })).toEqual([
      { path: 'cgroup', desired: 'private', live: 'host' },
    ]);
  });

  it('shows a docker update of a resource as drift named by the compose key', async () => {
    const s = await serviceOf('    cpu_period: 100000\n    cpu_quota: 50000\n    cpuset: "0"\n');
    expect(drift(s, { CpuQuota: 25000, CpusetCpus: '0-1' })).toEqual([
      { path: 'cpu_quota', desired: '50000', live: '25000' },
      { path: 'cpuset', desired: '0', live: '0-1' },
    ]);
    // Set out of band where git says nothing: drift too.
    expect(drift(await serviceOf(''), { CpuQuota: 25000 })).toEqual([
      { path: 'cpu_quota', desired: null, live: '25000' },
    ]);
  });

  it('what the engine drops for want of a cgroup controller is not drift', async () => {
    const s = await serviceOf(
      '    mem_swappiness: 10\n    oom_kill_disable: true\n    blkio_config: {weight: 300}\n',
    );
    // cgroup v2 has no swappiness, a kernel without CFQ no blkio weight: the engine warns and drops them.
    expect(drift(s, { MemorySwappiness: null, OomKillDisable: false, BlkioWeight: 0 })).toEqual([]);
    const percent = await serviceOf('    cpu_percent: 50\n');
    expect(drift(percent, { CpuPercent: 0 })).toEqual([]);
  });

  it('engine defaults of a service that uses none of these keys are not drift', async () => {
    const s = await serviceOf('    command: ["sleep", "1"]\n');
    expect(drift(s)).toEqual([]);
    expect(Object.keys(s)).not.toContain('passthrough');
    expect(specHash(s)).toBe(specHash({ ...s, passthrough: undefined }));
  });

  it('annotations are sent, and compared only by an engine that reports them (API 1.43+)', async () => {
    const s = await serviceOf('    annotations:\n      com.example.a: "1"\n');
    expect(containerOptions(s, ctx).HostConfig).toMatchObject({ Annotations: { 'com.example.a': '1' } });
    // API 1.41 has no such field: the inspect lacks it.
    expect(drift(s)).toEqual([]);
    expect(drift(s, { Annotations: { 'com.example.a': '2' } })).toEqual([
      { path: 'annotations', desired: '{"com.example.a":"1"}', live: '{"com.example.a":"2"}' },
    ]);
  });
});

describe('container keys: errors at their place', () => {
  it('reports bad values with line and column', async () => {
    expect(
      await errorsOf(
        [
          'ulimits:',
          '  nofile: {soft: 2048, hard: 1024}',
          '  NoFile: 1',
          'mac_address: nope',
          'tmpfs: [run]',
          'cgroup: shared',
          'blkio_config: {weight: 5}',
          'cpu_rt_runtime: soon',
          'mem_swappiness: 101',
        ]
          .map((l) => `    ${l}\n`)
          .join(''),
      ),
    ).toEqual([
      '5:15 services.app.ulimits.nofile: the soft limit 2048 is above the hard limit 1024',
      '6:7 services.app.ulimits: "NoFile" is not a ulimit name such as nofile or nproc',
      '7:18 services.app.mac_address: "nope" is not a MAC address such as 02:42:ac:11:00:02',
      '8:13 services.app.tmpfs[0]: "run" must be an absolute path in the container',
      '9:13 services.app.cgroup must be host or private, not "shared"',
      '10:28 services.app.blkio_config.weight must be between 10 and 1000',
      '11:21 services.app.cpu_rt_runtime must be a number of microseconds or a duration such as 950ms',
      '12:21 services.app.mem_swappiness must be between 0 and 100, not 101',
    ]);
  });

  it('says where a key only a Windows engine acts on is, and deploys the rest', async () => {
    const stack = await stackOf('    cpu_count: 2\n');
    expect(stack.warnings).toEqual([
      {
        file: 'web/compose.yaml',
        line: 4,
        column: 5,
        message: 'services.app.cpu_count applies to Windows engines only; a Linux engine ignores it',
      },
    ]);
    expect(Object.keys(await stackOf('    cpu_shares: 512\n'))).not.toContain('warnings');
  });
});

describe('container keys: the safety policy', () => {
  it('runtime: only those settings.json allows (runc by default)', async () => {
    expect(await errorsOf('    runtime: runsc\n')).toEqual([
      `4:14 services.app.runtime: ${P}: runtime runsc is not one of the allowed runtimes (runc); a runtime decides how the container is isolated from the host. Add it to settings.json safety.allowRuntimes`,
    ]);
    expect(
      (await serviceOf('    runtime: runsc\n', { allowRuntimes: ['runc', 'runsc'] })).passthrough,
    ).toEqual({
      hostConfig: { Runtime: 'runsc' },
    });
  });

  it('cgroup, uts and userns_mode: host share the host namespace', async () => {
    expect(await errorsOf('    cgroup: host\n    uts: host\n    userns_mode: host\n')).toEqual([
      `4:13 services.app.cgroup: ${P}: \`cgroup: host\` shares the host's namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
      `5:10 services.app.uts: ${P}: \`uts: host\` shares the host's namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
      `6:18 services.app.userns_mode: ${P}: \`userns_mode: host\` shares the host's namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
    ]);
    // private is the container's own.
    expect((await serviceOf('    cgroup: private\n')).passthrough?.hostConfig?.CgroupnsMode).toBe('private');
  });

  it('cgroup_parent places the container outside the engine’s cgroup', async () => {
    expect(await errorsOf('    cgroup_parent: /\n')).toEqual([
      `4:20 services.app.cgroup_parent: ${P}: cgroup_parent / places the container's processes in a cgroup of the host's choosing, outside the engine's own, where the limits the host sets for containers do not apply; allow it in settings.json safety.allowCgroupParent`,
    ]);
    expect((await serviceOf('    cgroup_parent: apps\n', { allowCgroupParent: true })).passthrough).toEqual({
      hostConfig: { CgroupParent: 'apps' },
    });
  });

  it('device_cgroup_rules, gpus and blkio device limits reach host devices', async () => {
    const devices = `${P}: access to host devices is not allowed; allow it in settings.json safety.allowDevices`;
    expect(
      await errorsOf(
        '    device_cgroup_rules: ["c 1:3 mr"]\n    gpus: all\n    blkio_config:\n      device_read_bps: [{path: /dev/sda, rate: 1mb}]\n',
      ),
    ).toEqual([
      `4:26 services.app.device_cgroup_rules: ${devices}`,
      `5:11 services.app.gpus: ${devices}`,
      `7:24 services.app.blkio_config.device_read_bps: ${P}: naming host devices is not allowed; allow it in settings.json safety.allowDevices`,
    ]);
    // A weight alone only shares this container's own I/O.
    expect((await serviceOf('    blkio_config: {weight: 500}\n')).passthrough?.hostConfig).toEqual({
      BlkioWeight: 500,
    });
  });

  it('annotations a container runtime acts on', async () => {
    expect(await errorsOf('    annotations:\n      run.oci.keep_original_groups: "1"\n')).toEqual([
      `5:7 services.app.annotations: ${P}: annotation run.oci.keep_original_groups is read by the container runtime, and can change how the container is confined; allow it in settings.json safety.allowUnconfined`,
    ]);
    expect(
      (
        await serviceOf('    annotations: ["io.katacontainers.config.hypervisor.path=/x"]\n', {
          allowUnconfined: true,
        })
      ).passthrough,
    ).toEqual({ hostConfig: { Annotations: { 'io.katacontainers.config.hypervisor.path': '/x' } } });
  });

  it('a log driver pointed at the Docker socket', async () => {
    expect(
      await errorsOf(
        '    logging:\n      driver: syslog\n      options: {syslog-address: "unix:///var/run/docker.sock"}\n',
      ),
    ).toEqual([
      `6:16 services.app.logging.options.syslog-address: ${P}: mounting /var/run/docker.sock exposes the Docker socket, which controls the whole engine; allow it in settings.json safety.allowDockerSocket`,
    ]);
    expect(
      (
        await serviceOf(
          '    logging:\n      driver: syslog\n      options: {syslog-address: "unix:///dev/log"}\n',
        )
      ).passthrough?.hostConfig?.LogConfig,
    ).toEqual({ Type: 'syslog', Config: { 'syslog-address': 'unix:///dev/log' } });
  });
});

/** Two services: `app` (written by the test) and `db`. */
async function pairOf(
  appYaml: string,
  safety: Partial<SafetySettings> = {},
  files: Record<string, string> = {},
) {
  const all: Record<string, string> = {
    ...files,
    'web/compose.yaml': `services:\n  app:\n    image: local/busybox:1\n${appYaml}  db:\n    image: local/busybox:1\n`,
  };
  return loadStack({
    reader: {
      readFile: (p) => Promise.resolve(all[p] ?? null),
      stat: (p) => Promise.resolve(p in all ? { type: 'blob', oid: 'f'.repeat(40) } : null),
    },
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety: { ...DEFAULT_SAFETY, ...safety },
    homeDir: '/home/me',
  });
}

const names = new Map([
  ['app', 'web-app-1'],
  ['db', 'web-db-1'],
]);
const peers = new Map([
  ['web-db-1', { project: 'web', service: 'db' }],
  ['0123abcd', { project: 'web', service: 'db' }],
  ['other-x-1', { project: 'other', service: 'x' }],
]);

function inspectWith(options: Docker.ContainerCreateOptions, over: Record<string, unknown> = {}) {
  const base = inspectOf(options, over) as unknown as { Config: { Labels: Record<string, string> } };
  base.Config.Labels = { ...base.Config.Labels, 'com.docker.compose.project': 'web' };
  return base as unknown as Docker.ContainerInspectInfo;
}

describe('service keys beyond one create field', () => {
  it('expose: ports and ranges, exposed beside the published ones', async () => {
    const s = await serviceOf('    ports: ["8080:80"]\n    expose: ["9000-9001/udp", 3000, "80"]\n');
    expect(s.expose).toEqual(['80/tcp', '3000/tcp', '9000/udp', '9001/udp']);
    const o = containerOptions(s, ctx);
    expect(Object.keys(o.ExposedPorts ?? {}).sort()).toEqual(['3000/tcp', '80/tcp', '9000/udp', '9001/udp']);
    expect(drift(s)).toEqual([]);
    // The image's own EXPOSE is in every container of it: not git's, not drift.
    const image = {
      id: 'sha256:x',
      env: {},
      cmd: null,
      entrypoint: null,
      workingDir: '',
      user: '',
      labels: {},
      healthcheck: null,
      exposed: ['443/tcp'],
    };
    const live = inspectOf(o, {});
    (live.Config as { ExposedPorts: Record<string, object> }).ExposedPorts = {
      ...o.ExposedPorts,
      '443/tcp': {},
    };
    expect(diffFields(projectDesired(s, image), projectLive(live, image, '/home/m'))).toEqual([]);
    // A container recreated by hand with one more port exposed.
    (live.Config as { ExposedPorts: Record<string, object> }).ExposedPorts['5000/tcp'] = {};
    expect(diffFields(projectDesired(s, image), projectLive(live, image, '/home/m'))).toEqual([
      {
        path: 'expose',
        desired: '3000/tcp, 9000/udp, 9001/udp',
        live: '3000/tcp, 5000/tcp, 9000/udp, 9001/udp',
      },
    ]);
  });

  it('expose: a bad port at its place', async () => {
    expect(await errorsOf('    expose: ["80/http", "70000"]\n')).toEqual([
      '4:14 services.app.expose[0]: "80/http" is not a port such as 80, 8080/udp or 9000-9010',
      expect.stringMatching(/^4:25 services\.app\.expose\[1\]: "70000" is not a port/),
    ]);
  });

  it('links and external_links: aliases on each endpoint, the linked service a dependency', async () => {
    const r = await pairOf('    links: [db, "db:database"]\n    external_links: ["legacy:old"]\n');
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    const app = r.stack.services.find((s) => s.name === 'app')!;
    expect(app.links).toEqual(['db:database', 'db:db']);
    expect(app.externalLinks).toEqual(['legacy:old']);
    expect(app.dependsOn).toEqual([{ service: 'db', condition: 'service_started' }]);
    const o = containerOptions(app, { ...ctx, containerNames: names });
    expect(Object.values(o.NetworkingConfig?.EndpointsConfig ?? {})[0]).toMatchObject({
      Links: ['web-db-1:database', 'web-db-1:db', 'legacy:old'],
    });
    const fields = projectLive(inspectWith(o), undefined, '/home/m', peers);
    expect(diffFields(projectDesired(app, undefined), fields)).toEqual([]);
    // A link removed by hand (a container recreated without it) is drift.
    const [network, endpoint] = Object.entries(o.NetworkingConfig?.EndpointsConfig ?? {})[0]!;
    const recreated = {
      ...o,
      NetworkingConfig: { EndpointsConfig: { [network]: { ...endpoint, Links: ['web-db-1:db'] } } },
    };
    const lost = projectLive(inspectWith(recreated), undefined, '/home/m', peers);
    expect(diffFields(projectDesired(app, undefined), lost)).toEqual([
      { path: 'external_links', desired: 'legacy:old', live: null },
      { path: 'links', desired: 'db:database, db:db', live: 'db:db' },
    ]);
  });

  it('volumes_from: a service of the stack by its container, and the mounts it brings are not drift', async () => {
    const r = await pairOf('    volumes_from: ["db:ro"]\n');
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    const app = r.stack.services.find((s) => s.name === 'app')!;
    expect(app.volumesFrom).toEqual(['db:ro']);
    expect(app.dependsOn).toEqual([{ service: 'db', condition: 'service_started' }]);
    const o = containerOptions(app, { ...ctx, containerNames: names });
    expect(o.HostConfig?.VolumesFrom).toEqual(['web-db-1:ro']);
    const live = inspectWith(o) as unknown as { Mounts: unknown[] };
    live.Mounts = [{ Type: 'volume', Name: 'web_data', Destination: '/data', RW: false, Mode: '' }];
    const fields = projectLive(live as unknown as Docker.ContainerInspectInfo, undefined, '/home/m', peers);
    expect(diffFields(projectDesired(app, undefined), fields)).toEqual([]);
    // compose names the container by its id: the same service.
    const byId = projectLive(inspectWith(o, { VolumesFrom: ['0123abcd:ro'] }), undefined, '/home/m', peers);
    expect(byId.volumes_from).toBe('db:ro');
    const rw = projectLive(inspectWith(o, { VolumesFrom: ['web-db-1'] }), undefined, '/home/m', peers);
    expect(diffFields(projectDesired(app, undefined), rw)).toEqual([
      { path: 'volumes_from', desired: 'db:ro', live: 'db' },
    ]);
  });

  it('volumes_from: container:NAME reaches outside the stack', async () => {
    expect(await errorsOf('    volumes_from: ["container:portainer"]\n')).toEqual([
      `4:20 services.app.volumes_from[0]: ${P}: \`volumes_from: container:portainer\` mounts the volumes and host folders of a container that is not part of this stack; name a service of this stack instead, or allow it in settings.json safety.allowContainerNamespaces`,
    ]);
    const s = await serviceOf('    volumes_from: ["container:portainer:rw"]\n', {
      allowContainerNamespaces: true,
    });
    expect(s.volumesFrom).toEqual(['container:portainer']);
    expect(containerOptions(s, ctx).HostConfig?.VolumesFrom).toEqual(['portainer']);
    expect(s.dependsOn).toEqual([]);
  });

  it('label_file: labels from files of the repo, labels: over them', async () => {
    const r = await loadWith(
      '    label_file: [./a.labels, b.labels]\n    labels: {tier: front}\n',
      {},
      {
        'web/a.labels': 'tier=back\nteam=core\n',
        'web/b.labels': 'team=platform\n',
      },
    );
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    expect(r.stack.services[0]!.labels).toEqual({ tier: 'front', team: 'platform' });
    expect(await errorsOf('    label_file: /etc/passwd\n')).toEqual([
      '4:17 services.app.label_file: /etc/passwd must be a path inside the config repo, relative to the stack folder',
    ]);
    expect(await errorsOf('    label_file: ../../../etc/passwd\n')).toEqual([
      '4:17 services.app.label_file: ../../../etc/passwd must be a path inside the config repo, relative to the stack folder',
    ]);
    const reserved = await loadWith(
      '    label_file: x.labels\n',
      {},
      { 'web/x.labels': 'dev.mooring.managed=false\n' },
    );
    expect(reserved.ok ? [] : reserved.errors.map((e) => e.message)).toEqual([
      'services.app.label_file: label dev.mooring.managed in web/x.labels is reserved; Mooring sets the com.docker.compose.* and dev.mooring.* labels itself',
    ]);
  });

  it('post_start and pre_stop hooks; a privileged one is the safety policy’s', async () => {
    const s = await serviceOf(
      '    post_start:\n      - command: echo up\n        user: root\n        environment: {A: "1"}\n    pre_stop:\n      - command: ["sh", "-c", "sleep 1"]\n',
    );
    expect(s.postStart).toEqual([{ command: ['echo', 'up'], user: 'root', environment: { A: '1' } }]);
    expect(s.preStop).toEqual([{ command: ['sh', '-c', 'sleep 1'] }]);
    expect(await errorsOf('    post_start:\n      - command: id\n        privileged: true\n')).toEqual([
      `6:21 services.app.post_start[0].privileged: ${P}: a privileged hook runs its command with every capability and device of the host; allow privileged containers in settings.json safety.allowPrivileged`,
    ]);
    expect(await errorsOf('    pre_stop:\n      - user: root\n')).toEqual([
      '5:9 services.app.pre_stop[0].command is required',
    ]);
  });

  it('use_api_socket: the engine socket, only where settings.json allows it', async () => {
    expect(await errorsOf('    use_api_socket: true\n')).toEqual([
      `4:21 services.app.use_api_socket: ${P}: mounting /var/run/docker.sock exposes the Docker socket, which controls the whole engine; allow it in settings.json safety.allowDockerSocket`,
    ]);
    const stack = await stackOf('    use_api_socket: true\n', { allowDockerSocket: true });
    expect(stack.services[0]!.mounts).toEqual([
      { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: false },
    ]);
    expect(stack.warnings?.[0]?.message).toMatch(/does not copy this machine's registry credentials/);
    expect((await serviceOf('    use_api_socket: false\n')).mounts).toEqual([]);
  });

  it('platform and pull_policy are checked; pull_policy changes no container', async () => {
    const s = await serviceOf('    platform: Linux/ARM64/v8\n    pull_policy: every_12h\n');
    expect(s.platform).toBe('linux/arm64/v8');
    expect(s.pullPolicy).toBe('every_12h');
    expect((containerOptions(s, ctx) as { platform?: string }).platform).toBe('linux/arm64/v8');
    expect(specHash(s)).toBe(specHash({ ...s, pullPolicy: 'never' }));
    expect((await serviceOf('    pull_policy: refresh\n    pull_refresh_after: 2d\n')).pullPolicy).toBe(
      'every_2d',
    );
    expect(await errorsOf('    platform: amd64\n    pull_policy: sometimes\n')).toEqual([
      '4:15 services.app.platform: "amd64" is not a platform such as linux/amd64 or linux/arm64/v8',
      '5:18 services.app.pull_policy must be always, never, missing, if_not_present, build, daily, weekly, every_<duration> (every_12h) or refresh, not "sometimes"',
    ]);
    expect(await errorsOf('    pull_policy: build\n')).toEqual([
      '4:18 services.app.pull_policy: build needs a build: section that says what to build',
    ]);
  });

  it('scale is the number of replicas, and must agree with deploy.replicas', async () => {
    expect((await serviceOf('    scale: 3\n')).replicas).toBe(3);
    expect(Object.keys(await serviceOf('    scale: 1\n'))).not.toContain('replicas');
    expect(await errorsOf('    scale: 2\n    deploy: {replicas: 3}\n')).toEqual([
      '4:12 services.app.scale: scale (2) and deploy.replicas (3) differ; set only one of them',
    ]);
  });

  it('keys for the compose CLI, Windows or model runners are kept and said', async () => {
    const stack = await stackOf(
      [
        'attach: false',
        'develop: {watch: [{path: ., action: rebuild}]}',
        'credential_spec: {file: spec.json}',
        'models: [llm]',
        'pre_start: [{command: migrate}]',
      ]
        .map((l) => `    ${l}\n`)
        .join(''),
    );
    expect(
      stack.warnings?.map((w) => `${w.line}:${w.column} ${w.message.split(' ').slice(0, 5).join(' ')}`),
    ).toEqual([
      '4:5 services.app.attach applies to the compose',
      '5:5 services.app.develop applies to the compose',
      '6:5 services.app.credential_spec applies to Windows engines',
      '7:5 services.app.models is for Docker Model',
      '8:5 services.app.pre_start applies to the compose',
    ]);
    // None of them changes the container.
    expect(drift(stack.services[0]!)).toEqual([]);
  });
});
