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
import { replicaName } from '../docker/container-spec.ts';
import { diffFields, projectDesired, type ImageDefaults } from '../docker/fields.ts';
import { resourceStatuses, withResources, type LiveResources } from './resource-status.ts';

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
  /** The engine's networks and volumes; absent when not looked at (the stack declares none). */
  liveResources?: LiveResources;
  /**
   * With an invalid target (`errors`): the stack as it was at the revision that runs, which its
   * services are compared with instead, so that what runs is not taken for orphans.
   */
  lastGood?: { revision: string; desired: DesiredStack; hashes: Map<string, string> };
  /**
   * How the stack's last run ended. After a failed one nothing is under way any more: what would read
   * as Progressing (a container created but never started, a healthcheck still starting) is Degraded.
   */
  lastRunResult?: string;
}

/** The revision most of this home's containers of a stack carry: the one it runs. */
export function deployedRevision(observed: ObservedContainer[]): string | null {
  const count = new Map<string, number>();
  for (const c of observed) if (c.ours && c.revision) count.set(c.revision, (count.get(c.revision) ?? 0) + 1);
  let best: string | null = null;
  for (const [rev, n] of count) if (best === null || n > count.get(best)!) best = rev;
  return best;
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
  if (mine.length === 0) {
    const c = pickContainer(containers);
    if (!c) return [];
    const owner: DriftReason = c.managed
      ? { path: 'owner', desired: 'this Mooring home', live: notOurs(c) }
      : { path: 'labels.dev.mooring.managed', desired: 'true', live: null };
    return [owner, ...replicaReasons(s, 1, c, image, hash, isJob)];
  }
  const want = s.replicas ?? 1;
  const byNumber = new Map<number, ObservedContainer[]>();
  for (const c of mine) byNumber.set(c.number, [...(byNumber.get(c.number) ?? []), c]);
  const reasons: DriftReason[] = [];
  const present = [...byNumber.keys()].filter((n) => n >= 1 && n <= want).length;
  if (present !== want || mine.some((c) => c.number < 1 || c.number > want)) {
    reasons.push({ path: 'replicas', desired: String(want), live: String(mine.length) });
  } else if (mine.length > want) {
    reasons.push({ path: 'containers', desired: String(want), live: String(mine.length) });
  }
  // Each replica is compared; a field that differs is said once, with the first replica's values.
  const seen = new Set(reasons.map((r) => r.path));
  for (let n = 1; n <= want; n++) {
    const c = pickContainer(byNumber.get(n) ?? []);
    if (!c) continue;
    for (const r of replicaReasons(s, n, c, image, hash, isJob)) {
      if (seen.has(r.path)) continue;
      seen.add(r.path);
      reasons.push(r);
    }
  }
  return reasons;
}

/** How one container differs from replica `n` of the service. */
function replicaReasons(
  s: DesiredService,
  n: number,
  c: ObservedContainer,
  image: ImageDefaults | undefined,
  hash: string,
  isJob: boolean,
): DriftReason[] {
  const reasons: DriftReason[] = [];
  const name = replicaName(s, n);
  if (c.name !== name) reasons.push({ path: 'container_name', desired: name, live: c.name });
  reasons.push(...diffFields(projectDesired(s, image), c.fields));
  // A change that no live field shows (a label we do not project, say) still shows through the hash;
  // a container adopted from compose has no hash of ours, and is judged by its live fields alone.
  if (reasons.length === 0 && c.managed && c.specHash !== hash) {
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
  // An invalid target is compared with nothing; what runs is compared with the revision it came from.
  const lastGood = !input.desired && input.errors.length > 0 ? (input.lastGood ?? null) : null;
  const compareWith = input.desired ?? lastGood?.desired ?? null;
  const hashes = lastGood ? lastGood.hashes : input.hashes;
  const jobs = compareWith ? completedJobs(compareWith) : new Set<string>();
  for (const s of compareWith?.services ?? []) {
    const containers = byService.get(s.name) ?? [];
    byService.delete(s.name);
    const c = pickContainer(containers);
    if (c?.ours) strangers.push(...containers.filter((x) => !x.ours).map((x) => x.name));
    if (!input.engineReachable) {
      services.push(serviceRow(s.name, 'Unknown', 'Unknown', undefined, s.image, []));
      continue;
    }
    if (!c && s.replicas === 0) {
      // Scaled to zero on purpose: nothing to run is what git asks for.
      services.push(serviceRow(s.name, 'Synced', 'Healthy', undefined, s.image, []));
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
      hashes.get(s.name) ?? '',
      jobs.has(s.name),
    );
    // Replicas: the service is as healthy as its worst container.
    const mine = containers.filter((x) => x.ours);
    const health = worstHealth(
      (mine.length > 0 ? mine : [c]).map((x) => containerHealth(x, jobs.has(s.name))),
    );
    const row = serviceRow(s.name, reasons.length ? 'OutOfSync' : 'Synced', health, c, s.image, reasons);
    const want = s.replicas ?? 1;
    if (want !== 1) {
      row.replicas = { desired: want, running: mine.filter((x) => x.state === 'running').length };
    }
    services.push(row);
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
  let health: Health =
    (input.errors.length > 0 && !lastGood) || !input.engineReachable
      ? 'Unknown'
      : declared.length === 0
        ? services.length > 0
          ? worstHealth(services.map((s) => s.health))
          : 'Missing'
        : worstHealth(declared.map((s) => s.health));
  const deployed = deployedRevision(input.observed);
  const warnings = [
    ...base.warnings,
    ...(lastGood
      ? [
          input.errors.some((e) => e.unverified)
            ? `Running as deployed at ${lastGood.revision.slice(0, 7)}; the new revision ${input.revision?.slice(0, 7) ?? '?'} is unverified, and nothing of it is applied until a commit signed by an allowed key follows it.`
            : `Running as deployed at ${lastGood.revision.slice(0, 7)}; the new revision ${input.revision?.slice(0, 7) ?? '?'} is invalid, and nothing of it is applied until it is fixed in git.`,
        ]
      : []),
    ...(strangers.length > 0
      ? [
          `${strangers.join(', ')}: labelled as this stack's, but not made by this Mooring home; not ours, left alone.`,
        ]
      : []),
  ];
  // Declared networks and volumes count too (issue 11, item 8).
  const resources =
    input.desired && input.liveResources && sync !== 'Unknown'
      ? resourceStatuses(input.desired, input.liveResources)
      : [];
  if (input.desired)
    ({ sync, health } = withResources(input.desired, declared.length, sync, health, resources));
  if (health === 'Progressing' && input.lastRunResult === 'failed') health = 'Degraded';
  return {
    ...base,
    warnings,
    sync,
    health,
    services,
    ...(deployed ? { deployed } : {}),
    ...(lastGood ? { comparedWith: lastGood.revision } : {}),
    ...(resources.length > 0 ? { resources } : {}),
  };
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
