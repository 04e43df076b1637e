// The spec hash labels each container with what was deployed: equal specs must hash equal whatever the
// key order of the YAML was, so objects are serialized with sorted keys. Array order is kept because it
// is meaningful (command words, mounts).
import { createHash } from 'node:crypto';
import type { DesiredService } from '../../shared/model.ts';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function specHash(service: DesiredService): string {
  // A build's inputs are in its deterministic tag (`image`) already; its other fields (the names the
  // result also gets, cache options) change no container. Nor does pull_policy (compose leaves it out
  // of its own hash too).
  return createHash('sha256')
    .update(
      canonicalJson({ ...service, build: undefined, pullPolicy: undefined, mounts: hashedMounts(service) }),
    )
    .digest('hex');
}

/**
 * A bind mount's createHostPath is left out: it only says what to do when the host folder is missing at
 * create time, the container is the same either way, and the short syntax, which always has it, must
 * hash as it did before it existed (issue 11: an upgrade recreates nothing).
 */
function hashedMounts(service: DesiredService): DesiredService['mounts'] {
  if (!service.mounts.some((m) => m.type === 'bind' && m.createHostPath !== undefined)) return service.mounts;
  return service.mounts.map((m) => {
    if (m.type !== 'bind' || m.createHostPath === undefined) return m;
    const rest = { ...m };
    delete rest.createHostPath;
    return rest;
  });
}
