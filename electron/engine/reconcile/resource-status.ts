// A stack's declared networks and volumes against the engine's (issue 11, item 8). Pure: no I/O.
//
// Neither can be changed in place. A network Mooring made for the stack that differs from git is made
// again by the plan (compose v2 does the same: its containers are disconnected and reconnected, not
// recreated). A volume that differs is shown and left alone: making it again would lose its data
// (compose asks first; Mooring has no one to ask), so the plan says what to do instead. A network or
// volume that Mooring did not make for the stack is used as it is, and not judged: the plan says so.
import type {
  DesiredNetwork,
  DesiredStack,
  DesiredVolume,
  DriftReason,
  Health,
  IpamPool,
  ResourceStatus,
  SyncStatus,
} from '../../shared/model.ts';
import type { LiveNetwork, LiveVolume } from '../docker/docker-adapter.ts';
import { isBookkeepingLabel } from '../docker/fields.ts';
import { LABELS } from '../docker/labels.ts';
import { parseCidr } from '../manifest/resources.ts';

/** The engine's networks and volumes, as one status look saw them. */
export interface LiveResources {
  networks: readonly LiveNetwork[];
  volumes: readonly LiveVolume[];
}

type Fields = Record<string, string>;

/** Made by Mooring for this stack, by its labels: the only ones whose settings are held to git. */
export function madeForStack(labels: Record<string, string>, stack: string): boolean {
  return labels[LABELS.managed] === 'true' && labels[LABELS.project] === stack;
}

/**
 * The declared networks and volumes that are missing or differ, in the order of the file. Those that
 * are as declared are left out (a stack's status stays as small as before when all is well).
 */
export function resourceStatuses(desired: DesiredStack, live: LiveResources): ResourceStatus[] {
  const out: ResourceStatus[] = [];
  const networks = new Map(live.networks.map((n) => [n.name, n]));
  const volumes = new Map(live.volumes.map((v) => [v.name, v]));
  for (const n of desired.networks) {
    const found = networks.get(n.name);
    if (found === undefined) {
      out.push(missing('network', n.key, n.name, n.external));
    } else if (!n.external && madeForStack(found.labels, desired.name)) {
      const reasons = diff(`networks.${n.key}`, desiredNetworkFields(n), liveNetworkFields(n, found));
      if (reasons.length > 0)
        out.push({ kind: 'network', key: n.key, name: n.name, sync: 'OutOfSync', reasons });
    }
  }
  for (const v of desired.volumes) {
    const found = volumes.get(v.name);
    if (found === undefined) {
      out.push(missing('volume', v.key, v.name, v.external));
    } else if (!v.external && madeForStack(found.labels, desired.name)) {
      const reasons = diff(`volumes.${v.key}`, desiredVolumeFields(v), liveVolumeFields(found));
      if (reasons.length > 0)
        out.push({ kind: 'volume', key: v.key, name: v.name, sync: 'OutOfSync', reasons });
    }
  }
  return out;
}

function missing(kind: 'network' | 'volume', key: string, name: string, external: boolean): ResourceStatus {
  return {
    kind,
    key,
    name,
    sync: 'Missing',
    ...(external ? { external: true as const } : {}),
    reasons: [
      {
        path: `${kind}s.${key}`,
        desired: external ? `${name} (external: made outside Mooring)` : name,
        live: null,
      },
    ],
  };
}

function diff(prefix: string, desired: Fields, live: Fields): DriftReason[] {
  const keys = [...new Set([...Object.keys(desired), ...Object.keys(live)])].sort();
  return keys.flatMap((k) =>
    desired[k] === live[k]
      ? []
      : [{ path: `${prefix}.${k}`, desired: desired[k] ?? null, live: live[k] ?? null }],
  );
}

function userLabels(labels: Record<string, string>, f: Fields): void {
  for (const [k, v] of Object.entries(labels)) if (!isBookkeepingLabel(k)) f[`labels.${k}`] = v;
}

// ── networks: what the file sets is compared; what it leaves to the engine is not ──────────────────

function desiredNetworkFields(n: DesiredNetwork): Fields {
  const f: Fields = { driver: n.driver, internal: String(n.internal ?? false) };
  f.attachable = String(n.attachable ?? false);
  if (n.enableIpv6 !== undefined) f.enable_ipv6 = String(n.enableIpv6);
  if (n.enableIpv4 !== undefined) f.enable_ipv4 = String(n.enableIpv4);
  for (const [k, v] of Object.entries(n.driverOpts ?? {})) f[`driver_opts.${k}`] = v;
  if (n.ipam?.driver !== undefined) f['ipam.driver'] = n.ipam.driver;
  for (const [k, v] of Object.entries(n.ipam?.options ?? {})) f[`ipam.options.${k}`] = v;
  const pools = n.ipam?.config ?? [];
  if (pools.length > 0)
    f['ipam.config'] = pools
      .map((p) => poolText(p))
      .sort()
      .join('; ');
  userLabels(n.labels, f);
  return f;
}

/** The live network seen through what the desired one sets (the engine fills in the rest). */
function liveNetworkFields(n: DesiredNetwork, live: LiveNetwork): Fields {
  const f: Fields = { driver: live.driver, internal: String(live.internal) };
  f.attachable = String(live.attachable);
  if (n.enableIpv6 !== undefined) f.enable_ipv6 = String(live.enableIpv6);
  // An engine before API 1.47 cannot turn IPv4 off and does not report it: the plan says so.
  if (n.enableIpv4 !== undefined) f.enable_ipv4 = String(live.enableIpv4 ?? n.enableIpv4);
  for (const k of Object.keys(n.driverOpts ?? {})) {
    if (live.options[k] !== undefined) f[`driver_opts.${k}`] = live.options[k];
  }
  if (n.ipam?.driver !== undefined) f['ipam.driver'] = live.ipam.driver;
  for (const k of Object.keys(n.ipam?.options ?? {})) {
    if (live.ipam.options[k] !== undefined) f[`ipam.options.${k}`] = live.ipam.options[k];
  }
  const pools = n.ipam?.config ?? [];
  if (pools.length > 0) {
    // Only the address families the file gives subnets for: the engine picks the others' pools.
    const families = new Set(pools.map((p) => family(p.subnet)));
    const text = live.ipam.config
      .filter((lp) => families.has(family(lp.subnet)))
      .map((lp) => {
        const declared = pools.find((p) => p.subnet === lp.subnet);
        // Without a gateway in the file, the engine takes the subnet's first address: not compared.
        return poolText(declared?.gateway === undefined ? { ...lp, gateway: undefined } : lp);
      })
      .sort()
      .join('; ');
    f['ipam.config'] = text;
  }
  userLabels(live.labels, f);
  return f;
}

function family(subnet: string | undefined): number | null {
  return subnet === undefined ? null : (parseCidr(subnet)?.family ?? null);
}

function poolText(p: IpamPool): string {
  const parts = [`subnet ${p.subnet ?? '(any)'}`];
  if (p.ipRange) parts.push(`ip_range ${p.ipRange}`);
  if (p.gateway) parts.push(`gateway ${p.gateway}`);
  const aux = Object.entries(p.auxAddresses ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (aux.length > 0) parts.push(`aux_addresses ${aux.map(([k, v]) => `${k}=${v}`).join(',')}`);
  return parts.join(' ');
}

// ── volumes: driver, options and labels, both ways ─────────────────────────────────────────────────

function desiredVolumeFields(v: DesiredVolume): Fields {
  const f: Fields = { driver: v.driver };
  for (const [k, val] of Object.entries(v.driverOpts ?? {})) f[`driver_opts.${k}`] = val;
  userLabels(v.labels, f);
  return f;
}

function liveVolumeFields(v: LiveVolume): Fields {
  const f: Fields = { driver: v.driver };
  for (const [k, val] of Object.entries(v.options)) f[`driver_opts.${k}`] = val;
  userLabels(v.labels, f);
  return f;
}

/**
 * A stack's sync and health with its networks and volumes counted (issue 11, item 8): a stack of only a
 * network and a volume is Missing until they exist, not Synced; a missing or differing network or
 * volume beside running services makes the stack OutOfSync.
 */
export function withResources(
  desired: DesiredStack,
  declaredServices: number,
  sync: SyncStatus,
  health: Health,
  resources: readonly ResourceStatus[],
): { sync: SyncStatus; health: Health } {
  if (sync === 'Unknown' || sync === 'Orphaned') return { sync, health };
  const declared = desired.networks.length + desired.volumes.length;
  const anyMissing = resources.some((r) => r.sync === 'Missing');
  if (declaredServices === 0) {
    if (declared === 0) return { sync, health };
    // `health` is Missing only when nothing at all runs (no orphaned container either).
    const h: Health = health === 'Missing' && !anyMissing ? 'Healthy' : health;
    const allMissing = resources.length === declared && resources.every((r) => r.sync === 'Missing');
    if (sync === 'Synced' && allMissing) return { sync: 'Missing', health: h };
    return { sync: sync === 'Synced' && resources.length > 0 ? 'OutOfSync' : sync, health: h };
  }
  if (resources.length === 0) return { sync, health };
  if (sync === 'Missing')
    return { sync: resources.every((r) => r.sync === 'Missing') ? 'Missing' : 'OutOfSync', health };
  return { sync: 'OutOfSync', health };
}

/** Whether a sync can do something about them: create what is missing, make a network again. */
export function resourcesNeedRun(resources: readonly ResourceStatus[] | undefined): boolean {
  return (resources ?? []).some(
    (r) => (r.sync === 'Missing' && !r.external) || (r.sync === 'OutOfSync' && r.kind === 'network'),
  );
}
