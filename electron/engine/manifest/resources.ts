// Top-level `networks:` and `volumes:` of a compose file → DesiredNetwork / DesiredVolume, with every
// key compose v2 reads (issue 11), checked where they are written. A network or a volume reaches the
// host more than it seems: the `local` volume driver mounts whatever `driver_opts` says (a host folder,
// a disk, another machine's share) from the host's kernel, as root; a bridge given an interface name
// takes over a host interface of that name; macvlan and ipvlan put containers on a host interface; a
// plugin driver does what its options ask. Those need the local settings (safety.ts), never the repo.
import { isIP } from 'node:net';
import type { Node } from 'yaml';
import type { DesiredNetwork, DesiredVolume, IpamPool, SafetySettings } from '../../shared/model.ts';
import {
  exposesDockerSocket,
  listed,
  normalizeHostPath,
  refuse,
  safetyMessages,
  underBindRoots,
} from './safety.ts';
import { readLabels } from './key-values.ts';
import type { Entry, YamlFile } from './yaml-file.ts';

const COMMON_KEYS = ['name', 'external', 'driver', 'driver_opts', 'labels'];
const NETWORK_KEYS = [...COMMON_KEYS, 'ipam', 'internal', 'attachable', 'enable_ipv6', 'enable_ipv4'];

/** Network drivers that only connect containers to each other; the engine's own `host`/`null` are refused apart. */
const CONTAINER_NETWORK_DRIVERS = ['bridge', 'overlay'];
/** Drivers that put containers straight onto an interface of the host (`parent`). */
const HOST_INTERFACE_DRIVERS = ['macvlan', 'ipvlan'];
/** The bridge driver's option that names the host interface to use (taking over one that exists). */
const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';

/** `type` values of the local volume driver that reach nothing outside the engine's own folder. */
const HARMLESS_VOLUME_TYPES = ['tmpfs', 'none'];

export interface ResourceOptions {
  stack: string;
  safety: SafetySettings;
  /** What `~` means in a bind volume's device. */
  homeDir: string;
  /** The stack's source, for the one command that trusts it with a refused setting. */
  source?: string | undefined;
}

/** What networks and volumes have in common, as read. */
interface Common {
  name: string;
  external: boolean;
  driver: string | null;
  driverOpts: Record<string, string> | undefined;
  labels: Record<string, string>;
  fields: Entry[];
}

function readCommon(yaml: YamlFile, e: Entry, known: readonly string[]): Common | null {
  const common: Common = {
    name: '',
    external: false,
    driver: null,
    driverOpts: undefined,
    labels: {},
    fields: [],
  };
  if (yaml.isNull(e.value)) return common;
  const fields = yaml.map(e.value, e.path);
  if (fields === null) return null;
  common.fields = fields;
  yaml.rejectUnknown(fields, known);
  let legacyName: { name: string; node: Node | null } | null = null;
  for (const f of fields) {
    switch (f.key) {
      case 'name':
        common.name = yaml.string(f.value, f.path) ?? '';
        break;
      case 'external':
        if (yaml.isMap(f.value)) {
          // The legacy form compose still reads: `external: {name: X}` is `name: X` + `external: true`.
          common.external = true;
          const ext = yaml.map(f.value, f.path) ?? [];
          yaml.rejectUnknown(ext, ['name']);
          const n = ext.find((x) => x.key === 'name');
          const name = n === undefined ? undefined : yaml.string(n.value, n.path);
          if (name !== undefined) legacyName = { name, node: n!.value ?? n!.keyNode };
        } else {
          common.external = yaml.bool(f.value, f.path) ?? false;
        }
        break;
      case 'driver':
        common.driver = yaml.string(f.value, f.path) ?? null;
        break;
      case 'driver_opts':
        common.driverOpts = readOptions(yaml, f);
        break;
      case 'labels':
        common.labels = readLabels(yaml, f);
        break;
    }
  }
  if (legacyName !== null) {
    const named = fields.find((f) => f.key === 'name');
    if (named === undefined) common.name = legacyName.name;
    else if (common.name !== legacyName.name) {
      yaml.errorAt(
        legacyName.node,
        `${e.path}: name and external.name conflict; keep only name (external.name is its older spelling)`,
      );
    }
  }
  return common;
}

/** A map of option names to strings or numbers (driver_opts, ipam options). */
function readOptions(yaml: YamlFile, e: Entry): Record<string, string> {
  const out: Record<string, string> = {};
  if (yaml.isNull(e.value)) return out;
  for (const kv of yaml.map(e.value, e.path) ?? []) {
    const v = yaml.scalar(kv.value);
    if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) out[kv.key] = String(v);
    else if (typeof v === 'boolean') out[kv.key] = String(v);
    else yaml.errorAt(kv.value ?? kv.keyNode, `${kv.path} must be a string or a number`);
  }
  return out;
}

// ── networks ────────────────────────────────────────────────────────────────────────────────────

export function readNetworks(
  yaml: YamlFile,
  entry: Entry | undefined,
  opts: ResourceOptions,
): Map<string, DesiredNetwork> {
  const networks = new Map<string, DesiredNetwork>();
  if (entry === undefined || yaml.isNull(entry.value)) return networks;
  for (const e of yaml.map(entry.value, entry.path) ?? []) {
    const common = readCommon(yaml, e, NETWORK_KEYS);
    if (common === null) continue;
    const network = networkOf(opts.stack, e.key, common);
    if (!network.external) readNetworkSettings(yaml, common.fields, network);
    else warnExternal(yaml, e, common.fields, 'network');
    // A refused network stays declared, so that the services using it are not also told it is not.
    checkNetwork(yaml, e, network, common.fields, opts);
    networks.set(e.key, network);
  }
  return networks;
}

/**
 * Compose uses an external network as it is and reads none of its other keys (unlike an external
 * volume, which it refuses with them): kept, with a warning that they do nothing.
 */
function warnExternal(yaml: YamlFile, e: Entry, fields: Entry[], kind: 'network'): void {
  for (const f of fields) {
    if (f.key === 'name' || f.key === 'external' || f.key.startsWith('x-')) continue;
    yaml.warnAt(
      f.keyNode,
      `${f.path}: the ${kind} is external, used as it exists; ${f.key} has no effect (remove it, or remove external: true for Mooring to create it)`,
    );
  }
}

function readNetworkSettings(yaml: YamlFile, fields: Entry[], network: DesiredNetwork): void {
  for (const f of fields) {
    switch (f.key) {
      case 'driver_opts':
        network.driverOpts = readOptions(yaml, f);
        break;
      case 'ipam': {
        const ipam = readIpam(yaml, f);
        if (ipam !== undefined) network.ipam = ipam;
        break;
      }
      case 'internal':
      case 'attachable':
      case 'enable_ipv6':
      case 'enable_ipv4': {
        const v = yaml.bool(f.value, f.path);
        if (v === undefined) break;
        const field = (
          {
            internal: 'internal',
            attachable: 'attachable',
            enable_ipv6: 'enableIpv6',
            enable_ipv4: 'enableIpv4',
          } as const
        )[f.key];
        network[field] = v;
        break;
      }
    }
  }
}

function readIpam(yaml: YamlFile, e: Entry): DesiredNetwork['ipam'] | undefined {
  if (yaml.isNull(e.value)) return undefined;
  const fields = yaml.map(e.value, e.path);
  if (fields === null) return undefined;
  yaml.rejectUnknown(fields, ['driver', 'config', 'options']);
  const ipam: NonNullable<DesiredNetwork['ipam']> = {};
  for (const f of fields) {
    if (f.key === 'driver') {
      const v = yaml.string(f.value, f.path);
      if (v !== undefined) ipam.driver = v;
    } else if (f.key === 'options') {
      ipam.options = readOptions(yaml, f);
    } else if (f.key === 'config') {
      if (yaml.isNull(f.value)) continue;
      ipam.config = [];
      for (const item of yaml.seq(f.value, f.path) ?? []) {
        const pool = readPool(yaml, item.node, item.path);
        if (pool !== null) ipam.config.push(pool);
      }
    }
  }
  return ipam;
}

function readPool(yaml: YamlFile, node: Node | null, path: string): IpamPool | null {
  const fields = yaml.map(node, path);
  if (fields === null) return null;
  yaml.rejectUnknown(fields, ['subnet', 'ip_range', 'gateway', 'aux_addresses']);
  const pool: IpamPool = {};
  for (const f of fields) {
    const at = f.value ?? f.keyNode;
    if (f.key === 'aux_addresses') {
      const aux: Record<string, string> = {};
      for (const kv of yaml.map(f.value, f.path) ?? []) {
        const ip = yaml.string(kv.value, kv.path);
        if (ip === undefined) continue;
        if (isIP(ip) === 0) yaml.errorAt(kv.value, `${kv.path}: "${ip}" is not an IP address`);
        else aux[kv.key] = ip;
      }
      pool.auxAddresses = aux;
      continue;
    }
    if (!['subnet', 'ip_range', 'gateway'].includes(f.key)) continue;
    const v = yaml.string(f.value, f.path);
    if (v === undefined) continue;
    if (f.key === 'gateway') {
      if (isIP(v) === 0) yaml.errorAt(at, `${f.path}: "${v}" is not an IP address`);
      else pool.gateway = v;
    } else {
      const cidr = parseCidr(v);
      if (cidr === null) {
        yaml.errorAt(at, `${f.path}: "${v}" is not a subnet; write ADDRESS/PREFIX, such as 172.28.0.0/16`);
      } else if (f.key === 'subnet') pool.subnet = v;
      else pool.ipRange = v;
    }
  }
  const subnet = pool.subnet === undefined ? null : parseCidr(pool.subnet);
  if (subnet !== null) {
    for (const f of fields) {
      const v = f.key === 'gateway' ? pool.gateway : f.key === 'ip_range' ? pool.ipRange : undefined;
      if (v === undefined) continue;
      const addr = f.key === 'gateway' ? v : v.split('/')[0]!;
      if (!inSubnet(addr, subnet)) {
        yaml.errorAt(f.value ?? f.keyNode, `${f.path}: ${v} is not inside the subnet ${pool.subnet}`);
      }
    }
  }
  return pool;
}

interface Cidr {
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

/** `ADDRESS/PREFIX`, IPv4 or IPv6, or null. */
export function parseCidr(text: string): Cidr | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (m === null) return null;
  const family = isIP(m[1]!);
  const prefix = Number(m[2]);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return null;
  return { family: family as 4 | 6, bits: ipBits(m[1]!), prefix };
}

/** Whether an address lies inside a subnet (same family, same leading bits). */
export function inSubnet(addr: string, subnet: Cidr): boolean {
  const family = isIP(addr);
  if (family !== subnet.family) return false;
  const width = BigInt(family === 4 ? 32 : 128);
  const shift = width - BigInt(subnet.prefix);
  return ipBits(addr) >> shift === subnet.bits >> shift;
}

function ipBits(addr: string): bigint {
  if (isIP(addr) === 4) return addr.split('.').reduce((n, part) => (n << 8n) + BigInt(Number(part)), 0n);
  // IPv6: expand `::`, and an IPv4 tail (`::ffff:1.2.3.4`) into two groups.
  let text = addr.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const n = Number(ipBits(v4[1]!));
    text = text.slice(0, -v4[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n);
}

/** A network as compose names and labels it; `r` null is the implicit default network. */
export function networkOf(stack: string, key: string, r: Common | null): DesiredNetwork {
  const external = r?.external ?? false;
  return {
    key,
    name: r?.name || (external ? key : `${stack}_${key}`),
    external,
    driver: external ? '' : (r?.driver ?? 'bridge'),
    labels: external
      ? {}
      : {
          ...r?.labels,
          'com.docker.compose.project': stack,
          'com.docker.compose.network': key,
          'dev.mooring.managed': 'true',
        },
  };
}

/**
 * Docker's predefined networks cannot be joined through `networks:` as compose means it: the host
 * network shares the host's network namespace (so it is the safety policy's business, like
 * `network_mode: host`), and none of them takes the aliases every service gets, so Docker would fail
 * only after creating the container. Nor can another network with their drivers be created. A network
 * Mooring creates may not reach the host's interfaces, or use a plugin, unless the settings allow it.
 */
function checkNetwork(
  yaml: YamlFile,
  e: Entry,
  network: DesiredNetwork,
  fields: Entry[],
  opts: ResourceOptions,
): void {
  const { safety } = opts;
  const ctx = { yaml, source: opts.source };
  const at = (key: string): Node | null => {
    const f = fields.find((x) => x.key === key);
    return f === undefined ? e.keyNode : (f.value ?? f.keyNode);
  };
  // Docker's names are case-sensitive, but nothing is lost by refusing `HOST` too.
  const name = network.name.toLowerCase();
  if (name === 'host') {
    const message = safety.allowHostNamespaces
      ? `network "${network.name}" is Docker's host network, which takes no aliases; write network_mode: host on the service instead`
      : safetyMessages.hostNetwork(network.name);
    yaml.errorAt(at('name'), `${e.path}: ${message}`);
    return;
  }
  if (name === 'bridge' || name === 'none' || name === 'default') {
    const mode = name === 'none' ? 'none' : 'bridge';
    yaml.errorAt(
      at('name'),
      `${e.path}: network "${network.name}" is Docker's predefined ${mode} network, which takes no aliases; write network_mode: ${mode} on the service instead`,
    );
    return;
  }
  if (network.external) return;
  const driver = network.driver;
  if (driver === 'host' || driver === 'null') {
    yaml.errorAt(
      at('driver'),
      `${e.path}: Docker has one network with driver ${driver} and creates no other; write network_mode: ${driver === 'host' ? 'host' : 'none'} on the service instead`,
    );
    return;
  }
  if (HOST_INTERFACE_DRIVERS.includes(driver)) {
    if (!safety.allowHostInterfaces) {
      const parent = network.driverOpts?.parent;
      const what = `driver ${driver} puts the containers straight onto ${parent ? `the host interface ${parent}` : 'an interface of the host'}, past the host's firewall`;
      refuse(ctx, at('driver'), `${e.path}.driver`, safetyMessages.hostInterface(what), {
        setting: 'allowHostInterfaces',
      });
    }
  } else if (!CONTAINER_NETWORK_DRIVERS.includes(driver) && !listed(safety.allowNetworkDrivers, driver)) {
    refuse(ctx, at('driver'), `${e.path}.driver`, safetyMessages.networkDriver(driver), {
      setting: 'allowNetworkDrivers',
      value: driver,
    });
  }
  const bridgeName = network.driverOpts?.[BRIDGE_NAME_OPTION];
  if (bridgeName !== undefined && !safety.allowHostInterfaces) {
    const what = `${BRIDGE_NAME_OPTION}: ${bridgeName} makes the engine take over a host interface of that name if there is one (it replaces its addresses, and the containers join whatever it connects to)`;
    refuse(ctx, at('driver_opts'), `${e.path}.driver_opts`, safetyMessages.hostInterface(what), {
      setting: 'allowHostInterfaces',
    });
  }
}

// ── volumes ─────────────────────────────────────────────────────────────────────────────────────

export function readVolumes(
  yaml: YamlFile,
  entry: Entry | undefined,
  opts: ResourceOptions,
): Map<string, DesiredVolume> {
  const volumes = new Map<string, DesiredVolume>();
  if (entry === undefined || yaml.isNull(entry.value)) return volumes;
  for (const e of yaml.map(entry.value, entry.path) ?? []) {
    const r = readCommon(yaml, e, COMMON_KEYS);
    if (r === null) continue;
    if (r.external) {
      // Compose refuses these beside external (`conflicting parameters "external" and "driver"`).
      for (const f of r.fields) {
        if (f.key === 'name' || f.key === 'external' || f.key.startsWith('x-')) continue;
        yaml.errorAt(
          f.keyNode,
          `${f.path}: an external volume is used as it exists, so ${f.key} cannot be set; remove ${f.key}, or remove external: true for Mooring to create the volume`,
        );
      }
    }
    const volume: DesiredVolume = {
      key: e.key,
      name: r.name || (r.external ? e.key : `${opts.stack}_${e.key}`),
      external: r.external,
      driver: r.external ? '' : (r.driver ?? 'local'),
      labels: r.external
        ? {}
        : {
            ...r.labels,
            'com.docker.compose.project': opts.stack,
            'com.docker.compose.volume': e.key,
            'dev.mooring.managed': 'true',
          },
    };
    if (!r.external && r.driverOpts !== undefined) volume.driverOpts = r.driverOpts;
    if (!r.external) checkVolume(yaml, e, volume, r.fields, opts);
    volumes.set(e.key, volume);
  }
  return volumes;
}

/**
 * What a volume would reach beyond the engine's own folder. The local driver mounts `device` on the
 * volume's folder with the file system `type` and the mount options `o`, from the host's kernel, as
 * root: with `bind` (or `rbind`) among the options that is a host folder, as a bind mount is; a disk
 * file system (ext4 on /dev/sdb1…) is a host disk; nfs or cifs reach other machines, and the host's own
 * services, from the host and with its address. Only tmpfs reaches nothing. A volume plugin does what
 * its options ask (some bind any host folder).
 */
function checkVolume(
  yaml: YamlFile,
  e: Entry,
  volume: DesiredVolume,
  fields: Entry[],
  opts: ResourceOptions,
): void {
  const { safety } = opts;
  const ctx = { yaml, source: opts.source };
  const field = (key: string): Entry | undefined => fields.find((f) => f.key === key);
  if (volume.driver !== 'local') {
    if (!listed(safety.allowVolumeDrivers, volume.driver)) {
      const f = field('driver');
      refuse(
        ctx,
        f?.value ?? f?.keyNode ?? e.keyNode,
        `${e.path}.driver`,
        safetyMessages.volumeDriver(volume.driver),
        {
          setting: 'allowVolumeDrivers',
          value: volume.driver,
        },
      );
    }
    return;
  }
  const o = volume.driverOpts ?? {};
  const optsEntry = field('driver_opts');
  const optAt = (key: string): Node | null => {
    const kv =
      optsEntry && yaml.isMap(optsEntry.value) ? (yaml.map(optsEntry.value, optsEntry.path) ?? []) : [];
    const f = kv.find((x) => x.key === key);
    return f?.value ?? f?.keyNode ?? optsEntry?.keyNode ?? e.keyNode;
  };
  const flags = (o.o ?? '').split(',').map((x) => x.trim());
  if (flags.includes('bind') || flags.includes('rbind')) {
    const device = o.device ?? '';
    const where = `${e.path}.driver_opts.device`;
    if (device === '' || !(device.startsWith('/') || device === '~' || device.startsWith('~/'))) {
      yaml.errorAt(
        optAt('device'),
        `${where}: a volume with o: ${o.o} binds a host folder, and "${device}" is not an absolute path; write the host folder's absolute path, or mount a folder of the config repo in the service with ./PATH`,
      );
      return;
    }
    const path = normalizeHostPath(device.startsWith('~') ? opts.homeDir + device.slice(1) : device);
    const socket = exposesDockerSocket(path);
    if (socket !== null && !safety.allowDockerSocket) {
      refuse(ctx, optAt('device'), where, safetyMessages.dockerSocket(path), {
        setting: 'allowDockerSocket',
      });
      return;
    }
    if (socket !== 'socket' && !underBindRoots(path, safety)) {
      refuse(ctx, optAt('device'), where, safetyMessages.bindRoot(path, safety.bindRoots), {
        setting: 'bindRoots',
        value: path,
      });
    }
    return;
  }
  const type = o.type;
  if (type === undefined || HARMLESS_VOLUME_TYPES.includes(type)) return;
  if (!listed(safety.allowVolumeTypes, type)) {
    const from = o.device ? ` from ${o.device}` : '';
    refuse(ctx, optAt('type'), `${e.path}.driver_opts.type`, safetyMessages.volumeType(type, from), {
      setting: 'allowVolumeTypes',
      value: type,
    });
  }
}
