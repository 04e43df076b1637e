// pull_policy and platform as the plan applies them (reconcile/pull-policy.ts): what is pulled and why,
// and what cannot be planned at all (a `never` image that is not there), said before anything changes.
import { describe, expect, it } from 'vitest';
import { planPulls, platformMatches } from '../../electron/engine/reconcile/pull-policy.ts';
import type { DesiredService } from '../../electron/shared/model.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const svc = (name: string, extra: Partial<DesiredService> = {}): DesiredService =>
  ({ name, image: `local/${name}:1`, ...extra }) as DesiredService;
const here = (lastTagTime = '2026-12-01T11:00:00Z', platform = 'linux/amd64') => ({ platform, lastTagTime });

describe('pull policy', () => {
  it('missing (the default) pulls only what is not there', () => {
    const images = new Map([
      ['local/a:1', here()],
      ['local/b:1', undefined],
    ]);
    expect(planPulls([svc('a'), svc('b')], images, new Set(), NOW)).toEqual({
      pulls: [{ image: 'local/b:1', reason: 'image is not in the engine' }],
      problems: [],
    });
  });

  it('always pulls every time; daily, weekly and every_N when the last pull is older', () => {
    const images = new Map([
      ['local/a:1', here()],
      ['local/b:1', here('2026-11-30T11:00:00Z')],
      ['local/c:1', here('2026-11-30T11:00:00Z')],
      ['local/d:1', here('0001-01-01T00:00:00Z')],
    ]);
    const plan = planPulls(
      [
        svc('a', { pullPolicy: 'always' }),
        svc('b', { pullPolicy: 'daily' }),
        svc('c', { pullPolicy: 'weekly' }),
        svc('d', { pullPolicy: 'every_12h' }),
      ],
      images,
      new Set(),
      NOW,
    );
    expect(plan.pulls).toEqual([
      { image: 'local/a:1', reason: 'pull_policy: always' },
      { image: 'local/b:1', reason: 'pull_policy: daily, and it was pulled 25 h ago' },
      // An image loaded or imported, never pulled, carries the engine's zero time.
      { image: 'local/d:1', reason: 'pull_policy: every_12h, and it was never pulled' },
    ]);
  });

  it('never: a missing image stops the plan with what to do', () => {
    const plan = planPulls(
      [svc('a', { pullPolicy: 'never' })],
      new Map([['local/a:1', undefined]]),
      new Set(),
      NOW,
    );
    expect(plan.pulls).toEqual([]);
    expect(plan.problems).toEqual([
      'Image "local/a:1" of service "a" is not in the engine, and services.a.pull_policy is never: load or build it on this engine (docker load, docker build -t local/a:1), or set pull_policy: missing.',
    ]);
    expect(
      planPulls([svc('a', { pullPolicy: 'never' })], new Map([['local/a:1', here()]]), new Set(), NOW),
    ).toEqual({
      pulls: [],
      problems: [],
    });
  });

  it('platform: an image for another platform is pulled for the one asked', () => {
    const images = new Map([['local/a:1', here()]]);
    expect(planPulls([svc('a', { platform: 'linux/arm64' })], images, new Set(), NOW).pulls).toEqual([
      {
        image: 'local/a:1',
        reason: 'the engine has it for linux/amd64, and services.a.platform is linux/arm64',
        platform: 'linux/arm64',
      },
    ]);
    expect(planPulls([svc('a', { platform: 'linux/amd64' })], images, new Set(), NOW).pulls).toEqual([]);
    expect(platformMatches('linux/arm64/v8', 'linux/arm64')).toBe(true);
    expect(platformMatches('linux/arm/v7', 'linux/arm/v6')).toBe(false);
  });

  it('a build’s tag is built, not pulled', () => {
    expect(
      planPulls([svc('a')], new Map([['local/a:1', undefined]]), new Set(['local/a:1']), NOW).pulls,
    ).toEqual([]);
  });
});
