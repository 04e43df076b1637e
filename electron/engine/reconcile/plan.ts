// Status → an ordered plan. Pure: no I/O, so the ordering is unit-tested without an engine.
import type { DesiredStack, PlanAction, StackStatus } from '../../shared/model.ts';
import { MooringError } from '../errors.ts';

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
  /** Images not present in the engine. */
  missingImages: Set<string>;
  existingNetworks: Set<string>;
  existingVolumes: Set<string>;
  prune: boolean;
}

// Levels: 0 pull, networks and volumes; 1 prune; 2 + depth for services.
const SERVICE_LEVEL = 2;

export function planStack(input: PlanInput): PlanAction[] {
  const { desired, status } = input;
  const actions: PlanAction[] = [];
  for (const image of [...input.missingImages].sort()) {
    actions.push({ kind: 'pull', target: image, reason: 'image is not in the engine', diff: [], level: 0 });
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
