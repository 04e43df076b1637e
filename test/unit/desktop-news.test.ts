// What Mooring says outside its window (issue 15: each names the engine): the tray's line, drift and
// failed-sync notifications, and another engine's trouble; shared by the desktop and browser mode.
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../electron/shared/api.ts';
import { driftNews, pushNews, trayStatus } from '../../electron/shared/desktop-news.ts';
import type { StackStatus } from '../../electron/shared/model.ts';

function stack(
  name: string,
  sync: StackStatus['sync'],
  health: StackStatus['health'] = 'Healthy',
): StackStatus {
  const service = (s: string, st: StackStatus['sync']): StackStatus['services'][number] => ({
    name: s,
    sync: st,
    health,
    container: `${name}-${s}-1`,
    containerId: null,
    image: { desired: 'busybox', live: 'busybox' },
    state: 'running',
    ports: [],
    startedAt: null,
    reasons: [],
  });
  return {
    source: 'cfg',
    name,
    revision: 'abc',
    sync,
    health,
    services: [service('web', sync), service('db', 'Synced')],
    errors: [],
    warnings: [],
    policy: { sync: 'manual', selfHeal: false, prune: false },
    suspended: false,
  };
}

function snapshot(stacks: StackStatus[], engine: Partial<Snapshot['engine']> = {}): Snapshot {
  return {
    version: 1,
    host: 'here',
    stacks,
    sources: [],
    engine: { reachable: true, endpoint: 'unix:///var/run/docker.sock', error: null, ...engine },
    controller: { enabled: true, running: true },
    lastRuns: {},
    revisions: {},
    changedIn: {},
    elsewhere: [],
  };
}

describe('desktop news', () => {
  it("names the window's engine in the tray, with the worst of its stacks", () => {
    expect(trayStatus(snapshot([stack('a', 'Synced')]))).toEqual({
      title: 'Mooring (local): everything in sync',
      level: 'ok',
    });
    const staging = { name: 'staging' };
    expect(trayStatus(snapshot([stack('a', 'OutOfSync'), stack('b', 'Missing')], staging))).toEqual({
      title: 'Mooring (staging): 2 stacks out of sync',
      level: 'warn',
    });
    expect(
      trayStatus(snapshot([stack('a', 'OutOfSync'), stack('b', 'Synced', 'Degraded')], staging)),
    ).toEqual({
      title: 'Mooring (staging): 1 stack degraded',
      level: 'bad',
    });
    expect(trayStatus(snapshot([stack('a', 'Synced')], { ...staging, reachable: false })).title).toBe(
      'Mooring (staging): Docker engine unreachable',
    );
  });

  it('tells a drift once, when a stack that was in sync drifts, naming the engine and services', () => {
    const before = snapshot([stack('a', 'Synced'), stack('b', 'OutOfSync'), stack('c', 'Missing')], {
      name: 'edge',
    });
    const after = snapshot([stack('a', 'OutOfSync'), stack('b', 'OutOfSync'), stack('c', 'OutOfSync')], {
      name: 'edge',
    });
    expect(driftNews(before, after)).toEqual([
      { title: 'Drift in a on edge', body: 'Differs from git: web' },
    ]);
    // The first snapshot a window gets is no news: nothing was seen in sync before.
    expect(driftNews(null, after)).toEqual([]);
  });

  it('tells a failed sync on the engine it ran on, and what another engine says that is not info', () => {
    expect(
      pushNews({ type: 'run-finished', runId: 3, stack: 'web', result: 'failed', error: 'pull failed' }),
    ).toEqual({ title: 'Sync of web failed', body: 'pull failed' });
    expect(
      pushNews({
        type: 'run-finished',
        runId: 4,
        stack: 'web',
        result: 'failed',
        error: null,
        engine: 'staging',
      }),
    ).toEqual({ title: 'Sync of web on staging failed', body: '' });
    expect(
      pushNews({ type: 'run-finished', runId: 5, stack: 'web', result: 'succeeded', error: null }),
    ).toBeNull();
    const drift = 'Stack "web" drifted from git on engine staging: app';
    expect(pushNews({ type: 'notice', level: 'warn', message: drift, engine: 'staging' })).toEqual({
      title: 'Mooring: engine staging',
      body: drift,
    });
    // The window's own notices show in the window; only another engine's reach the desktop.
    expect(pushNews({ type: 'notice', level: 'error', message: 'boom' })).toBeNull();
    expect(pushNews({ type: 'notice', level: 'info', message: 'x', engine: 'staging' })).toBeNull();
  });
});
