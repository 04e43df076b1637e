// Top-level networks and volumes, and a service's `networks:` long syntax (issue 11): every key compose
// v2 reads, errors at their place, and the safety policy for what reaches the host (a volume that binds
// a host folder, mounts a disk or a share; a network on a host interface; plugin drivers).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadStack, specHash } from '../../electron/engine/manifest/index.ts';
import type { RepoReader } from '../../electron/engine/manifest/index.ts';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type { DesiredStack, SafetySettings } from '../../electron/shared/model.ts';

/** line, column, message */
type LoadResultError = [number, number, string];

function repo(files: Record<string, string>): RepoReader {
  const oid = (text: string): string => createHash('sha1').update(text).digest('hex');
  return {
    readFile: (path) => Promise.resolve(files[path] ?? null),
    stat: (path) => Promise.resolve(path in files ? { type: 'blob', oid: oid(files[path]!) } : null),
  };
}

async function result(
  compose: string,
  safety: SafetySettings = DEFAULT_SAFETY,
): ReturnType<typeof loadStack> {
  return loadStack({
    reader: repo({ 'web/compose.yaml': compose }),
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety,
    homeDir: '/home/me',
  });
}

async function load(compose: string, safety: SafetySettings = DEFAULT_SAFETY): Promise<DesiredStack> {
  const r = await result(compose, safety);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.stack;
}

async function errors(compose: string, safety: SafetySettings = DEFAULT_SAFETY): Promise<LoadResultError[]> {
  const r = await result(compose, safety);
  if (r.ok) throw new Error('expected the stack to be refused');
  return r.errors.map((e): LoadResultError => [e.line, e.column, e.message]);
}

const allow = (extra: Partial<SafetySettings>): SafetySettings => ({ ...DEFAULT_SAFETY, ...extra });

describe('top-level networks', () => {
  it('reads every key compose reads and sends', async () => {
    const stack = await load(`services:
  app:
    image: x
    networks: [back]
networks:
  back:
    driver: bridge
    driver_opts:
      com.docker.network.driver.mtu: 1400
    ipam:
      driver: default
      config:
        - subnet: 172.28.0.0/16
          ip_range: 172.28.5.0/24
          gateway: 172.28.5.254
          aux_addresses:
            host1: 172.28.1.5
      options:
        foo: bar
    internal: true
    attachable: true
    enable_ipv6: false
    enable_ipv4: true
    labels: [team=web]
`);
    expect(stack.networks).toStrictEqual([
      {
        key: 'back',
        name: 'web_back',
        external: false,
        driver: 'bridge',
        labels: {
          team: 'web',
          'com.docker.compose.project': 'web',
          'com.docker.compose.network': 'back',
          'dev.mooring.managed': 'true',
        },
        driverOpts: { 'com.docker.network.driver.mtu': '1400' },
        ipam: {
          driver: 'default',
          config: [
            {
              subnet: '172.28.0.0/16',
              ipRange: '172.28.5.0/24',
              gateway: '172.28.5.254',
              auxAddresses: { host1: '172.28.1.5' },
            },
          ],
          options: { foo: 'bar' },
        },
        internal: true,
        attachable: true,
        enableIpv6: false,
        enableIpv4: true,
      },
    ]);
  });

  it('leaves out what the file does not set, so that stacks hash and compare as before', async () => {
    const stack = await load(`services:
  app:
    image: x
    networks:
      front:
        aliases: [www]
networks:
  front:
`);
    // toStrictEqual: no key beyond these, not even an undefined one.
    expect(stack.networks).toStrictEqual([
      {
        key: 'front',
        name: 'web_front',
        external: false,
        driver: 'bridge',
        labels: {
          'com.docker.compose.project': 'web',
          'com.docker.compose.network': 'front',
          'dev.mooring.managed': 'true',
        },
      },
    ]);
    expect(stack.services[0]!.networks).toStrictEqual([{ name: 'web_front', aliases: ['app', 'www'] }]);
    // The spec hash of this service as every release before issue 11 computed it.
    expect(specHash(stack.services[0]!)).toBe(
      specHash({ ...stack.services[0]!, networks: [{ name: 'web_front', aliases: ['app', 'www'] }] }),
    );
  });

  it('accepts the legacy external: {name: X}, and says when it conflicts with name', async () => {
    const stack = await load(`services:
  app:
    image: x
    networks: [proxy]
networks:
  proxy:
    external:
      name: traefik_proxy
volumes:
  data:
    external: {name: shared_data}
`);
    expect(stack.networks.map((n) => [n.key, n.name, n.external])).toEqual([
      ['proxy', 'traefik_proxy', true],
    ]);
    expect(stack.volumes.map((v) => [v.key, v.name, v.external])).toEqual([['data', 'shared_data', true]]);
    expect(
      await errors(`services: {}
networks:
  proxy:
    name: a
    external:
      name: b
`),
    ).toEqual([
      [
        6,
        13,
        'networks.proxy: name and external.name conflict; keep only name (external.name is its older spelling)',
      ],
    ]);
  });

  it('keeps the other keys of an external network with a warning, as compose ignores them', async () => {
    const stack = await load(`services:
  app:
    image: x
    networks: [proxy]
networks:
  proxy:
    external: true
    driver: overlay
`);
    expect(stack.networks[0]).toMatchObject({ name: 'proxy', external: true, driver: '' });
    expect(stack.warnings?.map((w) => [w.line, w.column, w.message])).toEqual([
      [
        8,
        5,
        'networks.proxy.driver: the network is external, used as it exists; driver has no effect (remove it, or remove external: true for Mooring to create it)',
      ],
    ]);
  });

  it('reports bad subnets, gateways and addresses at their place', async () => {
    expect(
      await errors(`services: {}
networks:
  n:
    ipam:
      config:
        - subnet: 172.28.0.0
          gateway: 10.0.0.1
        - subnet: 10.1.0.0/16
          gateway: 10.2.0.1
          aux_addresses: {a: nope}
        - {subnet: 10.3.0.0/16, bogus: 1}
    internal: maybe
`),
    ).toEqual([
      [
        6,
        19,
        'networks.n.ipam.config[0].subnet: "172.28.0.0" is not a subnet; write ADDRESS/PREFIX, such as 172.28.0.0/16',
      ],
      [9, 20, 'networks.n.ipam.config[1].gateway: 10.2.0.1 is not inside the subnet 10.1.0.0/16'],
      [10, 30, 'networks.n.ipam.config[1].aux_addresses.a: "nope" is not an IP address'],
      [11, 33, 'networks.n.ipam.config[2].bogus: Mooring does not support `bogus`'],
      [12, 15, 'networks.n.internal must be true or false'],
    ]);
  });
});

describe('safety: networks on host interfaces and plugin drivers', () => {
  const macvlan = `services: {}
networks:
  lan:
    driver: macvlan
    driver_opts:
      parent: eth0
`;
  it('refuses macvlan and ipvlan unless safety.allowHostInterfaces', async () => {
    const [[line, col, message]] = (await errors(macvlan)) as [LoadResultError];
    expect([line, col]).toEqual([4, 13]);
    expect(message).toContain('driver macvlan puts the containers straight onto the host interface eth0');
    expect(message).toContain('settings.json safety.allowHostInterfaces');
    expect((await load(macvlan, allow({ allowHostInterfaces: true }))).networks[0]!.driver).toBe('macvlan');
  });

  it('refuses a bridge that names its host interface unless safety.allowHostInterfaces', async () => {
    const compose = `services: {}
networks:
  n:
    driver_opts:
      com.docker.network.bridge.name: br0
`;
    const [[line, , message]] = (await errors(compose)) as [LoadResultError];
    expect(line).toBe(5);
    expect(message).toContain(
      'com.docker.network.bridge.name: br0 makes the engine take over a host interface',
    );
    expect(message).toContain('safety.allowHostInterfaces');
    await load(compose, allow({ allowHostInterfaces: true }));
  });

  it('refuses a network plugin unless listed in safety.allowNetworkDrivers; bridge and overlay need nothing', async () => {
    const compose = `services: {}
networks:
  a: {driver: weave}
  b: {driver: overlay}
  c: {driver: bridge}
`;
    expect(await errors(compose)).toEqual([
      [
        3,
        15,
        'networks.a.driver: refused by the safety policy: network driver weave is a plugin of the engine, which acts on the host as root as its options ask; add weave (or ALL) to settings.json safety.allowNetworkDrivers',
      ],
    ]);
    await load(compose, allow({ allowNetworkDrivers: ['weave'] }));
  });
});

describe('top-level volumes', () => {
  it('reads driver_opts and labels; tmpfs needs no allowance', async () => {
    const stack = await load(`services: {}
volumes:
  scratch:
    driver: local
    driver_opts:
      type: tmpfs
      device: tmpfs
      o: size=64m,uid=1000
    labels:
      backup: "no"
  plain:
`);
    expect(stack.volumes).toStrictEqual([
      {
        key: 'scratch',
        name: 'web_scratch',
        external: false,
        driver: 'local',
        labels: {
          backup: 'no',
          'com.docker.compose.project': 'web',
          'com.docker.compose.volume': 'scratch',
          'dev.mooring.managed': 'true',
        },
        driverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=64m,uid=1000' },
      },
      {
        key: 'plain',
        name: 'web_plain',
        external: false,
        driver: 'local',
        labels: {
          'com.docker.compose.project': 'web',
          'com.docker.compose.volume': 'plain',
          'dev.mooring.managed': 'true',
        },
      },
    ]);
  });

  it('refuses other keys beside external: true, as compose does', async () => {
    expect(
      await errors(`services: {}
volumes:
  data:
    external: true
    driver: local
`),
    ).toEqual([
      [
        5,
        5,
        'volumes.data.driver: an external volume is used as it exists, so driver cannot be set; remove driver, or remove external: true for Mooring to create the volume',
      ],
    ]);
  });

  const bind = (device: string, o = 'bind'): string => `services: {}
volumes:
  data:
    driver_opts:
      type: none
      o: ${o}
      device: ${device}
`;

  it('a volume that binds a host folder passes the bind-root check of a bind mount (safety.bindRoots)', async () => {
    const errs = await errors(bind('/etc'));
    expect(errs).toHaveLength(1);
    const [line, col, message] = errs[0]!;
    expect([line, col]).toEqual([7, 15]);
    expect(message).toMatch(
      /^volumes\.data\.driver_opts\.device: refused by the safety policy: bind mount of \/etc is outside the allowed host folders \(none are configured\); add a folder to settings.json safety\.bindRoots/,
    );
    // rbind among other options, and a path that climbs out of an allowed folder, are bind mounts too.
    const roots = allow({ bindRoots: ['/srv/data'] });
    expect((await errors(bind('/srv/data/../../etc', 'ro,rbind'), roots))[0]![2]).toContain(
      'bind mount of /etc is outside',
    );
    expect((await load(bind('/srv/data/app/'), roots)).volumes[0]!.driverOpts).toEqual({
      type: 'none',
      o: 'bind',
      device: '/srv/data/app/',
    });
    // ~ is the home folder, as in a bind mount.
    await load(bind('~/media'), allow({ bindRoots: ['/home/me'] }));
  });

  it('a bound device must be an absolute host path, and the Docker socket needs its own allowance', async () => {
    expect((await errors(bind('etc')))[0]![2]).toBe(
      'volumes.data.driver_opts.device: a volume with o: bind binds a host folder, and "etc" is not an absolute path; write the host folder\'s absolute path, or mount a folder of the config repo in the service with ./PATH',
    );
    const [[, , message]] = (await errors(bind('/var/run'), allow({ bindRoots: ['/'] }))) as [
      LoadResultError,
    ];
    expect(message).toContain('exposes the Docker socket');
    expect(message).toContain('safety.allowDockerSocket');
  });

  it('nfs, cifs or a disk need safety.allowVolumeTypes; a plugin needs safety.allowVolumeDrivers', async () => {
    const nfs = `services: {}
volumes:
  share:
    driver_opts:
      type: nfs
      o: addr=10.0.0.2,rw
      device: ":/export"
  disk:
    driver_opts: {type: ext4, device: /dev/sdb1}
  cloud:
    driver: rexray/ebs
`;
    expect(await errors(nfs)).toEqual([
      [
        5,
        13,
        "volumes.share.driver_opts.type: refused by the safety policy: the volume mounts a file system of type nfs from :/export, which the host's kernel mounts as root (a host disk, or a share on another machine reached from this host); add nfs (or ALL) to settings.json safety.allowVolumeTypes",
      ],
      [
        9,
        25,
        "volumes.disk.driver_opts.type: refused by the safety policy: the volume mounts a file system of type ext4 from /dev/sdb1, which the host's kernel mounts as root (a host disk, or a share on another machine reached from this host); add ext4 (or ALL) to settings.json safety.allowVolumeTypes",
      ],
      [
        11,
        13,
        'volumes.cloud.driver: refused by the safety policy: volume driver rexray/ebs is a plugin of the engine, which acts on the host as root as its options ask (some bind any host folder); add rexray/ebs (or ALL) to settings.json safety.allowVolumeDrivers',
      ],
    ]);
    await load(nfs, allow({ allowVolumeTypes: ['nfs', 'ext4'], allowVolumeDrivers: ['rexray/ebs'] }));
    await load(nfs, allow({ allowVolumeTypes: ['ALL'], allowVolumeDrivers: ['ALL'] }));
  });

  it('checks values after interpolation', async () => {
    const r = await loadStack({
      reader: repo({
        'web/compose.yaml': `services: {}
volumes:
  data:
    driver_opts: {type: none, o: bind, device: "\${DATA}"}
`,
        'web/.env': 'DATA=/root\n',
      }),
      stackDir: 'web',
      composeFile: 'web/compose.yaml',
      safety: DEFAULT_SAFETY,
      homeDir: '/home/me',
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]!.message).toContain(
      'bind mount of /root is outside the allowed host folders',
    );
  });
});

describe("a service's networks, long syntax", () => {
  const base = `networks:
  front:
    ipam:
      config:
        - subnet: 10.5.0.0/24
        - subnet: fd00:5::/64
  back:
`;

  it('reads addresses, link-local IPs, MAC address, driver options, priorities and interface_name', async () => {
    const stack = await load(`services:
  app:
    image: x
    networks:
      front:
        aliases: [www]
        ipv4_address: 10.5.0.10
        ipv6_address: fd00:5::10
        link_local_ips: [169.254.8.8]
        mac_address: 02-42-AC-11-00-0A
        driver_opts: {com.example.opt: 1}
        gw_priority: 10
        interface_name: eth7
      back:
        priority: 100
${base}`);
    expect(stack.services[0]!.networks).toStrictEqual([
      // priority 100 first: the container is created on it.
      { name: 'web_back', aliases: ['app'], priority: 100 },
      {
        name: 'web_front',
        aliases: ['app', 'www'],
        ipv4Address: '10.5.0.10',
        ipv6Address: 'fd00:5::10',
        linkLocalIps: ['169.254.8.8'],
        macAddress: '02:42:ac:11:00:0a',
        driverOpts: { 'com.example.opt': '1', 'com.docker.network.endpoint.ifname': 'eth7' },
        gwPriority: 10,
      },
    ]);
  });

  it('says where an address is wrong, or asks for a subnet the network does not have', async () => {
    expect(
      await errors(`services:
  app:
    image: x
    networks:
      front:
        ipv4_address: 10.6.0.1
        ipv6_address: 10.5.0.1
        mac_address: zz
      back:
        ipv4_address: 10.9.0.2
        link_local_ips: [nope]
        colour: red
${base}`),
    ).toEqual([
      [
        6,
        23,
        'services.app.networks.front.ipv4_address: 10.6.0.1 is not inside the subnet of networks.front (10.5.0.0/24)',
      ],
      [7, 23, 'services.app.networks.front.ipv6_address: "10.5.0.1" is not an IPv6 address'],
      [8, 22, 'services.app.networks.front.mac_address: "zz" is not a MAC address such as 02:42:ac:11:00:02'],
      [
        10,
        23,
        'services.app.networks.back.ipv4_address: the engine gives a fixed address only on a network with a subnet of its own; add ipam: {config: [{subnet: ...}]} to networks.back',
      ],
      [11, 25, 'services.app.networks.back.link_local_ips: "nope" is not an IP address'],
      [12, 9, 'services.app.networks.back.colour: Mooring does not support `colour`'],
    ]);
  });

  it("refuses a MAC address on the first network that differs from the service's own", async () => {
    const errs = await errors(`services:
  app:
    image: x
    mac_address: 02:42:ac:11:00:01
    networks:
      front:
        mac_address: 02:42:ac:11:00:02
${base}`);
    expect(errs).toEqual([
      [
        7,
        22,
        "services.app.networks: mac_address 02:42:ac:11:00:02 differs from the service's mac_address 02:42:ac:11:00:01, which is the MAC address on web_front, the first network it joins; keep one of them",
      ],
    ]);
  });
});
