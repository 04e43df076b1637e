// A network whose settings differ from git cannot be changed in place: it is made again, as compose v2
// does (stop and disconnect its containers, remove it, create it with git's settings, reconnect them,
// start those that ran), and its containers keep their identity. Undoable: if the new network cannot be
// made (an overlapping subnet, say), the previous one is made again with its own settings and the
// containers go back to it as they were.
import type { DesiredNetwork, DesiredStack, PlanAction } from '../../shared/model.ts';
import { endpointConfig, replicaName, type EndpointConfig } from '../docker/container-spec.ts';
import type { DockerAdapter, LiveNetwork, ObservedContainer } from '../docker/docker-adapter.ts';
import { LABELS } from '../docker/labels.ts';
import { MooringError, errorMessage } from '../errors.ts';
import type { HistoryStore } from '../history/store.ts';

interface Attached {
  container: ObservedContainer;
  wasRunning: boolean;
  /** How it was connected, to go back to it. */
  before: EndpointConfig;
  /** How git wants it connected (the same as before for a container git no longer declares). */
  after: EndpointConfig;
}

export async function recreateNetwork(
  docker: DockerAdapter,
  history: HistoryStore,
  input: RecreateInput,
  action: PlanAction,
): Promise<void> {
  const { desired } = input;
  const wanted = desired.networks.find((x) => x.name === action.target);
  const live = await docker.network(action.target);
  if (wanted === undefined || live === null) return;
  if (!input.ownsNetwork(live)) {
    throw new MooringError(
      'conflict',
      `network ${live.name} was not made by this Mooring home: left as it is`,
    );
  }
  const ids = await docker.networkContainers(live.id);
  // Stopped containers are not listed by the network, but still name it: this stack's are found by their fields.
  const ours = new Map(
    input.observed
      .filter(
        (c) => c.ours && (ids.includes(c.id) || (c.fields.networks ?? '').split(', ').includes(live.name)),
      )
      .map((c) => [c.id, c]),
  );
  const strangers = ids.filter((id) => !ours.has(id));
  if (strangers.length > 0) {
    throw new MooringError(
      'conflict',
      `network ${live.name} differs from git, but containers that are not this stack's use it (${strangers.map((id) => id.slice(0, 12)).join(', ')}); disconnect them (docker network disconnect ${live.name} CONTAINER) and sync again`,
    );
  }
  const attached: Attached[] = [];
  for (const c of ours.values()) {
    const info = await docker.inspect(c.id);
    const ep = (info.NetworkSettings.Networks as unknown as Record<string, LiveEndpoint>)[live.name];
    const before = fromLive(ep, c);
    const service = desired.services.find((s) => s.name === c.service);
    const net = service?.networks.find((n) => n.name === live.name);
    const after = service && net ? endpointConfig(net, replicaName(service, c.number)) : before;
    attached.push({ container: c, wasRunning: info.State.Running, before, after });
  }

  for (const a of attached) {
    if (a.wasRunning) await docker.stop(a.container.id, stopTimeout(input, a.container));
    await docker.disconnect(live.id, a.container.id);
  }
  await docker.removeNetwork(live.id);
  history.ownership.forget('network', live.id);
  try {
    await create(docker, history, input, wanted);
    for (const a of attached) await docker.connect(wanted.name, a.container.id, a.after);
  } catch (err) {
    const undo = await restore(docker, history, input, live, attached);
    throw new MooringError(
      'failed',
      `could not make network ${wanted.name} again with git's settings: ${errorMessage(err)}${undo}`,
      { cause: err },
    );
  }
  for (const a of attached) if (a.wasRunning) await docker.start(a.container.id);
}

async function create(
  docker: DockerAdapter,
  history: HistoryStore,
  input: RecreateInput,
  n: DesiredNetwork,
): Promise<void> {
  const intent = history.ownership.intend('network', n.name, input.source, input.desired.name);
  const id = await docker
    .ensureNetwork(n, { ...n.labels, [LABELS.instance]: input.instance })
    .catch((err: unknown) => {
      history.ownership.abandon(intent);
      throw err;
    });
  if (id) history.ownership.confirm(intent, id);
  else history.ownership.abandon(intent);
}

/** The previous network again, from what the engine said of it, and its containers as they were. */
async function restore(
  docker: DockerAdapter,
  history: HistoryStore,
  input: RecreateInput,
  live: LiveNetwork,
  attached: Attached[],
): Promise<string> {
  const problems: string[] = [];
  try {
    // Whatever of the new one exists (created, or half-connected) goes first.
    const made = await docker.network(live.name);
    if (made) {
      for (const a of attached) await docker.disconnect(made.id, a.container.id);
      await docker.removeNetwork(made.id);
      history.ownership.forget('network', made.id);
    }
    const previous: DesiredNetwork = {
      key: live.labels['com.docker.compose.network'] ?? live.name,
      name: live.name,
      external: false,
      driver: live.driver,
      labels: live.labels,
      driverOpts: live.options,
      ipam: { driver: live.ipam.driver, config: live.ipam.config, options: live.ipam.options },
      internal: live.internal,
      attachable: live.attachable,
      enableIpv6: live.enableIpv6,
    };
    await create(docker, history, input, previous);
    for (const a of attached) await docker.connect(live.name, a.container.id, a.before);
  } catch (e) {
    problems.push(`restoring the previous network failed: ${errorMessage(e)}`);
  }
  for (const a of attached.filter((x) => x.wasRunning)) {
    await docker.start(a.container.id).catch((e: unknown) => {
      problems.push(`starting ${a.container.name} again failed: ${errorMessage(e)}`);
    });
  }
  return problems.length === 0
    ? '; the previous network is back, with its containers'
    : `; ${problems.join('; ')}`;
}

interface LiveEndpoint {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/** A live endpoint as connect settings: what was asked (not what the engine picked), less its own alias. */
function fromLive(ep: LiveEndpoint | undefined, c: ObservedContainer): EndpointConfig {
  const out: EndpointConfig = { Aliases: (ep?.Aliases ?? []).filter((a) => a !== c.id.slice(0, 12)) };
  const ipam = ep?.IPAMConfig;
  if (ipam && (ipam.IPv4Address || ipam.IPv6Address || ipam.LinkLocalIPs?.length)) {
    out.IPAMConfig = {
      ...(ipam.IPv4Address ? { IPv4Address: ipam.IPv4Address } : {}),
      ...(ipam.IPv6Address ? { IPv6Address: ipam.IPv6Address } : {}),
      ...(ipam.LinkLocalIPs?.length ? { LinkLocalIPs: ipam.LinkLocalIPs } : {}),
    };
  }
  if (ep?.DriverOpts && Object.keys(ep.DriverOpts).length > 0) out.DriverOpts = ep.DriverOpts;
  return out;
}

function stopTimeout(input: RecreateInput, c: ObservedContainer): number {
  return input.desired.services.find((s) => s.name === c.service)?.stopGracePeriodSec ?? 10;
}
/** What a network's recreate needs of the apply it is part of (apply.ts passes its ApplyInput). */
export interface RecreateInput {
  source: string;
  desired: DesiredStack;
  observed: ObservedContainer[];
  instance: string;
  ownsNetwork: (n: { id: string; name: string; labels: Record<string, string>; created: string }) => boolean;
}
