// Desired + observed → sync status and health, per service and per stack. Pure: no I/O.
import type {
  DesiredService,
  DesiredStack,
  DriftReason,
  Health,
  ManifestError,
  ServiceStatus,
  StackPolicy,
  StackStatus,
  SyncStatus,
} from '../../shared/model.ts';
import type { ObservedContainer } from '../docker/docker-adapter.ts';
import { diffFields, projectDesired, type ImageDefaults } from '../docker/fields.ts';

export interface StackInput {
  source: string;
  name: string;
  revision: string | null;
  /** null when the manifest is invalid, or the stack is no longer in git. */
  desired: DesiredStack | null;
  errors: ManifestError[];
  policy: StackPolicy;
  /** Containers carrying this stack's compose project label. */
  observed: ObservedContainer[];
  images: Map<string, ImageDefaults | undefined>;
  /** Spec hash per service name. */
  hashes: Map<string, string>;
  warnings: string[];
  engineReachable: boolean;
  /** Suspended locally (`mooring suspend`): the controller leaves it alone. */
  suspended?: boolean;
}

const HEALTH_ORDER: Health[] = ['Degraded', 'Missing', 'Unknown', 'Progressing', 'Suspended', 'Healthy'];

export function worstHealth(list: Health[]): Health {
  let worst: Health = 'Healthy';
  for (const h of list) if (HEALTH_ORDER.indexOf(h) < HEALTH_ORDER.indexOf(worst)) worst = h;
  return worst;
}

/** Services that others wait on to finish (one-shot jobs): for them, exited 0 is the desired state. */
export function completedJobs(stack: DesiredStack): Set<string> {
  const jobs = new Set<string>();
  for (const s of stack.services) {
    for (const d of s.dependsOn) if (d.condition === 'service_completed_successfully') jobs.add(d.service);
  }
  return jobs;
}

export function containerHealth(c: ObservedContainer, isJob: boolean): Health {
  switch (c.state) {
    case 'running':
      if (c.health === 'starting') return 'Progressing';
      if (c.health === 'unhealthy') return 'Degraded';
      return 'Healthy';
    case 'created':
    case 'removing':
      return 'Progressing';
    case 'paused':
      return 'Suspended';
    case 'exited':
      if (c.exitCode === 0) return isJob ? 'Healthy' : 'Suspended';
      return 'Degraded';
    default:
      return 'Degraded'; // restarting, dead
  }
}

/** Prefer the container this home made, then a running one: that is the one the service "is". */
function pickContainer(list: ObservedContainer[]): ObservedContainer | undefined {
  return [...list].sort(
    (a, b) =>
      Number(b.ours) - Number(a.ours) || Number(b.state === 'running') - Number(a.state === 'running'),
  )[0];
}

/** Why a container with this stack's labels is not ours, in a person's words. */
export function notOurs(c: ObservedContainer): string {
  return c.managed
    ? "labelled as Mooring's, but this home has no record of making it"
    : 'not made by Mooring';
}

export function serviceReasons(
  s: DesiredService,
  containers: ObservedContainer[],
  image: ImageDefaults | undefined,
  hash: string,
  isJob: boolean,
): DriftReason[] {
  // Another's container of this service (labels can be copied) is judged only when none of ours is
  // there: it is what runs; once ours exists, the other is named in a warning and left alone.
  const mine = containers.filter((x) => x.ours);
  const c = pickContainer(mine.length > 0 ? mine : containers);
  if (!c) return [];
  const reasons: DriftReason[] = [];
  if (!c.managed) reasons.push({ path: 'labels.dev.mooring.managed', desired: 'true', live: null });
  else if (!c.ours) reasons.push({ path: 'owner', desired: 'this Mooring home', live: notOurs(c) });
  if (mine.length > 1) {
    reasons.push({ path: 'containers', desired: '1', live: String(mine.length) });
  }
  if (c.name !== s.containerName)
    reasons.push({ path: 'container_name', desired: s.containerName, live: c.name });
  reasons.push(...diffFields(projectDesired(s, image), c.fields));
  // A change that no live field shows (a label we do not project, say) still shows through the hash.
  if (reasons.length === 0 && c.specHash !== hash) {
    reasons.push({ path: 'spec-hash', desired: hash.slice(0, 12), live: c.specHash?.slice(0, 12) ?? null });
  }
  const running = c.state === 'running';
  const done = isJob && c.state === 'exited' && c.exitCode === 0;
  if (!running && !done) {
    reasons.push({
      path: 'state',
      desired: isJob ? 'running or exited 0' : 'running',
      live: c.state === 'exited' ? `exited (${c.exitCode})` : c.state,
    });
  }
  return reasons;
}

export function computeStatus(input: StackInput): StackStatus {
  const base = {
    source: input.source,
    name: input.name,
    revision: input.revision,
    errors: input.errors,
    warnings: input.warnings,
    policy: input.policy,
    suspended: input.suspended ?? false,
  };
  const byService = new Map<string, ObservedContainer[]>();
  for (const c of input.observed) {
    const key = c.service ?? '';
    byService.set(key, [...(byService.get(key) ?? []), c]);
  }
  const services: ServiceStatus[] = [];
  // Containers with this stack's labels that this home did not make, beside its own: named, left alone.
  const strangers: string[] = [];
  const jobs = input.desired ? completedJobs(input.desired) : new Set<string>();
  for (const s of input.desired?.services ?? []) {
    const containers = byService.get(s.name) ?? [];
    byService.delete(s.name);
    const c = pickContainer(containers);
    if (c?.ours) strangers.push(...containers.filter((x) => !x.ours).map((x) => x.name));
    if (!input.engineReachable) {
      services.push(serviceRow(s.name, 'Unknown', 'Unknown', undefined, s.image, []));
      continue;
    }
    if (!c) {
      services.push(serviceRow(s.name, 'Missing', 'Missing', undefined, s.image, []));
      continue;
    }
    const reasons = serviceReasons(
      s,
      containers,
      input.images.get(s.image),
      input.hashes.get(s.name) ?? '',
      jobs.has(s.name),
    );
    services.push(
      serviceRow(
        s.name,
        reasons.length ? 'OutOfSync' : 'Synced',
        containerHealth(c, jobs.has(s.name)),
        c,
        s.image,
        reasons,
      ),
    );
  }
  // What is left carries the project label but is no longer declared: ours to prune only when we made it.
  // One with Mooring's labels that this home did not make is named, and left alone (issue 10).
  for (const [name, containers] of byService) {
    for (const c of containers) {
      if (!c.ours) {
        if (c.managed) strangers.push(c.name);
        continue;
      }
      services.push(
        serviceRow(name || c.name, 'Orphaned', containerHealth(c, false), c, null, [
          { path: 'service', desired: null, live: name || c.name },
        ]),
      );
    }
  }
  const declared = services.filter((s) => s.sync !== 'Orphaned');
  let sync: SyncStatus;
  if (input.errors.length > 0 || !input.engineReachable) sync = 'Unknown';
  else if (!input.desired) sync = services.length > 0 ? 'Orphaned' : 'Missing';
  else if (declared.length > 0 && declared.every((s) => s.sync === 'Missing')) sync = 'Missing';
  else sync = services.every((s) => s.sync === 'Synced') ? 'Synced' : 'OutOfSync';
  const health =
    input.errors.length > 0 || !input.engineReachable
      ? 'Unknown'
      : declared.length === 0
        ? services.length > 0
          ? worstHealth(services.map((s) => s.health))
          : 'Missing'
        : worstHealth(declared.map((s) => s.health));
  const warnings =
    strangers.length === 0
      ? base.warnings
      : [
          ...base.warnings,
          `${strangers.join(', ')}: labelled as this stack's, but not made by this Mooring home; not ours, left alone.`,
        ];
  return { ...base, warnings, sync, health, services };
}

function serviceRow(
  name: string,
  sync: SyncStatus,
  health: Health,
  c: ObservedContainer | undefined,
  desiredImage: string | null,
  reasons: DriftReason[],
): ServiceStatus {
  return {
    name,
    sync,
    health,
    container: c?.name ?? null,
    containerId: c?.id ?? null,
    image: { desired: desiredImage, live: c?.fields.image ?? null },
    state: c?.state ?? null,
    ports: c?.ports ?? [],
    startedAt: c?.startedAt ?? null,
    reasons,
  };
}
