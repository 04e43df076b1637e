// Status → an ordered plan. Pure: no I/O, so the ordering is unit-tested without an engine.
import type { DesiredStack, PlanAction, StackStatus } from '../../shared/model.ts';
import { MooringError } from '../errors.ts';
import { BUILD_REPO, COMPOSE_BUILD_LABELS } from '../manifest/build.ts';

/**
 * Dependency depth of every service: 0 for those that depend on nothing, else 1 + the deepest
 * dependency. Services of one depth may be applied in parallel.
 */
export function dependencyLevels(stack: DesiredStack): Map<string, number> {
  const byName = new Map(stack.services.map((s) => [s.name, s]));
  const levels = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (name: string, chain: string[]): number => {
    const known = levels.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) {
      throw new MooringError('manifest', `depends_on has a cycle: ${[...chain, name].join(' → ')}`);
    }
    visiting.add(name);
    const service = byName.get(name);
    let level = 0;
    for (const d of service?.dependsOn ?? []) {
      if (byName.has(d.service)) level = Math.max(level, visit(d.service, [...chain, name]) + 1);
    }
    visiting.delete(name);
    levels.set(name, level);
    return level;
  };
  for (const s of stack.services) visit(s.name, []);
  return levels;
}

export interface PlanInput {
  desired: DesiredStack;
  status: StackStatus;
  /** Images not present in the engine (for a build's tag: not there as that build made it). */
  missingImages: Set<string>;
  /** Why each image is pulled (pull_policy, platform: reconcile/pull-policy.ts); default: it is missing. */
  pullReasons?: ReadonlyMap<string, string>;
  /** Build tags the engine has, but on an image that another build made (see Engine.planFor). */
  misbuilt?: Set<string>;
  existingNetworks: Set<string>;
  existingVolumes: Set<string>;
  /** Networks of the stack that this home made: those that differ from git are made again. */
  ownNetworks?: ReadonlySet<string>;
  prune: boolean;
}

/** The services that run each build's tag (a service that builds, and those whose image: names it). */
export function buildsOf(desired: DesiredStack): Map<string, string[]> {
  const tags = new Set(desired.services.flatMap((s) => (s.build ? [s.image] : [])));
  const out = new Map<string, string[]>();
  for (const s of desired.services) {
    if (tags.has(s.image)) out.set(s.image, [...(out.get(s.image) ?? []), s.name]);
  }
  return out;
}

/**
 * Build tags the engine has on an image that is not that build's (its hash label differs): the tag
 * holds only the start of the hash, so an image is taken as built only when its label has all of it.
 */
export function misbuiltTags(
  desired: DesiredStack,
  images: ReadonlyMap<string, { labels: Record<string, string> } | undefined>,
): Set<string> {
  const out = new Set<string>();
  for (const s of desired.services) {
    if (s.build === undefined) continue;
    const info = images.get(s.image);
    if (info !== undefined && info.labels[COMPOSE_BUILD_LABELS.hash] !== s.build.hash) out.add(s.image);
  }
  return out;
}

function buildReason(tag: string, services: string[], status: StackStatus, misbuilt: boolean): string {
  const forWhom = `for ${services.join(', ')}`;
  if (misbuilt) return `${tag} holds an image that this build did not make: built again ${forWhom}`;
  const running = status.services
    .filter((s) => services.includes(s.name))
    .map((s) => s.image.live)
    .find((live) => live !== null && live !== tag && live.startsWith(`${BUILD_REPO}/`));
  return running !== undefined
    ? `context, Dockerfile, args or target changed since ${running}: built ${forWhom}`
    : `not built yet: built from the config repo ${forWhom}`;
}

// Levels: 0 pull, build, networks and volumes; 1 prune; 2 + depth for services.
const SERVICE_LEVEL = 2;

export function planStack(input: PlanInput): PlanAction[] {
  const { desired, status } = input;
  const actions: PlanAction[] = [];
  const builds = buildsOf(desired);
  for (const image of [...input.missingImages].sort()) {
    const users = builds.get(image);
    if (users !== undefined) {
      // Built once, whatever the number of services that run it; before anything of the stack changes.
      actions.push({
        kind: 'build',
        target: image,
        reason: buildReason(image, users, status, input.misbuilt?.has(image) ?? false),
        diff: [],
        level: 0,
      });
      continue;
    }
    actions.push({
      kind: 'pull',
      target: image,
      reason: input.pullReasons?.get(image) ?? 'image is not in the engine',
      diff: [],
      level: 0,
    });
  }
  for (const n of desired.networks) {
    if (n.external || input.existingNetworks.has(n.name)) continue;
    actions.push({
      kind: 'create-network',
      target: n.name,
      reason: 'declared network does not exist',
      diff: [],
      level: 0,
    });
  }
  for (const r of status.resources ?? []) {
    if (r.kind !== 'network' || r.sync !== 'OutOfSync' || !input.ownNetworks?.has(r.name)) continue;
    actions.push({
      kind: 'recreate-network',
      target: r.name,
      reason: `differs from git: ${r.reasons.map((x) => x.path).join(', ')} (a network cannot be changed in place)`,
      diff: r.reasons,
      level: 0,
    });
  }
  for (const v of desired.volumes) {
    if (v.external || input.existingVolumes.has(v.name)) continue;
    actions.push({
      kind: 'create-volume',
      target: v.name,
      reason: 'declared volume does not exist',
      diff: [],
      level: 0,
    });
  }
  if (input.prune) {
    for (const s of status.services) {
      if (s.sync !== 'Orphaned') continue;
      actions.push({
        kind: 'remove',
        target: s.name,
        reason: `container ${s.container ?? ''} is no longer declared in git (prune)`,
        diff: s.reasons,
        level: 1,
      });
    }
  }
  const levels = dependencyLevels(desired);
  const statusByName = new Map(status.services.filter((s) => s.sync !== 'Orphaned').map((s) => [s.name, s]));
  for (const service of desired.services) {
    const s = statusByName.get(service.name);
    const level = SERVICE_LEVEL + (levels.get(service.name) ?? 0);
    if (!s || s.sync === 'Missing') {
      actions.push({
        kind: 'create',
        target: service.name,
        reason: 'declared in git, no container',
        diff: [],
        level,
      });
      continue;
    }
    if (s.sync !== 'OutOfSync') continue;
    const onlyState = s.reasons.every((r) => r.path === 'state');
    const paths = new Set(s.reasons.map((r) => r.path));
    if (paths.size === 1 && paths.has('labels.dev.mooring.managed')) {
      // Running as compose made it from this same file, and equal to git in every field: taken over
      // as it is, so a switch to Mooring costs no restart (issue 11).
      actions.push({
        kind: 'adopt',
        target: service.name,
        reason: `container ${s.container ?? ''} was made by docker compose and matches git: taken over as it runs`,
        diff: [],
        level,
      });
      continue;
    }
    if ([...paths].every((p) => p === 'replicas' || p === 'containers' || p === 'state')) {
      const scale = s.reasons.find((r) => r.path === 'replicas' || r.path === 'containers');
      if (scale) {
        actions.push({
          kind: 'scale',
          target: service.name,
          reason: `${scale.live ?? '0'} container(s), ${scale.desired ?? '1'} wanted`,
          diff: s.reasons,
          level,
        });
        continue;
      }
    }
    if (onlyState) {
      const state = s.reasons[0]?.live ?? 'not running';
      actions.push({
        kind: 'start',
        target: service.name,
        reason: `container is ${state}`,
        diff: s.reasons,
        level,
      });
    } else {
      const fields = s.reasons.filter((r) => r.path !== 'state').map((r) => r.path);
      actions.push({
        kind: 'recreate',
        target: service.name,
        reason: `differs from git: ${fields.join(', ')}`,
        diff: s.reasons,
        level,
      });
    }
  }
  return actions.sort((a, b) => a.level - b.level);
}

/**
 * The plan of a stack whose folder was deleted in git: remove its services' containers, then the
 * networks made for it that nothing else uses. Volumes stay: they hold data, and nothing in git says
 * to drop it.
 */
export function planRemoval(
  services: readonly string[],
  networks: readonly string[],
  reason: string,
): PlanAction[] {
  return [
    ...services.map((service): PlanAction => ({
      kind: 'remove',
      target: service,
      reason,
      diff: [],
      level: 1,
    })),
    ...networks.map((name): PlanAction => ({
      kind: 'remove-network',
      target: name,
      reason,
      diff: [],
      level: 2,
    })),
  ];
}
