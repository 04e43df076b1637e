// What the plan says of a stack's networks and volumes beyond creating them (issue 11). Pure: no I/O.
// Some settings need a newer engine than the one at hand: compose refuses two of them there (a MAC
// address on a second network before API 1.44, interface_name before 1.49), and so does the plan; the
// engine would drop the others in silence (gw_priority before 1.48, enable_ipv4: false before 1.47),
// which the plan says instead.
import type { DesiredStack, ResourceStatus } from '../../shared/model.ts';
import { IFNAME_OPTION } from '../manifest/service-networks.ts';

/** `1.41` < `1.44`: API versions compare by their two numbers. */
export function apiBefore(version: string, wanted: string): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  const [c = 0, d = 0] = wanted.split('.').map(Number);
  return a < c || (a === c && b < d);
}

export function networkPlanChecks(
  desired: DesiredStack,
  resources: readonly ResourceStatus[],
  ownNetworks: ReadonlySet<string>,
  apiVersion: string,
): { notes: string[]; problems: string[] } {
  const notes: string[] = [];
  const problems: string[] = [];
  const diffText = (r: ResourceStatus): string =>
    r.reasons
      .map((x) => `${x.path}: git ${x.desired ?? '(unset)'}, engine ${x.live ?? '(unset)'}`)
      .join('; ');
  for (const r of resources) {
    if (r.sync !== 'OutOfSync') continue;
    if (r.kind === 'volume') {
      notes.push(
        `volume ${r.name} differs from git (${diffText(r)}); Mooring never makes a volume again, its data would be lost: to apply git's settings, save what it holds, remove the containers that mount it and the volume (docker volume rm ${r.name}), then sync`,
      );
    } else if (!ownNetworks.has(r.name)) {
      notes.push(
        `network ${r.name} differs from git (${diffText(r)}), but this Mooring home did not make it: left as it is; remove it (docker network rm ${r.name}) for Mooring to make it again`,
      );
    }
  }
  const engine = `this engine (API ${apiVersion})`;
  for (const n of desired.networks) {
    if (n.enableIpv4 === false && apiBefore(apiVersion, '1.47')) {
      notes.push(
        `networks.${n.key}.enable_ipv4: false needs Docker Engine 28 (API 1.47); ${engine} keeps IPv4 on`,
      );
    }
  }
  for (const s of desired.services) {
    if (s.networkMode) continue;
    s.networks.forEach((n, i) => {
      const at = `services.${s.name}.networks (${n.name})`;
      if (n.gwPriority !== undefined && apiBefore(apiVersion, '1.48')) {
        notes.push(`${at}: gw_priority needs Docker Engine 28 (API 1.48); ${engine} takes none`);
      }
      if (n.driverOpts?.[IFNAME_OPTION] !== undefined && apiBefore(apiVersion, '1.49')) {
        problems.push(
          `${at}: interface_name needs Docker Engine 28.1 (API 1.49), and ${engine} would ignore it; upgrade the engine or remove interface_name`,
        );
      }
      if (i > 0 && n.macAddress && apiBefore(apiVersion, '1.44')) {
        problems.push(
          `${at}: ${engine} takes a MAC address only for the first network a container joins (${s.networks[0]!.name}); a MAC address on another needs Docker Engine 25 (API 1.44): give this network the highest priority, or remove its mac_address`,
        );
      }
    });
  }
  return { notes, problems };
}
