// A service's `networks:`: a list of network keys, or a map of them to what the service's container
// asks of each (aliases, fixed addresses, a MAC address, the endpoint's driver options, the order of
// connection). Every field is left out of ServiceNetwork when the file does not set it, so that a service
// written before these were read hashes the same (issue 11).
import { isIP } from 'node:net';
import type { Node } from 'yaml';
import type { DesiredService, ServiceNetwork } from '../../shared/model.ts';
import { inSubnet, parseCidr } from './resources.ts';
import type { StackContext } from './types.ts';
import type { Entry } from './yaml-file.ts';

const ENDPOINT_KEYS = [
  'aliases',
  'ipv4_address',
  'ipv6_address',
  'link_local_ips',
  'mac_address',
  'driver_opts',
  'priority',
  'gw_priority',
  'interface_name',
];

/** Compose sends `interface_name` as this endpoint driver option (Docker Engine 28.1, API 1.49, or later). */
export const IFNAME_OPTION = 'com.docker.network.endpoint.ifname';

const MAC = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

/** The engine's name of a network key of the stack. */
export function networkName(ctx: StackContext, key: string): string {
  return ctx.networks.get(key)?.name ?? `${ctx.stack}_${key}`;
}

/**
 * Reads `networks:` into `service.networks` and returns the network keys used. The networks are in the
 * order the container joins them: by name, or, where any sets `priority`, the highest first (compose's
 * order; ties by name). The first is the one the container is created on.
 */
export function readServiceNetworks(ctx: StackContext, e: Entry, service: DesiredService): string[] {
  const { yaml } = ctx;
  const wanted: { key: string; net: ServiceNetwork; node: Node; at: Map<string, Node> }[] = [];
  if (yaml.isSeq(e.value)) {
    for (const item of yaml.seq(e.value, e.path) ?? []) {
      const key = yaml.string(item.node, item.path);
      if (key !== undefined) {
        wanted.push({ key, net: { name: '', aliases: [] }, node: item.node!, at: new Map() });
      }
    }
  } else {
    for (const entry of yaml.map(e.value, e.path) ?? []) {
      const at = new Map<string, Node>();
      const net = yaml.isNull(entry.value) ? { name: '', aliases: [] } : readEndpoint(ctx, entry, at);
      wanted.push({ key: entry.key, net, node: entry.keyNode, at });
    }
  }
  const keys: string[] = [];
  const nodes = new Map<ServiceNetwork, Map<string, Node>>();
  for (const { key, net, node, at } of wanted) {
    if (key !== 'default' && !ctx.networks.has(key)) {
      yaml.errorAt(node, `${e.path}: network "${key}" is not declared; add it under the top-level networks`);
      continue;
    }
    keys.push(key);
    net.name = networkName(ctx, key);
    net.aliases = [...new Set([service.name, ...net.aliases])];
    checkAddresses(ctx, e, key, net, at);
    service.networks.push(net);
    nodes.set(net, at);
  }
  const byName = (a: ServiceNetwork, b: ServiceNetwork): number =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  if (service.networks.some((n) => n.priority !== undefined)) {
    service.networks.sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0) || byName(a, b));
  } else {
    service.networks.sort(byName);
  }
  // The service's mac_address is the first network's (compose refuses two different ones).
  const first = service.networks[0];
  const own = service.passthrough?.config?.MacAddress;
  if (first?.macAddress && typeof own === 'string' && own.toLowerCase() !== first.macAddress) {
    yaml.errorAt(
      nodes.get(first)?.get('mac_address'),
      `${e.path}: mac_address ${first.macAddress} differs from the service's mac_address ${own}, which is the MAC address on ${first.name}, the first network it joins; keep one of them`,
    );
  }
  return keys;
}

/** One network's settings; `where` gets the node of each field, for errors found later. */
function readEndpoint(ctx: StackContext, entry: Entry, where: Map<string, Node>): ServiceNetwork {
  const { yaml } = ctx;
  const net: ServiceNetwork = { name: '', aliases: [] };
  const fields = yaml.map(entry.value, entry.path) ?? [];
  yaml.rejectUnknown(fields, ENDPOINT_KEYS);
  let ifname: string | undefined;
  for (const f of fields) {
    const at = f.value ?? f.keyNode;
    where.set(f.key, at);
    switch (f.key) {
      case 'aliases':
        net.aliases = yaml.isNull(f.value) ? [] : (yaml.stringList(f.value, f.path) ?? []);
        break;
      case 'ipv4_address':
      case 'ipv6_address': {
        const v = yaml.string(f.value, f.path);
        if (v === undefined || v === '') break;
        const family = f.key === 'ipv4_address' ? 4 : 6;
        if (isIP(v) !== family) yaml.errorAt(at, `${f.path}: "${v}" is not an IPv${family} address`);
        else net[family === 4 ? 'ipv4Address' : 'ipv6Address'] = v;
        break;
      }
      case 'link_local_ips': {
        const ips = yaml.stringList(f.value, f.path) ?? [];
        const bad = ips.find((ip) => isIP(ip) === 0);
        if (bad !== undefined) yaml.errorAt(at, `${f.path}: "${bad}" is not an IP address`);
        else if (ips.length > 0) net.linkLocalIps = ips;
        break;
      }
      case 'mac_address': {
        const v = yaml.string(f.value, f.path);
        if (v === undefined || v === '') break;
        if (!MAC.test(v))
          yaml.errorAt(at, `${f.path}: "${v}" is not a MAC address such as 02:42:ac:11:00:02`);
        // The engine reports it in lower case with colons.
        else net.macAddress = v.toLowerCase().replace(/-/g, ':');
        break;
      }
      case 'driver_opts': {
        const opts: Record<string, string> = {};
        for (const kv of yaml.isNull(f.value) ? [] : (yaml.map(f.value, f.path) ?? [])) {
          const v = yaml.scalar(kv.value);
          if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
            opts[kv.key] = String(v);
          else yaml.errorAt(kv.value ?? kv.keyNode, `${kv.path} must be a string or a number`);
        }
        if (Object.keys(opts).length > 0) net.driverOpts = { ...opts, ...net.driverOpts };
        break;
      }
      case 'priority':
      case 'gw_priority': {
        const v = yaml.int(f.value, f.path, -(2 ** 31), 2 ** 31 - 1);
        if (v !== undefined) net[f.key === 'priority' ? 'priority' : 'gwPriority'] = v;
        break;
      }
      case 'interface_name':
        ifname = yaml.string(f.value, f.path);
        break;
    }
  }
  // As compose sends it: an endpoint driver option, which interface_name wins over.
  if (ifname !== undefined && ifname !== '') net.driverOpts = { ...net.driverOpts, [IFNAME_OPTION]: ifname };
  return net;
}

/**
 * The engine gives a fixed address only on a network with a subnet declared for it, inside that subnet,
 * and refuses the container otherwise (after its other networks and volumes were made): said here, at
 * the address. An external network's subnets are not known until it is looked at.
 */
function checkAddresses(
  ctx: StackContext,
  e: Entry,
  key: string,
  net: ServiceNetwork,
  at: Map<string, Node>,
): void {
  const network = ctx.networks.get(key);
  if (network?.external) return;
  for (const [field, addr] of [
    ['ipv4_address', net.ipv4Address],
    ['ipv6_address', net.ipv6Address],
  ] as const) {
    if (addr === undefined) continue;
    const declared = (network?.ipam?.config ?? []).flatMap((p) => {
      const cidr = p.subnet === undefined ? null : parseCidr(p.subnet);
      return cidr !== null && cidr.family === isIP(addr) ? [{ text: p.subnet!, cidr }] : [];
    });
    const subnets = declared.map((d) => d.cidr);
    const where = `${e.path}.${key}.${field}`;
    const node = at.get(field);
    if (subnets.length === 0) {
      ctx.yaml.errorAt(
        node,
        `${where}: the engine gives a fixed address only on a network with a subnet of its own; add ipam: {config: [{subnet: ...}]} to networks.${key}`,
      );
    } else if (!subnets.some((c) => inSubnet(addr, c))) {
      ctx.yaml.errorAt(
        node,
        `${where}: ${addr} is not inside the subnet${subnets.length > 1 ? 's' : ''} of networks.${key} (${declared.map((d) => d.text).join(', ')})`,
      );
    }
  }
}
