// Keys that map one-to-one onto the engine's create call (manifest/passthrough.ts): read with units,
// sent where the engine expects them, and compared against a live container without false drift.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type { DesiredStack } from '../../electron/shared/model.ts';
import { loadStack, specHash } from '../../electron/engine/manifest/index.ts';
import type { RepoReader } from '../../electron/engine/manifest/index.ts';
import { parseBytes } from '../../electron/engine/manifest/passthrough.ts';
import { containerOptions } from '../../electron/engine/docker/container-spec.ts';
import { diffFields, projectDesired, projectLive } from '../../electron/engine/docker/fields.ts';
import type Docker from 'dockerode';

function reader(files: Record<string, string>): RepoReader {
  return {
    readFile: (p) => Promise.resolve(files[p] ?? null),
    stat: (p) => Promise.resolve(p in files ? { type: 'blob', oid: '0'.repeat(40) } : null),
  };
}

async function load(service: string): Promise<DesiredStack> {
  const compose = `services:\n  app:\n    image: local/busybox:1\n${service}`;
  const r = await loadStack({
    reader: reader({ 'web/compose.yaml': compose }),
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety: DEFAULT_SAFETY,
  });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.stack;
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

/** What the engine reports back for a container created with `options`, as far as these fields go. */
function inspectOf(options: Docker.ContainerCreateOptions, over: Record<string, unknown> = {}) {
  const { HostConfig, ...config } = options;
  return {
    Config: { ...config, Env: config.Env ?? [], Labels: config.Labels ?? {} },
    HostConfig: { ShmSize: 67108864, MemorySwap: 0, ...HostConfig, ...over },
    Id: 'c0ffee'.padEnd(64, '0'),
    Name: `/${options.name ?? 'web-app-1'}`,
    Image: 'sha256:x',
    Mounts: [],
    // Each endpoint as the engine reports it (it adds the short id to the aliases).
    NetworkSettings: {
      Networks: Object.fromEntries(
        Object.entries(
          (options.NetworkingConfig?.EndpointsConfig ?? {}) as Record<string, { Aliases?: string[] }>,
        ).map(([n, ep]) => [n, { Aliases: [...(ep.Aliases ?? []), 'c0ffee000000'] }]),
      ),
    },
  } as unknown as Docker.ContainerInspectInfo;
}

describe('passthrough keys', () => {
  it('reads sizes in compose units', () => {
    expect(parseBytes('512m')).toBe(512 * 1024 ** 2);
    expect(parseBytes('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('2gb')).toBe(2 * 1024 ** 3);
    expect(parseBytes('1024')).toBe(1024);
    expect(parseBytes(4096)).toBe(4096);
    expect(parseBytes('12 parsecs')).toBeNull();
  });

  it('puts each key where the engine takes it', async () => {
    const stack = await load(
      '    mem_limit: 64m\n    cpus: 0.5\n    tty: true\n    stop_signal: SIGINT\n    sysctls:\n      net.core.somaxconn: 1024\n    dns: 1.1.1.1\n',
    );
    const options = containerOptions(stack.services[0]!, ctx);
    expect(options.Tty).toBe(true);
    expect(options.StopSignal).toBe('SIGINT');
    expect(options.HostConfig).toMatchObject({
      Memory: 64 * 1024 ** 2,
      NanoCpus: 5e8,
      Sysctls: { 'net.core.somaxconn': '1024' },
      Dns: ['1.1.1.1'],
    });
  });

  it('shows no drift on the container it creates, and shows an out-of-band change in compose terms', async () => {
    const s = (await load('    mem_limit: 64m\n    cpus: 1.5\n    group_add: ["100", "20"]\n')).services[0]!;
    const options = containerOptions(s, ctx);
    const desired = projectDesired(s, undefined);
    expect(diffFields(desired, projectLive(inspectOf(options), undefined, '/home/m'))).toEqual([]);
    // The engine reports groups in its own order: not drift.
    const reordered = inspectOf(options, { GroupAdd: ['20', '100'] });
    expect(diffFields(desired, projectLive(reordered, undefined, '/home/m'))).toEqual([]);
    const updated = inspectOf(options, { Memory: 96 * 1024 ** 2, PidsLimit: 50 });
    expect(diffFields(desired, projectLive(updated, undefined, '/home/m'))).toEqual([
      { path: 'mem_limit', desired: '64m', live: '96m' },
      { path: 'pids_limit', desired: null, live: '50' },
    ]);
  });

  it('leaves the spec hash of a service that uses none of them as it was', async () => {
    const s = (await load('    command: ["sleep", "1"]\n')).services[0]!;
    // The hash is over the object's keys: a key added with an empty value would change every hash.
    expect(Object.keys(s)).not.toContain('passthrough');
    expect(specHash(s)).toBe(specHash({ ...s, passthrough: undefined }));
  });

  it('reports a bad value with its position', async () => {
    await expect(load('    mem_limit: lots\n')).rejects.toThrow(
      /4:16 services\.app\.mem_limit must be a size/,
    );
  });
});
