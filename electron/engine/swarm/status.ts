// The status of a stack deployed as Swarm services (issue 15), from its services and their tasks:
// running against desired replicas, the failed tasks' errors, and field-level drift of each service's
// spec against git's (spec.ts specDrift, after Swarm's defaults are normalized away). Pure.
import type { Health, ServiceStatus, StackStatus, SyncStatus } from '../../shared/model.ts';
import { LABELS } from '../docker/labels.ts';
import { worstHealth } from '../reconcile/status.ts';
import { madeHere, type SwarmObservation } from './deploy.ts';
import { specDrift, type SwarmStackSpec } from './spec.ts';

export interface SwarmStatusInput {
  base: Omit<StackStatus, 'sync' | 'health' | 'services'>;
  spec: SwarmStackSpec | null;
  seen: SwarmObservation;
  instance: string;
}

export function swarmStatus(input: SwarmStatusInput): StackStatus {
  const { seen, spec } = input;
  const services: ServiceStatus[] = [];
  const warnings = [...input.base.warnings];
  const declared = new Set(spec?.services.map((s) => s.spec.Name) ?? []);
  const row = (
    name: string,
    sync: SyncStatus,
    health: Health,
    image: ServiceStatus['image'],
    extra: Partial<ServiceStatus> = {},
  ): ServiceStatus => ({
    name,
    sync,
    health,
    container: null,
    containerId: null,
    image,
    state: null,
    ports: [],
    startedAt: null,
    reasons: [],
    ...extra,
  });
  for (const s of spec?.services ?? []) {
    const live = seen.services.find((x) => x.spec.Name === s.spec.Name);
    const want = 'Replicated' in s.spec.Mode ? s.spec.Mode.Replicated.Replicas : null;
    if (!live) {
      services.push(
        row(s.name, want === 0 ? 'Synced' : 'Missing', want === 0 ? 'Healthy' : 'Missing', {
          desired: s.spec.TaskTemplate.ContainerSpec.Image,
          live: null,
        }),
      );
      continue;
    }
    const tasks = seen.tasks.filter((t) => t.serviceId === live.id);
    const running = tasks.filter((t) => t.desired === 'running' && t.state === 'running').length;
    const liveWant =
      'Replicated' in live.spec.Mode ? live.spec.Mode.Replicated.Replicas : Math.max(running, 1);
    const reasons = specDrift(s.spec, live.spec);
    const failed = tasks.find((t) => t.error && t.desired !== 'running');
    const stopped = live.update && /paused|rollback/.test(live.update.state) ? live.update : null;
    let health: Health = 'Healthy';
    if (stopped) health = 'Degraded';
    else if (running < liveWant) health = failed ? 'Degraded' : 'Progressing';
    if (stopped) warnings.push(`${s.name}: update ${stopped.state.replace('_', ' ')}: ${stopped.message}`);
    else if (running < liveWant && failed) warnings.push(`${s.name}: a task failed: ${failed.error}`);
    services.push(
      row(
        s.name,
        reasons.length > 0 ? 'OutOfSync' : 'Synced',
        health,
        {
          desired: s.spec.TaskTemplate.ContainerSpec.Image,
          live: live.spec.TaskTemplate.ContainerSpec.Image,
        },
        {
          swarmService: live.spec.Name,
          state: `${running}/${liveWant} running`,
          ports: (live.spec.EndpointSpec?.Ports ?? []).map(
            (p) => `${p.PublishedPort ?? ''}->${p.TargetPort}/${p.Protocol ?? 'tcp'}`,
          ),
          reasons,
          replicas: { desired: want ?? liveWant, running },
        },
      ),
    );
  }
  for (const live of seen.services) {
    if (declared.has(live.spec.Name) || !madeHere(live.spec.Labels, input.instance)) continue;
    const name = live.spec.Labels[LABELS.service] ?? live.spec.Name;
    services.push(
      row(
        name,
        'Orphaned',
        'Healthy',
        { desired: null, live: live.spec.TaskTemplate.ContainerSpec.Image },
        {
          swarmService: live.spec.Name,
          reasons: [{ path: 'service', desired: null, live: name }],
        },
      ),
    );
  }
  const inGit = services.filter((s) => s.sync !== 'Orphaned');
  let sync: SyncStatus;
  if (input.base.errors.length > 0) sync = 'Unknown';
  else if (!spec) sync = services.length > 0 ? 'Orphaned' : 'Missing';
  else if (inGit.length > 0 && inGit.every((s) => s.sync === 'Missing')) sync = 'Missing';
  else sync = services.every((s) => s.sync === 'Synced') ? 'Synced' : 'OutOfSync';
  const health: Health =
    input.base.errors.length > 0
      ? 'Unknown'
      : services.length === 0
        ? 'Missing'
        : worstHealth(services.map((s) => s.health));
  // The revision the services were deployed at, as containers carry it.
  const revisions = seen.services
    .filter((s) => declared.has(s.spec.Name))
    .map((s) => s.spec.Labels[LABELS.revision]);
  const deployed = revisions.find(Boolean);
  return { ...input.base, warnings, sync, health, services, ...(deployed ? { deployed } : {}) };
}
