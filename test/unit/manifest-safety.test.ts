import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type { DesiredService, SafetySettings } from '../../electron/shared/model.ts';
import { loadStack } from '../../electron/engine/manifest/index.ts';
import type { LoadResult } from '../../electron/engine/manifest/index.ts';

async function loadWith(serviceYaml: string, safety: Partial<SafetySettings> = {}): Promise<LoadResult> {
  const compose = `services:\n  app:\n    image: x\n${serviceYaml}`;
  const files: Record<string, string> = { 'web/compose.yaml': compose };
  return loadStack({
    reader: {
      readFile: (path) => Promise.resolve(files[path] ?? null),
      stat: (path) => Promise.resolve(path in files ? { type: 'blob', oid: 'f'.repeat(40) } : null),
    },
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety: { ...DEFAULT_SAFETY, ...safety },
    homeDir: '/home/me',
  });
}

/** The messages of a refused stack, with their line (the service body starts on line 4). */
async function refused(
  serviceYaml: string,
  safety: Partial<SafetySettings> = {},
): Promise<[number, string][]> {
  const result = await loadWith(serviceYaml, safety);
  if (result.ok) throw new Error('expected the safety policy to refuse the stack');
  return result.errors.map((e) => [e.line, e.message]);
}

async function allowed(serviceYaml: string, safety: Partial<SafetySettings>): Promise<DesiredService> {
  const result = await loadWith(serviceYaml, safety);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.stack.services[0]!;
}

const P = 'refused by the safety policy';

describe('safety policy', () => {
  it('privileged', async () => {
    expect(await refused('    privileged: true\n')).toEqual([
      [
        4,
        `services.app.privileged: ${P}: privileged containers are not allowed; allow them in settings.json safety.allowPrivileged`,
      ],
    ]);
    expect((await allowed('    privileged: true\n', { allowPrivileged: true })).privileged).toBe(true);
    expect((await allowed('    privileged: false\n', {})).privileged).toBe(false);
  });

  it('host namespaces, while other modes pass', async () => {
    const host = '    network_mode: host\n    pid: host\n    ipc: host\n';
    expect(await refused(host)).toEqual([
      [
        4,
        `services.app.network_mode: ${P}: \`network_mode: host\` shares the host's namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
      ],
      [
        5,
        `services.app.pid: ${P}: \`pid: host\` shares the host's namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
      ],
      [
        6,
        `services.app.ipc: ${P}: \`ipc: host\` shares the host's namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
      ],
    ]);
    const s = await allowed(host, { allowHostNamespaces: true });
    expect([s.networkMode, s.pid, s.ipc, s.networks]).toEqual(['host', 'host', 'host', []]);
    const fine = await allowed('    network_mode: none\n    ipc: shareable\n', {});
    expect([fine.networkMode, fine.ipc]).toEqual(['none', 'shareable']);
  });

  it('container:NAME in network_mode, pid and ipc joins a container outside the stack', async () => {
    const joined = '    network_mode: container:other\n    pid: "container:other"\n    ipc: container:0a1b\n';
    const message = (key: string, name: string): string =>
      `services.app.${key}: ${P}: \`${key}: container:${name}\` joins the namespace of a container that is not part of this stack; write service:NAME to share a service of this stack, or allow it in settings.json safety.allowContainerNamespaces`;
    expect(await refused(joined)).toEqual([
      [4, message('network_mode', 'other')],
      [5, message('pid', 'other')],
      [6, message('ipc', '0a1b')],
    ]);
    // allowHostNamespaces is about the host, not about other containers.
    expect(await refused(joined, { allowHostNamespaces: true })).toHaveLength(3);
    const s = await allowed(joined, { allowContainerNamespaces: true });
    expect([s.networkMode, s.pid, s.ipc, s.networks, s.dependsOn]).toEqual([
      'container:other',
      'container:other',
      'container:0a1b',
      [],
      [],
    ]);
    // And allowContainerNamespaces is not about the host.
    expect(await refused('    pid: host\n', { allowContainerNamespaces: true })).toHaveLength(1);
  });

  it('service:NAME stays allowed in network_mode, pid and ipc', async () => {
    const result = await loadStack({
      reader: {
        readFile: (path) =>
          Promise.resolve(
            path === 'web/compose.yaml'
              ? 'services:\n  vpn: {image: x}\n  app:\n    image: y\n    network_mode: service:vpn\n    pid: service:vpn\n    ipc: service:vpn\n'
              : null,
          ),
        stat: () => Promise.resolve(null),
      },
      stackDir: 'web',
      composeFile: 'web/compose.yaml',
      safety: DEFAULT_SAFETY,
    });
    expect(result.ok && result.stack.services[1]).toMatchObject({
      networkMode: 'service:vpn',
      pid: 'service:vpn',
      ipc: 'service:vpn',
    });
  });

  it('a network_mode that is not a mode: Docker would take it as a network name or id prefix', async () => {
    // `e2` could be the start of the host network's id on this engine: Docker resolves network names
    // by id prefix, which would give host networking without `host` ever being written.
    expect(await refused('    network_mode: e2\n', { allowHostNamespaces: false })).toEqual([
      [
        4,
        'services.app.network_mode: "e2" is not one of none, bridge, host, service:NAME, container:NAME; to join a network, list it under the service\'s networks',
      ],
    ]);
    expect(await refused('    network_mode: HOST\n')).toHaveLength(1);
    expect(await refused('    network_mode: "service:"\n')).toEqual([
      [4, 'services.app.network_mode: service: must be followed by a service name'],
    ]);
    expect(await refused('    pid: private\n    ipc: bogus\n')).toEqual([
      [4, 'services.app.pid: "private" is not one of host, service:NAME, container:NAME'],
      [
        5,
        'services.app.ipc: "bogus" is not one of none, private, shareable, host, service:NAME, container:NAME',
      ],
    ]);
    const fine = await allowed('    network_mode: bridge\n    ipc: private\n', {});
    expect([fine.networkMode, fine.ipc]).toEqual(['bridge', 'private']);
  });

  it('cap_add outside allowCapAdd; cap_drop always', async () => {
    const caps = '    cap_add: [NET_ADMIN, cap_sys_time]\n    cap_drop: [ALL]\n';
    expect(await refused(caps, { allowCapAdd: ['NET_ADMIN'] })).toEqual([
      [
        4,
        `services.app.cap_add: ${P}: capability SYS_TIME is not allowed; add it (or ALL) to settings.json safety.allowCapAdd`,
      ],
    ]);
    const s = await allowed(caps, { allowCapAdd: ['NET_ADMIN', 'CAP_SYS_TIME'] });
    expect([s.capAdd, s.capDrop]).toEqual([['NET_ADMIN', 'SYS_TIME'], ['ALL']]);
    expect((await allowed(caps, { allowCapAdd: ['ALL'] })).capAdd).toEqual(['NET_ADMIN', 'SYS_TIME']);
    expect((await allowed('    cap_drop: [NET_RAW, CHOWN]\n', {})).capDrop).toEqual(['CHOWN', 'NET_RAW']);
  });

  it('devices', async () => {
    const devices = '    devices: ["/dev/fuse:/dev/fuse"]\n';
    expect(await refused(devices)).toEqual([
      [
        4,
        `services.app.devices: ${P}: access to host devices is not allowed; allow it in settings.json safety.allowDevices`,
      ],
    ]);
    expect((await allowed(devices, { allowDevices: true })).devices).toEqual(['/dev/fuse:/dev/fuse']);
  });

  it('security_opt is an allowlist: only no-new-privileges passes by default', async () => {
    const harmless = [
      'no-new-privileges',
      'no-new-privileges:true',
      'no-new-privileges=true',
      'no-new-privileges=1',
      'no-new-privileges:True',
    ];
    const yaml = `    security_opt:\n${harmless.map((o) => `      - "${o}"\n`).join('')}`;
    expect((await allowed(yaml, {})).securityOpt).toEqual(harmless);
  });

  const optMessage = (opt: string, effect: string): string =>
    `services.app.security_opt: ${P}: security_opt \`${opt}\` ${effect}; allow exactly this option by adding its full text (after interpolation) to settings.json safety.allowSecurityOpt (or every security_opt with safety.allowUnconfined)`;

  // Each of these was deployed by the policy of issue 10's day, which knew only the word `unconfined`.
  const REFUSED_OPTS: [string, string][] = [
    [
      'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}',
      'replaces the default seccomp profile, and a profile can allow every system call',
    ],
    [
      'seccomp:{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}',
      'replaces the default seccomp profile, and a profile can allow every system call',
    ],
    [
      'seccomp=/etc/profile.json',
      'replaces the default seccomp profile, and a profile can allow every system call',
    ],
    [
      'seccomp:/path/profile.json',
      'replaces the default seccomp profile, and a profile can allow every system call',
    ],
    ['apparmor=someprofile', 'replaces the default AppArmor profile, and a profile can allow anything'],
    ['apparmor:docker-default', 'replaces the default AppArmor profile, and a profile can allow anything'],
    [
      'label=type:spc_t',
      'sets the SELinux label, and a label such as type:spc_t runs the container unconfined',
    ],
    [
      'label:level:s0:c100,c200',
      'sets the SELinux label, and a label such as type:spc_t runs the container unconfined',
    ],
    ['disable', 'turns SELinux labeling off (Docker reads it as label=disable)'],
    ['systempaths=unconfined', 'unmasks the /proc and /sys paths that Docker hides from containers'],
    ['mask=/proc/kcore', 'changes which /proc and /sys paths are hidden from the container'],
    ['unmask=ALL', 'changes which /proc and /sys paths are hidden from the container'],
    ['writable-cgroups=true', 'makes the cgroup filesystem writable'],
    ['no-new-privileges:false', 'lets processes gain privileges, which this engine may forbid by default'],
    ['no-new-privileges=0', 'lets processes gain privileges, which this engine may forbid by default'],
    ['no-new-privileges:yes', 'is not a valid no-new-privileges value'],
    ['Seccomp=unconfined', 'is not an option the safety policy knows'],
    [' seccomp=unconfined', 'is not an option the safety policy knows'],
    ['whatever', 'is not an option the safety policy knows'],
    ['credentialspec=file://x', 'is not an option the safety policy knows'],
  ];

  it('refuses every seccomp, apparmor, label, systempaths and mask option, and any unknown one', async () => {
    const yaml = `    security_opt:\n${REFUSED_OPTS.map(([o]) => `      - ${JSON.stringify(o)}\n`).join('')}`;
    expect(await refused(yaml)).toEqual(REFUSED_OPTS.map(([o, effect], i) => [5 + i, optMessage(o, effect)]));
    // allowUnconfined allows every one of them, as before.
    expect((await allowed(yaml, { allowUnconfined: true })).securityOpt).toEqual(
      REFUSED_OPTS.map(([o]) => o),
    );
  });

  it('still refuses the unconfined spellings the old policy knew', async () => {
    const opts = [
      'seccomp:unconfined',
      'seccomp=unconfined',
      'apparmor:unconfined',
      'apparmor=unconfined',
      'label:disable',
      'label=disable',
    ];
    const effects = [
      'turns the seccomp filter off',
      'turns the seccomp filter off',
      'turns AppArmor off',
      'turns AppArmor off',
      'turns SELinux labeling off',
      'turns SELinux labeling off',
    ];
    const yaml = `    security_opt:\n${opts.map((o) => `      - ${o}\n`).join('')}      - no-new-privileges:true\n`;
    expect(await refused(yaml)).toEqual(opts.map((o, i) => [5 + i, optMessage(o, effects[i]!)]));
    expect((await allowed(yaml, { allowUnconfined: true })).securityOpt).toEqual([
      ...opts,
      'no-new-privileges:true',
    ]);
  });

  it('allowSecurityOpt allows exactly the options it lists', async () => {
    const profile = 'seccomp=/etc/docker/seccomp/strict.json';
    const yaml = `    security_opt:\n      - ${profile}\n      - "apparmor=my-profile"\n`;
    const s = await allowed(yaml, { allowSecurityOpt: [profile, 'apparmor=my-profile'] });
    expect(s.securityOpt).toEqual([profile, 'apparmor=my-profile']);
    // The same profile with the other separator, or another profile, is another option.
    expect(
      await refused(yaml.replace(profile, profile.replace('=', ':')), {
        allowSecurityOpt: [profile, 'apparmor=my-profile'],
      }),
    ).toEqual([
      [
        5,
        optMessage(
          profile.replace('=', ':'),
          'replaces the default seccomp profile, and a profile can allow every system call',
        ),
      ],
    ]);
    expect(await refused(yaml, { allowSecurityOpt: [profile] })).toEqual([
      [
        6,
        optMessage(
          'apparmor=my-profile',
          'replaces the default AppArmor profile, and a profile can allow anything',
        ),
      ],
    ]);
  });

  it('shortens an inline profile in the message', async () => {
    const inline = `seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: Array.from({ length: 50 }, (_, i) => ({ names: [`call${i}`], action: 'SCMP_ACT_ALLOW' })) })}`;
    const [[line, message]] = (await refused(`    security_opt: [${JSON.stringify(inline)}]\n`)) as [
      [number, string],
    ];
    expect(line).toBe(4);
    expect(message).toContain(
      `security_opt \`${inline.slice(0, 80)}… (${inline.length.toLocaleString('en-US')} characters)\``,
    );
    expect(
      (await allowed(`    security_opt: [${JSON.stringify(inline)}]\n`, { allowSecurityOpt: [inline] }))
        .securityOpt,
    ).toEqual([inline]);
  });

  it('the Docker socket, short and long syntax, and folders that hold it', async () => {
    const socket = (path: string): string =>
      `${P}: mounting ${path} exposes the Docker socket, which controls the whole engine; allow it in settings.json safety.allowDockerSocket`;
    const yaml = `    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - type: bind
        source: /run/docker.sock
        target: /sock
      - /srv/podman/docker.sock:/other.sock
      - /var/run:/host-run
`;
    expect(await refused(yaml, { bindRoots: ['/'] })).toEqual([
      [5, `services.app.volumes[0]: ${socket('/var/run/docker.sock')}`],
      [6, `services.app.volumes[1]: ${socket('/run/docker.sock')}`],
      [9, `services.app.volumes[2]: ${socket('/srv/podman/docker.sock')}`],
      [10, `services.app.volumes[3]: ${socket('/var/run')}`],
    ]);
    // Allowing the socket is enough for the socket itself, not for any folder that contains it.
    const onlySocket = '    volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]\n';
    expect((await allowed(onlySocket, { allowDockerSocket: true })).mounts).toEqual([
      { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: true },
    ]);
    expect((await refused('    volumes: ["/var/run:/r"]\n', { allowDockerSocket: true }))[0]![1]).toContain(
      'safety.bindRoots',
    );
    expect(
      (await allowed('    volumes: ["/var/run:/r"]\n', { allowDockerSocket: true, bindRoots: ['/var'] }))
        .mounts,
    ).toHaveLength(1);
  });

  it('host bind mounts outside bindRoots, after normalizing .. and ~', async () => {
    const yaml = `    volumes:
      - /srv/data/../../etc:/etc-host
      - /srv/database:/db
      - ~/notes:/notes
      - ~other/x:/x
`;
    expect(await refused(yaml, { bindRoots: ['/srv/data'] })).toEqual([
      [
        5,
        `services.app.volumes[0]: ${P}: bind mount of /etc is outside the allowed host folders (/srv/data); add a folder to settings.json safety.bindRoots`,
      ],
      [
        6,
        `services.app.volumes[1]: ${P}: bind mount of /srv/database is outside the allowed host folders (/srv/data); add a folder to settings.json safety.bindRoots`,
      ],
      [
        7,
        `services.app.volumes[2]: ${P}: bind mount of /home/me/notes is outside the allowed host folders (/srv/data); add a folder to settings.json safety.bindRoots`,
      ],
      [8, `services.app.volumes[3]: "~other/x": only ~ and ~/… are supported, not another user's home`],
    ]);
    expect((await refused('    volumes: ["/data:/d"]\n'))[0]![1]).toContain('(none are configured)');
    const s = await allowed('    volumes: ["/srv/data/a/:/a", "~/notes:/notes", "/home/me:/me:ro"]\n', {
      bindRoots: ['/srv/data', '/home/me/'],
    });
    expect(s.mounts).toEqual([
      { type: 'bind', source: '/srv/data/a', target: '/a', readOnly: false, createHostPath: true },
      { type: 'bind', source: '/home/me/notes', target: '/notes', readOnly: false, createHostPath: true },
      { type: 'bind', source: '/home/me', target: '/me', readOnly: true, createHostPath: true },
    ]);
  });

  it('a network whose name is host gives host networking: refused like network_mode: host', async () => {
    const compose = (network: string): string =>
      `services:\n  app:\n    image: x\n    networks: [h]\nnetworks:\n  h:\n${network}`;
    const load = async (
      network: string,
      safety: Partial<SafetySettings> = {},
    ): Promise<[number, string][]> => {
      const result = await loadStack({
        reader: {
          readFile: (path) => Promise.resolve(path === 'web/compose.yaml' ? compose(network) : null),
          stat: () => Promise.resolve(null),
        },
        stackDir: 'web',
        composeFile: 'web/compose.yaml',
        safety: { ...DEFAULT_SAFETY, ...safety },
      });
      if (result.ok) throw new Error('expected the stack to be refused');
      return result.errors.map((e) => [e.line, e.message]);
    };
    const hostMessage = `networks.h: ${P}: network "host" is Docker's host network, which shares the host's network namespace; allow host namespaces in settings.json safety.allowHostNamespaces and write network_mode: host on the service`;
    // The line is the one of `name:`, or of the key when the name is the key itself.
    expect(await load('    name: host\n    external: true\n')).toEqual([[7, hostMessage]]);
    expect(await load('    name: host\n')).toEqual([[7, hostMessage]]);
    expect(await load('    name: host\n    external: true\n', { allowHostNamespaces: true })).toEqual([
      [
        7,
        `networks.h: network "host" is Docker's host network, which takes no aliases; write network_mode: host on the service instead`,
      ],
    ]);
    const byKey = await loadStack({
      reader: {
        readFile: (path) =>
          Promise.resolve(
            path === 'web/compose.yaml'
              ? 'services:\n  app:\n    image: x\n    networks: [host]\nnetworks:\n  host:\n    external: true\n'
              : null,
          ),
        stat: () => Promise.resolve(null),
      },
      stackDir: 'web',
      composeFile: 'web/compose.yaml',
      safety: DEFAULT_SAFETY,
    });
    expect(!byKey.ok && byKey.errors.map((e) => [e.line, e.message])).toEqual([
      [6, hostMessage.replace('networks.h:', 'networks.host:')],
    ]);
    // Docker's other predefined networks take no aliases either: said before anything is created.
    expect(await load('    name: bridge\n    external: true\n')).toEqual([
      [
        7,
        `networks.h: network "bridge" is Docker's predefined bridge network, which takes no aliases; write network_mode: bridge on the service instead`,
      ],
    ]);
    expect(await load('    name: none\n    external: true\n')).toEqual([
      [
        7,
        `networks.h: network "none" is Docker's predefined none network, which takes no aliases; write network_mode: none on the service instead`,
      ],
    ]);
    // Docker refuses to create a second host or null network; say so before anything is created.
    expect(await load('    driver: host\n')).toEqual([
      [
        7,
        'networks.h: Docker has one network with driver host and creates no other; write network_mode: host on the service instead',
      ],
    ]);
    expect(await load('    driver: "null"\n')).toEqual([
      [
        7,
        'networks.h: Docker has one network with driver null and creates no other; write network_mode: none on the service instead',
      ],
    ]);
  });

  it('refuses the whole stack and reports every violation at once', async () => {
    const result = await loadWith('    privileged: true\n    devices: [/dev/kvm]\n    pid: host\n');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.line)).toEqual([4, 5, 6]);
  });
});
