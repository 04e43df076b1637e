// Drift of networks and volumes (issue 11, item 8), without an engine: a container's per-network
// settings with the engine's own aliases normalized away; declared networks and volumes against the
// engine's; a stack of only a network and a volume; what the plan does about each.
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { LiveNetwork, LiveVolume } from '../../electron/engine/docker/docker-adapter.ts';
import { diffFields, type Fields } from '../../electron/engine/docker/fields.ts';
import { desiredEndpointFields, liveEndpointFields } from '../../electron/engine/docker/network-fields.ts';
import { apiBefore, networkPlanChecks } from '../../electron/engine/reconcile/network-plan.ts';
import { planStack } from '../../electron/engine/reconcile/plan.ts';
import { resourceStatuses, withResources } from '../../electron/engine/reconcile/resource-status.ts';
import { computeStatus } from '../../electron/engine/reconcile/status.ts';
import type {
  DesiredNetwork,
  DesiredService,
  DesiredStack,
  DesiredVolume,
} from '../../electron/shared/model.ts';
import { DEFAULT_POLICY } from '../../electron/engine/manifest/index.ts';

const service = (networks: DesiredService['networks']): DesiredService =>
  ({ name: 'app', containerName: 'web-app-1', networkMode: null, networks }) as unknown as DesiredService;

function container(networks: Record<string, object>, hostname = 'abcdef012345'): Docker.ContainerInspectInfo {
  return {
    Id: 'abcdef0123456789'.padEnd(64, '0'),
    Name: '/web-app-1',
    Config: { Hostname: hostname },
    NetworkSettings: { Networks: networks },
  } as unknown as Docker.ContainerInspectInfo;
}

function endpointDiff(s: DesiredService, c: Docker.ContainerInspectInfo): ReturnType<typeof diffFields> {
  const d: Fields = {};
  const l: Fields = {};
  desiredEndpointFields(s, d);
  liveEndpointFields(c, l);
  return diffFields(d, l);
}

describe("a container's settings on each network", () => {
  it('drops the aliases the engine (short id) and compose (container name) add', () => {
    const s = service([{ name: 'web_front', aliases: ['app', 'www'], ipv4Address: '10.5.0.10' }]);
    const live = container({
      web_front: {
        Aliases: ['web-app-1', 'app', 'www', 'abcdef012345'],
        IPAMConfig: { IPv4Address: '10.5.0.10' },
        MacAddress: '02:42:0a:05:00:0a',
        DriverOpts: null,
      },
    });
    expect(endpointDiff(s, live)).toEqual([]);
  });

  it('drops the hostname the engine adds as an alias, on both sides', () => {
    const s = {
      ...service([{ name: 'web_front', aliases: ['app', 'db-host'] }]),
      hostname: 'db-host',
    } as DesiredService;
    const live = container(
      { web_front: { Aliases: ['web-app-1', 'app', 'abcdef012345', 'db-host'] } },
      'db-host',
    );
    expect(endpointDiff(s, live)).toEqual([]);
    const other = container({ web_front: { Aliases: ['app', 'abcdef012345', 'old-host'] } }, 'old-host');
    expect(endpointDiff({ ...s, hostname: null }, other)).toEqual([
      { path: 'networks.web_front.aliases', desired: 'app, db-host', live: 'app' },
    ]);
  });

  it('shows a different fixed address, a lost alias, or one given by hand', () => {
    const s = service([{ name: 'web_front', aliases: ['app', 'www'], ipv4Address: '10.5.0.10' }]);
    const live = container({
      web_front: { Aliases: ['app', 'abcdef012345', 'extra'], IPAMConfig: { IPv4Address: '10.5.0.99' } },
    });
    expect(endpointDiff(s, live)).toEqual([
      { path: 'networks.web_front.aliases', desired: 'app, www', live: 'app, extra' },
      { path: 'networks.web_front.ipv4_address', desired: '10.5.0.10', live: '10.5.0.99' },
    ]);
    // Reconnected without its fixed address: the engine picked one, and the file's is missing.
    const dynamic = container({ web_front: { Aliases: ['app', 'www'], IPAMConfig: null } });
    expect(endpointDiff(s, dynamic)).toEqual([
      { path: 'networks.web_front.ipv4_address', desired: '10.5.0.10', live: null },
    ]);
  });

  it('compares a MAC address only when git sets one, a gateway priority only where the engine reports it', () => {
    const unset = service([{ name: 'n', aliases: ['app'] }]);
    const live = container({ n: { Aliases: ['app'], MacAddress: '02:42:ac:11:00:05' } });
    expect(endpointDiff(unset, live)).toEqual([]);
    const set = service([{ name: 'n', aliases: ['app'], macAddress: '02:42:ac:11:00:09', gwPriority: 5 }]);
    expect(endpointDiff(set, live)).toEqual([
      { path: 'networks.n.mac_address', desired: '02:42:ac:11:00:09', live: '02:42:ac:11:00:05' },
    ]);
    const newer = container({ n: { Aliases: ['app'], MacAddress: '02:42:ac:11:00:09', GwPriority: 0 } });
    expect(endpointDiff(set, newer)).toEqual([{ path: 'networks.n.gw_priority', desired: '5', live: '0' }]);
  });
});

const net = (extra: Partial<DesiredNetwork> = {}): DesiredNetwork => ({
  key: 'back',
  name: 'web_back',
  external: false,
  driver: 'bridge',
  labels: { 'com.docker.compose.project': 'web', 'dev.mooring.managed': 'true', team: 'a' },
  ...extra,
});
const vol = (extra: Partial<DesiredVolume> = {}): DesiredVolume => ({
  key: 'data',
  name: 'web_data',
  external: false,
  driver: 'local',
  labels: { 'com.docker.compose.project': 'web', 'dev.mooring.managed': 'true' },
  ...extra,
});
const stackOf = (networks: DesiredNetwork[], volumes: DesiredVolume[]): DesiredStack => ({
  name: 'web',
  file: 'web/compose.yaml',
  services: [],
  networks,
  volumes,
});
const liveNet = (extra: Partial<LiveNetwork> = {}): LiveNetwork => ({
  id: 'n1',
  name: 'web_back',
  driver: 'bridge',
  created: '',
  labels: {
    'com.docker.compose.project': 'web',
    'com.docker.compose.version': '2.0.0',
    'dev.mooring.managed': 'true',
    'dev.mooring.instance': 'x',
    team: 'a',
  },
  options: {},
  // What the engine fills in when the file gives no ipam: its own pool, gateway and driver.
  ipam: { driver: 'default', config: [{ subnet: '172.30.0.0/16', gateway: '172.30.0.1' }], options: {} },
  internal: false,
  attachable: false,
  enableIpv6: false,
  ...extra,
});
const liveVol = (extra: Partial<LiveVolume> = {}): LiveVolume => ({
  name: 'web_data',
  driver: 'local',
  labels: { 'com.docker.compose.project': 'web', 'dev.mooring.managed': 'true' },
  options: {},
  ...extra,
});

describe('declared networks and volumes against the engine', () => {
  it('a network the engine filled in is as declared', () => {
    expect(
      resourceStatuses(stackOf([net()], [vol()]), { networks: [liveNet()], volumes: [liveVol()] }),
    ).toEqual([]);
  });

  it('compares what the file sets: internal, subnet and gateway, options, labels', () => {
    const desired = net({
      internal: true,
      driverOpts: { 'com.docker.network.driver.mtu': '1400' },
      ipam: { config: [{ subnet: '10.9.0.0/24' }] },
    });
    const same = liveNet({
      internal: true,
      options: { 'com.docker.network.driver.mtu': '1400' },
      ipam: { driver: 'default', config: [{ subnet: '10.9.0.0/24', gateway: '10.9.0.1' }], options: {} },
    });
    expect(resourceStatuses(stackOf([desired], []), { networks: [same], volumes: [] })).toEqual([]);
    const other = liveNet({ labels: { ...liveNet().labels, team: 'b' } });
    expect(resourceStatuses(stackOf([desired], []), { networks: [other], volumes: [] })).toEqual([
      {
        kind: 'network',
        key: 'back',
        name: 'web_back',
        sync: 'OutOfSync',
        reasons: [
          { path: 'networks.back.driver_opts.com.docker.network.driver.mtu', desired: '1400', live: null },
          { path: 'networks.back.internal', desired: 'true', live: 'false' },
          { path: 'networks.back.ipam.config', desired: 'subnet 10.9.0.0/24', live: 'subnet 172.30.0.0/16' },
          { path: 'networks.back.labels.team', desired: 'a', live: 'b' },
        ],
      },
    ]);
  });

  it('does not judge a network or volume Mooring did not make for the stack (the plan says it uses it)', () => {
    const foreign = liveNet({ labels: {}, internal: true });
    expect(resourceStatuses(stackOf([net()], []), { networks: [foreign], volumes: [] })).toEqual([]);
  });

  it('a volume with other options differs', () => {
    const desired = vol({ driverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    expect(resourceStatuses(stackOf([], [desired]), { networks: [], volumes: [liveVol()] })).toEqual([
      {
        kind: 'volume',
        key: 'data',
        name: 'web_data',
        sync: 'OutOfSync',
        reasons: [
          { path: 'volumes.data.driver_opts.device', desired: 'tmpfs', live: null },
          { path: 'volumes.data.driver_opts.type', desired: 'tmpfs', live: null },
        ],
      },
    ]);
  });

  it('a stack of only a network and a volume is Missing until both exist, then Synced', () => {
    const desired = stackOf([net()], [vol()]);
    const status = (networks: LiveNetwork[], volumes: LiveVolume[]) =>
      computeStatus({
        source: 's',
        name: 'web',
        revision: 'r',
        desired,
        errors: [],
        policy: DEFAULT_POLICY,
        observed: [],
        images: new Map(),
        hashes: new Map(),
        warnings: [],
        engineReachable: true,
        liveResources: { networks, volumes },
      });
    const none = status([], []);
    expect([none.sync, none.health]).toEqual(['Missing', 'Missing']);
    expect(none.resources?.map((r) => [r.kind, r.name, r.sync])).toEqual([
      ['network', 'web_back', 'Missing'],
      ['volume', 'web_data', 'Missing'],
    ]);
    const half = status([liveNet()], []);
    expect([half.sync, half.resources?.length]).toEqual(['OutOfSync', 1]);
    const all = status([liveNet()], [liveVol()]);
    expect([all.sync, all.health, all.resources]).toEqual(['Synced', 'Healthy', undefined]);
  });

  it('keeps a stack of services Missing when only its containers are gone, OutOfSync when a network differs', () => {
    const missing = withResources(stackOf([net()], []), 1, 'Missing', 'Missing', []);
    expect(missing).toEqual({ sync: 'Missing', health: 'Missing' });
    const differs = withResources(stackOf([net()], []), 1, 'Synced', 'Healthy', [
      { kind: 'network', key: 'back', name: 'web_back', sync: 'OutOfSync', reasons: [] },
    ]);
    expect(differs).toEqual({ sync: 'OutOfSync', health: 'Healthy' });
  });
});

describe('the plan', () => {
  const desired = stackOf([net({ internal: true })], [vol({ driverOpts: { type: 'tmpfs' } })]);
  const resources = resourceStatuses(desired, { networks: [liveNet()], volumes: [liveVol()] });
  const status = {
    source: 's',
    name: 'web',
    revision: 'r',
    sync: 'OutOfSync' as const,
    health: 'Healthy' as const,
    services: [],
    errors: [],
    warnings: [],
    policy: DEFAULT_POLICY,
    suspended: false,
    resources,
  };

  it('makes a differing network again when this home made it, and says what to do about a volume', () => {
    const input = {
      desired,
      status,
      missingImages: new Set<string>(),
      existingNetworks: new Set(['web_back']),
      existingVolumes: new Set(['web_data']),
      prune: false,
    };
    expect(
      planStack({ ...input, ownNetworks: new Set(['web_back']) }).map((a) => [a.kind, a.target, a.reason]),
    ).toEqual([
      [
        'recreate-network',
        'web_back',
        'differs from git: networks.back.internal (a network cannot be changed in place)',
      ],
    ]);
    expect(planStack({ ...input, ownNetworks: new Set() })).toEqual([]);
    const { notes, problems } = networkPlanChecks(desired, resources, new Set(), '1.41');
    expect(problems).toEqual([]);
    expect(notes).toEqual([
      'network web_back differs from git (networks.back.internal: git true, engine false), but this Mooring home did not make it: left as it is; remove it (docker network rm web_back) for Mooring to make it again',
      "volume web_data differs from git (volumes.data.driver_opts.type: git tmpfs, engine (unset)); Mooring never makes a volume again, its data would be lost: to apply git's settings, save what it holds, remove the containers that mount it and the volume (docker volume rm web_data), then sync",
    ]);
  });

  it('refuses what this engine cannot do that compose refuses too, and names what it drops', () => {
    const s = {
      ...service([
        { name: 'web_a', aliases: ['app'], gwPriority: 1 },
        { name: 'web_b', aliases: ['app'], macAddress: '02:42:ac:11:00:09' },
      ]),
    };
    const stack = { ...stackOf([net({ enableIpv4: false })], []), services: [s] };
    const checks = networkPlanChecks(stack, [], new Set(), '1.41');
    expect(checks.notes).toEqual([
      'networks.back.enable_ipv4: false needs Docker Engine 28 (API 1.47); this engine (API 1.41) keeps IPv4 on',
      'services.app.networks (web_a): gw_priority needs Docker Engine 28 (API 1.48); this engine (API 1.41) takes none',
    ]);
    expect(checks.problems).toEqual([
      'services.app.networks (web_b): this engine (API 1.41) takes a MAC address only for the first network a container joins (web_a); a MAC address on another needs Docker Engine 25 (API 1.44): give this network the highest priority, or remove its mac_address',
    ]);
    expect(networkPlanChecks(stack, [], new Set(), '1.49')).toEqual({ notes: [], problems: [] });
    expect([apiBefore('1.41', '1.44'), apiBefore('1.44', '1.44'), apiBefore('2.0', '1.49')]).toEqual([
      true,
      false,
      false,
    ]);
  });
});
