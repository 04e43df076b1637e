// The fleet (issue 15) from the looks it is made of: which stacks go where, what each engine said, and
// that an engine that does not answer, or that this machine does not map, changes only its own cells.
import { describe, expect, it } from 'vitest';
import type { EngineProbe, StackStatus } from '../../electron/shared/model.ts';
import { DEFAULT_POLICY } from '../../electron/engine/manifest/index.ts';
import { fleetView } from '../../electron/engine/services/fleet.ts';

const probe = (name: string, reachable = true): EngineProbe => ({
  name,
  endpoint: `tcp://${name}:2376`,
  transport: 'tls',
  reachable,
  id: reachable ? `id-${name}` : null,
  version: reachable ? '28.0.0' : null,
  swarm: reachable ? 'none' : null,
  latencyMs: reachable ? 3 : null,
  error: reachable ? null : 'connect ECONNREFUSED',
});

const status = (name: string, over: Partial<StackStatus> = {}): StackStatus => ({
  source: 'cfg',
  name,
  revision: 'a'.repeat(40),
  sync: 'Synced',
  health: 'Healthy',
  services: [],
  errors: [],
  warnings: [],
  policy: DEFAULT_POLICY,
  suspended: false,
  ...over,
});

describe('fleetView', () => {
  it('puts each stack on each engine it names, from the look at that engine', async () => {
    const asked: string[] = [];
    const fleet = await fleetView({
      current: 'local',
      probes: [probe('local'), probe('staging'), probe('edge', false)],
      here: [
        status('web', { policy: { ...DEFAULT_POLICY, engines: ['local', 'staging', 'edge'] } }),
        status('db'),
        status('old', { deletedInGit: true, sync: 'Orphaned' }),
        status('moved', { deletedInGit: true, sync: 'Orphaned' }),
      ],
      elsewhere: [
        { source: 'cfg', stack: 'moved', engines: ['staging'] },
        { source: 'cfg', stack: 'api', engines: ['staging', 'homelab'] },
        { source: 'cfg', stack: 'web', engines: ['local', 'staging', 'edge'] },
      ],
      statusOn: (engine) => {
        asked.push(engine);
        return Promise.resolve([
          status('web', { sync: 'OutOfSync', health: 'Degraded', deployed: 'b'.repeat(40) }),
          status('api', { sync: 'Missing', health: 'Missing', suspended: true }),
          status('gone', { deletedInGit: true, sync: 'Orphaned' }),
        ]);
      },
    });
    // Only the engine that answers and is not this one is looked at again.
    expect(asked).toEqual(['staging']);
    expect(fleet.current).toBe('local');
    expect(fleet.unconfigured).toEqual(['homelab']);
    expect(fleet.columns).toEqual(['local', 'staging', 'edge', 'homelab']);
    const row = (stack: string) => fleet.rows.find((r) => r.stack === stack)?.cells;
    expect(fleet.rows.map((r) => r.stack)).toEqual(['api', 'db', 'gone', 'moved', 'old', 'web']);
    // Moved to staging, still running here: both, each as its engine sees it.
    expect(row('moved')).toEqual([
      expect.objectContaining({ engine: 'local', sync: 'Orphaned' }),
      expect.objectContaining({
        engine: 'staging',
        sync: 'Unknown',
        warning: 'engine staging did not list moved',
      }),
    ]);
    expect(row('web')).toEqual([
      expect.objectContaining({ engine: 'local', sync: 'Synced', health: 'Healthy', warning: null }),
      expect.objectContaining({ engine: 'edge', sync: 'Unknown', warning: 'engine edge does not answer' }),
      expect.objectContaining({ engine: 'staging', sync: 'OutOfSync', deployed: 'b'.repeat(40) }),
    ]);
    expect(row('api')).toEqual([
      expect.objectContaining({ engine: 'homelab', configured: false, sync: null, health: null }),
      expect.objectContaining({ engine: 'staging', sync: 'Missing', suspended: true }),
    ]);
    expect(row('db')).toEqual([expect.objectContaining({ engine: 'local', sync: 'Synced' })]);
    // Stacks deleted in git are shown on the engine where they still run.
    expect(row('old')).toEqual([expect.objectContaining({ engine: 'local', sync: 'Orphaned' })]);
    expect(row('gone')).toEqual([expect.objectContaining({ engine: 'staging', sync: 'Orphaned' })]);
  });

  it('an engine whose look fails makes its own cells Unknown with why, and no other', async () => {
    const fleet = await fleetView({
      current: 'local',
      probes: [probe('local'), probe('staging')],
      here: [status('web', { policy: { ...DEFAULT_POLICY, engines: ['local', 'staging'] } })],
      elsewhere: [],
      statusOn: () => Promise.reject(new Error('the source cfg cannot be read')),
    });
    expect(fleet.rows[0]?.cells).toEqual([
      expect.objectContaining({ engine: 'local', sync: 'Synced' }),
      expect.objectContaining({
        engine: 'staging',
        sync: 'Unknown',
        warning: 'the source cfg cannot be read',
      }),
    ]);
  });
});
