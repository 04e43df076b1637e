// pull_policy and platform → which images the plan pulls, and why (issue 11). Pure: the engine passes
// what it knows of each image and the time. Compose's rules: `missing` (the default) pulls what is not
// there, `always` every time, `daily`/`weekly`/`every_<duration>` when the image was last tagged longer
// ago than that, `never` never (an image that is not there is then an error, said before anything
// changes), `build` builds instead. An image that is there but for another platform than `platform:`
// asks for is as good as missing.
import type { DesiredService } from '../../shared/model.ts';
import { pullPolicyMs } from '../manifest/service-keys.ts';

/** What the plan needs to know of an image the engine has. */
export interface ImageFacts {
  /** os/arch[/variant], as `platform:` writes it. */
  platform?: string;
  /** When the image was last tagged (pulled or built), ISO; the engine's zero time when never. */
  lastTagTime?: string;
}

export interface Pull {
  image: string;
  reason: string;
  /** The platform to pull it for, where a service asks for one. */
  platform?: string;
}

export interface PullPlan {
  pulls: Pull[];
  /** Why the plan cannot be made, each with what to do; nothing of the stack is applied then. */
  problems: string[];
}

/** Whether an image made for `have` runs where `want` is asked (a variant is compared when both name one). */
export function platformMatches(want: string, have: string): boolean {
  const [wos, warch, wvariant] = want.split('/');
  const [hos, harch, hvariant] = have.split('/');
  return wos === hos && warch === harch && (!wvariant || !hvariant || wvariant === hvariant);
}

function age(ms: number): string {
  const h = ms / 3600e3;
  return h < 48 ? `${Math.round(h)} h` : `${Math.round(h / 24)} days`;
}

/**
 * The pulls a stack needs. `builtTags` are the images its builds make (their own plan step, not
 * pulled); `images` holds what the engine has, by name (undefined: not there).
 */
export function planPulls(
  services: readonly DesiredService[],
  images: ReadonlyMap<string, ImageFacts | undefined>,
  builtTags: ReadonlySet<string>,
  now: number,
): PullPlan {
  const pulls = new Map<string, Pull>();
  const problems: string[] = [];
  for (const s of services) {
    if (builtTags.has(s.image) || s.image === '') continue;
    const policy = s.pullPolicy ?? 'missing';
    const keepMs = pullPolicyMs(policy) ?? Infinity;
    const info = images.get(s.image);
    const where = `services.${s.name}.pull_policy`;
    let reason: string | null = null;
    if (info === undefined) {
      reason = 'image is not in the engine';
    } else if (s.platform && info.platform && !platformMatches(s.platform, info.platform)) {
      reason = `the engine has it for ${info.platform}, and services.${s.name}.platform is ${s.platform}`;
    } else if (keepMs === 0) {
      reason = 'pull_policy: always';
    } else if (Number.isFinite(keepMs)) {
      const tagged = Date.parse(info.lastTagTime ?? '');
      // The engine's zero time (an image loaded or imported, never pulled): as old as can be.
      const since = Number.isFinite(tagged) && tagged > 0 ? now - tagged : Infinity;
      if (since > keepMs) {
        reason = `pull_policy: ${policy}, and ${Number.isFinite(since) ? `it was pulled ${age(since)} ago` : 'it was never pulled'}`;
      }
    }
    if (reason === null) continue;
    if (policy === 'never') {
      problems.push(
        `Image "${s.image}" of service "${s.name}" ${
          info === undefined
            ? 'is not in the engine'
            : `is in the engine for ${info.platform ?? 'another platform'}, not ${s.platform ?? ''}`
        }, and ${where} is never: load or build it on this engine (docker load, docker build -t ${s.image}), or set pull_policy: missing.`,
      );
      continue;
    }
    if (policy === 'build') continue;
    const known = pulls.get(s.image);
    if (known !== undefined) {
      if ((known.platform ?? null) !== (s.platform ?? null)) {
        problems.push(
          `Image "${s.image}" is asked for ${known.platform ?? 'the engine’s own platform'} and for ${s.platform ?? 'the engine’s own platform'} by different services; one name holds one of them: give each its own image name.`,
        );
      }
      continue;
    }
    pulls.set(s.image, { image: s.image, reason, ...(s.platform ? { platform: s.platform } : {}) });
  }
  return { pulls: [...pulls.values()], problems };
}
