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

  it('security_opt that unconfines, in every spelling', async () => {
    const opts = [
      'seccomp:unconfined',
      'seccomp=unconfined',
      'apparmor:unconfined',
      'apparmor=unconfined',
      'label:disable',
      'label=disable',
    ];
    const yaml = `    security_opt:\n${opts.map((o) => `      - ${o}\n`).join('')}      - no-new-privileges:true\n`;
    expect(await refused(yaml)).toEqual(
      opts.map((o, i) => [
        5 + i,
        `services.app.security_opt: ${P}: \`${o}\` turns confinement off; allow it in settings.json safety.allowUnconfined`,
      ]),
    );
    expect((await allowed(yaml, { allowUnconfined: true })).securityOpt).toEqual([
      ...opts,
      'no-new-privileges:true',
    ]);
    expect((await allowed('    security_opt: [no-new-privileges:true]\n', {})).securityOpt).toEqual([
      'no-new-privileges:true',
    ]);
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
      { type: 'bind', source: '/srv/data/a', target: '/a', readOnly: false },
      { type: 'bind', source: '/home/me/notes', target: '/notes', readOnly: false },
      { type: 'bind', source: '/home/me', target: '/me', readOnly: true },
    ]);
  });

  it('refuses the whole stack and reports every violation at once', async () => {
    const result = await loadWith('    privileged: true\n    devices: [/dev/kvm]\n    pid: host\n');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.line)).toEqual([4, 5, 6]);
  });
});
