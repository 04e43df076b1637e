// Status, diff and plan ordering, without an engine: desired and observed are built by hand.
import { describe, expect, it } from 'vitest';
import type { DesiredService, DesiredStack } from '../../electron/shared/model.ts';
import type { ObservedContainer } from '../../electron/engine/docker/docker-adapter.ts';
import { diffFields, projectDesired, type ImageDefaults } from '../../electron/engine/docker/fields.ts';
import { dependencyLevels, planStack } from '../../electron/engine/reconcile/plan.ts';
import { computeStatus, containerHealth, worstHealth } from '../../electron/engine/reconcile/status.ts';
import { DEFAULT_POLICY } from '../../electron/engine/manifest/index.ts';

const image: ImageDefaults = {
  id: 'sha256:img',
  env: { PATH: '/bin' },
  cmd: ['/bin/sh'],
  entrypoint: null,
  workingDir: '',
  user: '',
  labels: {},
  healthcheck: null,
};

function svc(name: string, over: Partial<DesiredService> = {}): DesiredService {
  return {
    name,
    image: 'local/busybox:1',
    command: null,
    entrypoint: null,
    environment: {},
    ports: [],
    mounts: [],
    networks: [{ name: 'st_default', aliases: [name] }],
    labels: {},
    restart: 'no',
    healthcheck: null,
    dependsOn: [],
    init: true,
    workingDir: null,
    user: null,
    hostname: null,
    stopGracePeriodSec: 10,
    containerName: `st-${name}-1`,
    extraHosts: [],
    privileged: false,
    networkMode: null,
    pid: null,
    ipc: null,
    capAdd: [],
    capDrop: [],
    devices: [],
    securityOpt: [],
    ...over,
  };
}

function stackOf(...services: DesiredService[]): DesiredStack {
  return {
    name: 'st',
    file: 'st/compose.yaml',
    services,
    networks: [{ key: 'default', name: 'st_default', external: false, driver: 'bridge', labels: {} }],
    volumes: [],
  };
}

/** A container exactly as the desired service would produce it. */
function observedFor(
  s: DesiredService,
  over: Partial<ObservedContainer> = {},
  fieldOver: Record<string, string> = {},
): ObservedContainer {
  return {
    id: `id-${s.name}`,
    name: s.containerName,
    project: 'st',
    service: s.name,
    number: 1,
    managed: true,
    ours: true,
    created: '2026-01-01T00:00:00Z',
    source: 'cfg',
    revision: 'abc',
    specHash: `hash-${s.name}`,
    instance: 'test-instance',
    state: 'running',
    exitCode: 0,
    health: null,
    startedAt: '2026-01-01T00:00:00Z',
    ports: [],
    mountSources: [],
    fields: { ...projectDesired(s, image), ...fieldOver },
    ...over,
  };
}

function status(stack: DesiredStack, observed: ObservedContainer[]) {
  return computeStatus({
    source: 'cfg',
    name: 'st',
    revision: 'abc',
    desired: stack,
    errors: [],
    policy: DEFAULT_POLICY,
    observed,
    images: new Map([['local/busybox:1', image]]),
    hashes: new Map(stack.services.map((s) => [s.name, `hash-${s.name}`])),
    warnings: [],
    engineReachable: true,
  });
}

describe('diff of desired and live fields', () => {
  it('fills image defaults on the desired side so an unset command or env is no drift', () => {
    const d = projectDesired(svc('a'), image);
    expect(d.command).toBe('["/bin/sh"]');
    expect(d['environment.PATH']).toBe('/bin');
    expect(diffFields(d, { ...d })).toEqual([]);
  });

  it('names each differing path with both values', () => {
    const d = projectDesired(svc('a', { environment: { X: '1' } }), image);
    const live = { ...d, 'environment.X': '2', 'environment.EXTRA': 'y', restart: 'always' };
    expect(diffFields(d, live)).toEqual([
      { path: 'environment.EXTRA', desired: null, live: 'y' },
      { path: 'environment.X', desired: '1', live: '2' },
      { path: 'restart', desired: 'no', live: 'always' },
    ]);
  });

  it('ignores the engine-chosen hostname unless the manifest sets one', () => {
    const d = projectDesired(svc('a'), image);
    expect(diffFields(d, { ...d, hostname: '3f2a9c1b' })).toEqual([]);
    const named = projectDesired(svc('a', { hostname: 'web' }), image);
    expect(diffFields(named, { ...named, hostname: 'other' })).toEqual([
      { path: 'hostname', desired: 'web', live: 'other' },
    ]);
  });

  it('compares the image id only when both sides name the same image', () => {
    const d = projectDesired(svc('a'), image);
    expect(diffFields(d, { ...d, 'image.id': 'sha256:old' })).toEqual([
      { path: 'image.id', desired: 'sha256:img', live: 'sha256:old' },
    ]);
    expect(diffFields(d, { ...d, image: 'local/busybox:0', 'image.id': 'sha256:old' })).toEqual([
      { path: 'image', desired: 'local/busybox:1', live: 'local/busybox:0' },
    ]);
  });
});

describe('status', () => {
  it('is Synced and Healthy when every container matches', () => {
    const a = svc('a');
    const st = status(stackOf(a), [observedFor(a)]);
    expect([st.sync, st.health]).toEqual(['Synced', 'Healthy']);
  });

  it('is Missing when nothing is deployed, OutOfSync when part is', () => {
    const a = svc('a');
    const b = svc('b');
    expect(status(stackOf(a, b), []).sync).toBe('Missing');
    const partial = status(stackOf(a, b), [observedFor(a)]);
    expect(partial.sync).toBe('OutOfSync');
    expect(partial.health).toBe('Missing');
    expect(partial.services.find((s) => s.name === 'b')).toMatchObject({
      sync: 'Missing',
      health: 'Missing',
    });
  });

  it('a stopped container is OutOfSync by state and Degraded when it exited non-zero', () => {
    const a = svc('a');
    const st = status(stackOf(a), [observedFor(a, { state: 'exited', exitCode: 137 })]);
    expect(st.services[0]).toMatchObject({
      sync: 'OutOfSync',
      health: 'Degraded',
      reasons: [{ path: 'state', desired: 'running', live: 'exited (137)' }],
    });
  });

  it('a one-shot job that others wait on is Synced once it exited 0', () => {
    const job = svc('migrate');
    const app = svc('app', {
      dependsOn: [{ service: 'migrate', condition: 'service_completed_successfully' }],
    });
    const st = status(stackOf(job, app), [
      observedFor(job, { state: 'exited', exitCode: 0 }),
      observedFor(app),
    ]);
    expect(st.services.map((s) => [s.name, s.sync, s.health])).toEqual([
      ['migrate', 'Synced', 'Healthy'],
      ['app', 'Synced', 'Healthy'],
    ]);
  });

  it('a changed spec hash with equal fields still shows, as spec-hash', () => {
    const a = svc('a');
    const st = status(stackOf(a), [observedFor(a, { specHash: 'hash-old' })]);
    expect(st.services[0]!.reasons).toEqual([{ path: 'spec-hash', desired: 'hash-a', live: 'hash-old' }]);
  });

  it('our container for an undeclared service is Orphaned; an unmanaged one is not ours to list', () => {
    const a = svc('a');
    const gone = observedFor(svc('gone'));
    const stranger = observedFor(svc('stranger'), { managed: false, ours: false });
    const st = status(stackOf(a), [observedFor(a), gone, stranger]);
    expect(st.services.map((s) => [s.name, s.sync])).toEqual([
      ['a', 'Synced'],
      ['gone', 'Orphaned'],
    ]);
    expect(st.sync).toBe('OutOfSync');
  });

  it('a hand-made container without our label is drift', () => {
    const a = svc('a');
    const st = status(stackOf(a), [observedFor(a, { managed: false, ours: false })]);
    expect(st.services[0]!.reasons).toContainEqual({
      path: 'labels.dev.mooring.managed',
      desired: 'true',
      live: null,
    });
  });

  it('is Unknown when the engine cannot be reached or the manifest is invalid', () => {
    const a = svc('a');
    const down = computeStatus({ ...baseInput(stackOf(a)), engineReachable: false });
    expect([down.sync, down.health]).toEqual(['Unknown', 'Unknown']);
    const invalid = computeStatus({
      ...baseInput(null),
      errors: [{ file: 'st/compose.yaml', line: 1, column: 1, message: 'bad' }],
    });
    expect(invalid.sync).toBe('Unknown');
  });

  it('with an invalid target, compares what runs with the revision it came from, not as orphans (issue 13, item 3)', () => {
    const a = svc('a');
    const b = svc('b');
    const running = [
      observedFor(a, { revision: 'good123' }),
      observedFor(b, { revision: 'good123', state: 'exited', exitCode: 1 }),
    ];
    const input = {
      ...baseInput(null),
      revision: 'bad4567',
      errors: [{ file: 'st/compose.yaml', line: 3, column: 1, message: 'bad' }],
      observed: running,
      images: new Map([['local/busybox:1', image]]),
    };
    // Without the revision that runs: every service is taken for an orphan, health unknown.
    const blind = computeStatus(input);
    expect(blind.services.map((s) => s.sync)).toEqual(['Orphaned', 'Orphaned']);
    expect(blind.deployed).toBe('good123');

    const st = computeStatus({
      ...input,
      lastGood: {
        revision: 'good123',
        desired: stackOf(a, b),
        hashes: new Map([
          ['a', 'hash-a'],
          ['b', 'hash-b'],
        ]),
      },
    });
    expect(st.services.map((s) => [s.name, s.sync])).toEqual([
      ['a', 'Synced'],
      ['b', 'OutOfSync'],
    ]);
    // The target cannot be compared (Unknown), but what runs has a health, and the warning says why.
    expect(st.sync).toBe('Unknown');
    expect(st.health).toBe('Degraded');
    expect(st.comparedWith).toBe('good123');
    expect(st.warnings.join(' ')).toContain(
      'Running as deployed at good123; the new revision bad4567 is invalid',
    );
  });

  it('after a failed run, what would read as Progressing is Degraded (issue 13, item 2)', () => {
    const a = svc('a');
    const created = [observedFor(a, { state: 'created' })];
    const input = {
      ...baseInput(stackOf(a)),
      observed: created,
      images: new Map([['local/busybox:1', image]]),
    };
    expect(computeStatus(input).health).toBe('Progressing');
    expect(computeStatus({ ...input, lastRunResult: 'running' }).health).toBe('Progressing');
    expect(computeStatus({ ...input, lastRunResult: 'failed' }).health).toBe('Degraded');
    // A failed run whose stack is healthy again (the previous container restored) stays Healthy.
    const running = { ...input, observed: [observedFor(a)], hashes: new Map([['a', 'hash-a']]) };
    expect(computeStatus({ ...running, lastRunResult: 'failed' }).health).toBe('Healthy');
  });

  it('maps container states to health and takes the worst', () => {
    const c = observedFor(svc('a'));
    expect(containerHealth({ ...c, health: 'starting' }, false)).toBe('Progressing');
    expect(containerHealth({ ...c, health: 'unhealthy' }, false)).toBe('Degraded');
    expect(containerHealth({ ...c, state: 'restarting' }, false)).toBe('Degraded');
    expect(containerHealth({ ...c, state: 'paused' }, false)).toBe('Suspended');
    expect(worstHealth(['Healthy', 'Progressing', 'Suspended'])).toBe('Progressing');
    expect(worstHealth(['Healthy', 'Degraded', 'Missing'])).toBe('Degraded');
  });
});

function baseInput(desired: DesiredStack | null) {
  return {
    source: 'cfg',
    name: 'st',
    revision: 'abc',
    desired,
    errors: [],
    policy: DEFAULT_POLICY,
    observed: [],
    images: new Map<string, ImageDefaults | undefined>(),
    hashes: new Map<string, string>(),
    warnings: [],
    engineReachable: true,
  };
}

describe('plan', () => {
  it('orders services by depends_on depth', () => {
    const db = svc('db');
    const cache = svc('cache');
    const api = svc('api', { dependsOn: [{ service: 'db', condition: 'service_healthy' }] });
    const web = svc('web', {
      dependsOn: [
        { service: 'api', condition: 'service_started' },
        { service: 'cache', condition: 'service_started' },
      ],
    });
    const stack = stackOf(web, api, db, cache);
    expect(Object.fromEntries(dependencyLevels(stack))).toEqual({ db: 0, cache: 0, api: 1, web: 2 });
    const actions = planStack({
      desired: stack,
      status: status(stack, []),
      missingImages: new Set(),
      existingNetworks: new Set(),
      existingVolumes: new Set(),
      prune: false,
    });
    expect(actions.map((a) => [a.kind, a.target, a.level])).toEqual([
      ['create-network', 'st_default', 0],
      ['create', 'db', 2],
      ['create', 'cache', 2],
      ['create', 'api', 3],
      ['create', 'web', 4],
    ]);
  });

  it('rejects a depends_on cycle', () => {
    const a = svc('a', { dependsOn: [{ service: 'b', condition: 'service_started' }] });
    const b = svc('b', { dependsOn: [{ service: 'a', condition: 'service_started' }] });
    expect(() => dependencyLevels(stackOf(a, b))).toThrow(/cycle: a → b → a/);
  });

  it('starts a stopped container, recreates a changed one, prunes only when asked', () => {
    const a = svc('a');
    const b = svc('b', { environment: { X: 'new' } });
    const stack = stackOf(a, b);
    const observed = [
      observedFor(a, { state: 'exited', exitCode: 143 }),
      observedFor(b, {}, { 'environment.X': 'old' }),
      observedFor(svc('gone')),
    ];
    const input = {
      desired: stack,
      status: status(stack, observed),
      missingImages: new Set(['local/other:1']),
      existingNetworks: new Set(['st_default']),
      existingVolumes: new Set<string>(),
      prune: false,
    };
    expect(planStack(input).map((x) => [x.kind, x.target, x.reason])).toEqual([
      ['pull', 'local/other:1', 'image is not in the engine'],
      ['start', 'a', 'container is exited (143)'],
      ['recreate', 'b', 'differs from git: environment.X'],
    ]);
    const pruned = planStack({ ...input, prune: true });
    expect(pruned.find((x) => x.kind === 'remove')).toMatchObject({ target: 'gone', level: 1 });
  });
});
