// What a container asks of each of its networks (aliases, fixed addresses, MAC address, driver options),
// projected for drift as `networks.<network>.<compose key>`, desired and live normalized alike (issue 11).
// The engine adds aliases of its own (the short container id, and the hostname when one is set) and
// compose another (the container's name): none is the compose file's, so none is compared.
import type Docker from 'dockerode';
import type { DesiredService, ServiceNetwork } from '../../shared/model.ts';

/** Field path → shown value, as fields.ts projects every other setting. */
type Fields = Record<string, string>;

interface LiveEndpoint {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  GwPriority?: number;
}

const list = (items: readonly string[]): string => [...items].sort().join(', ');
const opts = (o: Record<string, string>): string =>
  Object.keys(o)
    .sort()
    .map((k) => `${k}=${o[k]}`)
    .join(', ');

/** The desired side: one field per setting the compose file gives (aliases always: the service name). */
export function desiredEndpointFields(s: DesiredService, f: Fields): void {
  if (s.networkMode) return;
  const added = new Set([s.containerName, ...(s.hostname ? [s.hostname] : [])]);
  for (const n of s.networks) endpointFields(n, added, f);
}

function endpointFields(n: ServiceNetwork, added: Set<string>, f: Fields): void {
  const at = `networks.${n.name}`;
  const aliases = n.aliases.filter((a) => !added.has(a));
  if (aliases.length > 0) f[`${at}.aliases`] = list(aliases);
  if (n.ipv4Address) f[`${at}.ipv4_address`] = n.ipv4Address;
  if (n.ipv6Address) f[`${at}.ipv6_address`] = n.ipv6Address;
  if (n.linkLocalIps?.length) f[`${at}.link_local_ips`] = list(n.linkLocalIps);
  if (n.macAddress) f[`${at}.mac_address`] = n.macAddress;
  if (n.driverOpts && Object.keys(n.driverOpts).length > 0) f[`${at}.driver_opts`] = opts(n.driverOpts);
  if (n.gwPriority !== undefined) f[`${at}.gw_priority`] = String(n.gwPriority);
}

/** The live side, from the container's NetworkSettings.Networks. */
export function liveEndpointFields(c: Docker.ContainerInspectInfo, f: Fields): void {
  const name = c.Name.replace(/^\//, '');
  const added = new Set([c.Id.slice(0, 12), name, c.Config.Hostname]);
  const networks = c.NetworkSettings.Networks as unknown as Record<string, LiveEndpoint>;
  for (const [network, ep] of Object.entries(networks)) {
    const at = `networks.${network}`;
    const aliases = (ep.Aliases ?? []).filter((a) => !added.has(a));
    if (aliases.length > 0) f[`${at}.aliases`] = list([...new Set(aliases)]);
    const ipam = ep.IPAMConfig;
    if (ipam?.IPv4Address) f[`${at}.ipv4_address`] = ipam.IPv4Address;
    if (ipam?.IPv6Address) f[`${at}.ipv6_address`] = ipam.IPv6Address;
    if (ipam?.LinkLocalIPs?.length) f[`${at}.link_local_ips`] = list(ipam.LinkLocalIPs);
    if (ep.MacAddress) f[`${at}.mac_address`] = ep.MacAddress.toLowerCase();
    if (ep.DriverOpts && Object.keys(ep.DriverOpts).length > 0) f[`${at}.driver_opts`] = opts(ep.DriverOpts);
    if (ep.GwPriority !== undefined) f[`${at}.gw_priority`] = String(ep.GwPriority);
  }
}

/**
 * Endpoint fields compared only in part: a MAC address when git sets one (the engine makes one up
 * otherwise); a gateway priority when git sets one and the engine reports it (API 1.48 and later; an
 * older engine takes none, which the plan says).
 */
export function skipEndpointField(key: string, desired: Fields, live: Fields): boolean {
  if (!key.startsWith('networks.')) return false;
  if (key.endsWith('.mac_address')) return desired[key] === undefined;
  if (key.endsWith('.gw_priority')) return desired[key] === undefined || live[key] === undefined;
  return false;
}
