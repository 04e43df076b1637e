// Compose keys that map one-to-one onto a field of the engine's create call (mem_limit → HostConfig.
// Memory, tty → Config.Tty, …), declared once in a table: how each is read from YAML (type, units,
// checks), where it goes, and what the engine reports when it is unset. The loader fills
// DesiredService.passthrough from it, container-spec.ts sends it as is, and docker/fields.ts compares
// the same fields of a live container, so a key added here is deployed and drift-checked at once.
//
// Keys with meaning of their own (image, ports, volumes, networks, healthcheck, depends_on, …) are not
// here; they have their own readers in service.ts.
import type { Node } from 'yaml';
import type { JsonValue, SafetySettings } from '../../shared/model.ts';
import { parseDurationNs } from './duration.ts';
import { exposesDockerSocket, refuse, safetyMessages } from './safety.ts';
import { canonicalJson } from './spec-hash.ts';
import type { Entry, YamlFile } from './yaml-file.ts';

/** Where a key goes in the create call: the container's Config or its HostConfig. */
export type Target = 'config' | 'hostConfig';

export interface ReadContext {
  yaml: YamlFile;
  safety: SafetySettings;
  /** The stack's source, for the one command that trusts it with what a refusal names. */
  source?: string | undefined;
}

export interface PassthroughKey {
  /** The compose key, also the name drift is shown under. */
  key: string;
  target: Target;
  /**
   * The Docker Engine API field (API 1.41), or the fields of a key that sets several (blkio_config): then
   * `read` returns an object of them, and only those it sets are sent.
   */
  field: string | readonly string[];
  /** Reads and checks the YAML value; reports and returns undefined when it is not valid (or not sent). */
  read: (ctx: ReadContext, e: Entry) => JsonValue | undefined;
  /** What the engine reports when the key is unset, besides "empty" (null, 0, '', false, [] and {}). */
  unset?: JsonValue;
  /**
   * The engine fills in a value that depends on other fields or on the daemon's configuration
   * (MemorySwap, LogConfig): the field is compared only when git sets it.
   */
  whenSet?: true;
  /**
   * The engine drops the value, with a warning, where the kernel lacks the cgroup controller for it
   * (mem_swappiness on cgroup v2, blkio weight without CFQ) or the platform ignores it (cpu_percent on
   * Linux), or where its API is older than the field (annotations before 1.43): compared only where the
   * engine kept a value, or every status of such a host would be a false drift, and self-heal a loop.
   */
  discardable?: true;
  /**
   * The drift fields of a value, by path below the key ('' is the key itself), for a key whose value is
   * a set of separate settings (one per ulimit, per logging option). With `whenSet`, each path is
   * compared only when git sets it.
   */
  project?: (v: JsonValue) => Record<string, string>;
  /** Order means nothing (dns servers keep theirs; group_add does not): compared sorted. */
  unordered?: boolean;
  /** How drift shows the engine's value, in the compose file's terms (bytes as 64m, NanoCpus as 0.5). */
  show?: (v: JsonValue) => string;
}

// ── readers ─────────────────────────────────────────────────────────────────────────────────────

const bool = (ctx: ReadContext, e: Entry): boolean | undefined => ctx.yaml.bool(e.value, e.path);

const text = (ctx: ReadContext, e: Entry): string | undefined => ctx.yaml.string(e.value, e.path);

const int =
  (min: number, max: number) =>
  (ctx: ReadContext, e: Entry): number | undefined =>
    ctx.yaml.int(e.value, e.path, min, max);

/** A string or a list of strings: compose accepts either for dns, dns_search, … */
function stringOrList(ctx: ReadContext, e: Entry): string[] | undefined {
  if (ctx.yaml.isSeq(e.value)) return ctx.yaml.stringList(e.value, e.path);
  const v = ctx.yaml.string(e.value, e.path);
  return v === undefined ? undefined : [v];
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `512m`, `1.5g`, `1024` (bytes), `2gb`: binary units, as compose reads them. */
export function parseBytes(v: string | number): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(v);
  if (!m) return null;
  const n = Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  return Number.isSafeInteger(n) ? n : null;
}

/** Bytes as compose writes them: 64m rather than 67108864. */
export function showBytes(v: JsonValue): string {
  if (typeof v !== 'number' || v <= 0) return JSON.stringify(v);
  for (const [unit, size] of [
    ['g', 1024 ** 3],
    ['m', 1024 ** 2],
    ['k', 1024],
  ] as const) {
    if (v % size === 0) return `${v / size}${unit}`;
  }
  return String(v);
}

const showCpus = (v: JsonValue): string => (typeof v === 'number' ? String(v / 1e9) : JSON.stringify(v));

export function bytes(ctx: ReadContext, e: Entry): number | undefined {
  const v = ctx.yaml.scalar(e.value);
  const n = typeof v === 'string' || typeof v === 'number' ? parseBytes(v) : null;
  if (n === null) {
    ctx.yaml.errorAt(e.value ?? e.keyNode, `${e.path} must be a size such as 512m, 1g or a number of bytes`);
    return undefined;
  }
  return n;
}

/** `cpus: 0.5` → NanoCpus 500000000. */
export function nanoCpus(ctx: ReadContext, e: Entry): number | undefined {
  const v = ctx.yaml.scalar(e.value);
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) {
    ctx.yaml.errorAt(e.value ?? e.keyNode, `${e.path} must be a number of CPUs such as 0.5 or 2`);
    return undefined;
  }
  return Math.round(n * 1e9);
}

/** `KEY=VALUE` items or a map of them (sysctls, storage_opt). */
function stringMap(ctx: ReadContext, e: Entry): Record<string, string> | undefined {
  const { yaml } = ctx;
  const out: Record<string, string> = {};
  if (yaml.isSeq(e.value)) {
    for (const item of yaml.seq(e.value, e.path) ?? []) {
      const s = yaml.string(item.node, item.path);
      if (s === undefined) continue;
      const eq = s.indexOf('=');
      if (eq <= 0) {
        yaml.errorAt(item.node, `${item.path}: "${s}" must be KEY=VALUE`);
        continue;
      }
      out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  for (const kv of yaml.map(e.value, e.path) ?? []) {
    const v = yaml.scalar(kv.value);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[kv.key] = String(v);
    else yaml.errorAt(kv.value ?? kv.keyNode, `${kv.path} must be a string or a number`);
  }
  return out;
}

const at = (e: Entry): Node | null => e.value ?? e.keyNode;

/** A string out of `values`. */
const oneOf =
  (values: readonly string[]) =>
  (ctx: ReadContext, e: Entry): string | undefined => {
    const v = ctx.yaml.string(e.value, e.path);
    if (v === undefined || values.includes(v)) return v;
    ctx.yaml.errorAt(at(e), `${e.path} must be ${values.join(' or ')}, not "${v}"`);
    return undefined;
  };

/** A key that only a Windows engine acts on: kept and sent (a Linux engine ignores it), and said. */
const windowsOnly =
  (read: (ctx: ReadContext, e: Entry) => JsonValue | undefined) =>
  (ctx: ReadContext, e: Entry): JsonValue | undefined => {
    const v = read(ctx, e);
    if (v !== undefined) {
      ctx.yaml.warnAt(e.keyNode, `${e.path} applies to Windows engines only; a Linux engine ignores it`);
    }
    return v;
  };

/**
 * `cpu_rt_runtime: 950000` (microseconds, as the engine takes them) or a duration (`950ms`), as the
 * Compose Specification allows for both real-time keys.
 */
function micros(ctx: ReadContext, e: Entry): number | undefined {
  const v = ctx.yaml.scalar(e.value);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  const ns = typeof v === 'string' ? parseDurationNs(v) : null;
  if (ns !== null) return Math.round(ns / 1000);
  ctx.yaml.errorAt(at(e), `${e.path} must be a number of microseconds or a duration such as 950ms`);
  return undefined;
}

/**
 * 0–100. Compose v2 sends nothing for 0 (its field cannot tell 0 from unset), so the kernel's own
 * swappiness applies: the same here, so a file deploys as compose deploys it.
 */
function swappiness(ctx: ReadContext, e: Entry): number | undefined {
  const n = ctx.yaml.int(e.value, e.path, 0, 100);
  return n === 0 ? undefined : n;
}

/** `cgroup`, `uts`, `userns_mode`: `host` shares a namespace of the host, which the safety policy guards. */
const namespaceMode =
  (values: readonly string[]) =>
  (ctx: ReadContext, e: Entry): string | undefined => {
    const v = oneOf(values)(ctx, e);
    if (v === 'host' && !ctx.safety.allowHostNamespaces) {
      refuse(ctx, at(e), e.path, safetyMessages.hostNamespace(e.key), { setting: 'allowHostNamespaces' });
      return undefined;
    }
    return v;
  };

function runtime(ctx: ReadContext, e: Entry): string | undefined {
  const v = text(ctx, e);
  if (v === undefined || ctx.safety.allowRuntimes.includes(v)) return v;
  refuse(ctx, at(e), e.path, safetyMessages.runtime(v, ctx.safety.allowRuntimes), {
    setting: 'allowRuntimes',
    value: v,
  });
  return undefined;
}

function cgroupParent(ctx: ReadContext, e: Entry): string | undefined {
  const v = text(ctx, e);
  if (v === undefined || v === '' || ctx.safety.allowCgroupParent) return v;
  refuse(ctx, at(e), e.path, safetyMessages.cgroupParent(v), { setting: 'allowCgroupParent' });
  return undefined;
}

function macAddress(ctx: ReadContext, e: Entry): string | undefined {
  const v = text(ctx, e);
  if (v === undefined) return undefined;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(v)) return v.toLowerCase().replace(/-/g, ':');
  ctx.yaml.errorAt(at(e), `${e.path}: "${v}" is not a MAC address such as 02:42:ac:11:00:02`);
  return undefined;
}

/** Items of a string or a list of strings, each with its node for messages. */
function stringItems(ctx: ReadContext, e: Entry): { value: string; node: Node | null; path: string }[] {
  const { yaml } = ctx;
  if (!yaml.isSeq(e.value)) {
    const v = yaml.string(e.value, e.path);
    return v === undefined ? [] : [{ value: v, node: at(e), path: e.path }];
  }
  const out: { value: string; node: Node | null; path: string }[] = [];
  for (const item of yaml.seq(e.value, e.path) ?? []) {
    const v = yaml.string(item.node, item.path);
    if (v !== undefined) out.push({ value: v, node: item.node, path: item.path });
  }
  return out;
}

/** `tmpfs: /run` or a list of `/path[:options]` → the engine's map of path to mount options. */
function tmpfs(ctx: ReadContext, e: Entry): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const { value, node, path } of stringItems(ctx, e)) {
    const colon = value.indexOf(':');
    const target = colon < 0 ? value : value.slice(0, colon);
    if (!target.startsWith('/')) {
      ctx.yaml.errorAt(node, `${path}: "${target}" must be an absolute path in the container`);
      continue;
    }
    out[target] = colon < 0 ? '' : value.slice(colon + 1);
  }
  return out;
}

/** `c 1:3 mr`: type, major:minor (or *), access; each one opens host devices to the container. */
function deviceCgroupRules(ctx: ReadContext, e: Entry): string[] | undefined {
  const rules: string[] = [];
  for (const { value, node, path } of stringItems(ctx, e)) {
    if (!/^[abc] (\d+|\*):(\d+|\*) [rwm]{1,3}$/.test(value)) {
      ctx.yaml.errorAt(node, `${path}: "${value}" is not a device cgroup rule such as "c 1:3 mr"`);
      continue;
    }
    rules.push(value);
  }
  if (rules.length > 0 && !ctx.safety.allowDevices) {
    refuse(ctx, at(e), e.path, safetyMessages.devices, { setting: 'allowDevices' });
    return undefined;
  }
  return rules;
}

/** The integer of a value that is a number or a numeric string (compose accepts both), else undefined. */
function intOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

/** `nofile: 1024` or `nofile: {soft: 1024, hard: 2048}` for each limit → the engine's Ulimits, by name. */
function ulimits(ctx: ReadContext, e: Entry): JsonValue[] | undefined {
  const { yaml } = ctx;
  const out: { Name: string; Soft: number; Hard: number }[] = [];
  for (const kv of yaml.map(e.value, e.path) ?? []) {
    if (!/^[a-z]+$/.test(kv.key)) {
      yaml.errorAt(kv.keyNode, `${e.path}: "${kv.key}" is not a ulimit name such as nofile or nproc`);
      continue;
    }
    let soft: number | undefined;
    let hard: number | undefined;
    if (yaml.isMap(kv.value)) {
      const fields = yaml.map(kv.value, kv.path) ?? [];
      yaml.rejectUnknown(fields, ['soft', 'hard']);
      for (const name of ['soft', 'hard'] as const) {
        const f = fields.find((x) => x.key === name);
        if (f === undefined) {
          yaml.errorAt(kv.value, `${kv.path}.${name} is required`);
          continue;
        }
        const n = intOf(yaml.scalar(f.value));
        if (n === undefined || n < -1)
          yaml.errorAt(at(f), `${f.path} must be a whole number (-1: unlimited)`);
        else if (name === 'soft') soft = n;
        else hard = n;
      }
    } else {
      const n = intOf(yaml.scalar(kv.value));
      if (n === undefined || n < -1)
        yaml.errorAt(at(kv), `${kv.path} must be a whole number or {soft, hard}`);
      else soft = hard = n;
    }
    if (soft === undefined || hard === undefined) continue;
    if (hard !== -1 && (soft === -1 || soft > hard)) {
      yaml.errorAt(at(kv), `${kv.path}: the soft limit ${soft} is above the hard limit ${hard}`);
      continue;
    }
    out.push({ Name: kv.key, Soft: soft, Hard: hard });
  }
  return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

const showUlimit = (u: { Soft?: number; Hard?: number }): string =>
  u.Soft === u.Hard ? String(u.Soft ?? '') : `${u.Soft ?? ''}:${u.Hard ?? ''}`;

/** A map of strings (numbers stringified), or a list of `KEY=VALUE`: logging options, annotations, … */
function plainMap(ctx: ReadContext, e: Entry): Record<string, string> | undefined {
  const { yaml } = ctx;
  if (yaml.isSeq(e.value)) return stringMap(ctx, e);
  const out: Record<string, string> = {};
  for (const kv of yaml.map(e.value, e.path) ?? []) {
    const v = yaml.scalar(kv.value);
    // A null option is an empty one, as compose reads it.
    if (v === null) out[kv.key] = '';
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      out[kv.key] = String(v);
    else yaml.errorAt(at(kv), `${kv.path} must be a string or a number`);
  }
  return out;
}

/**
 * Annotation namespaces that container runtimes act on: crun reads `run.oci.*` (keeping the host's
 * supplementary groups, its own seccomp and hooks), Kata Containers `io.katacontainers.*` (the hypervisor
 * and its paths). The engine hands annotations to the runtime as they are.
 */
const RUNTIME_ANNOTATIONS = ['run.oci.', 'io.katacontainers.'];

function annotations(ctx: ReadContext, e: Entry): Record<string, string> | undefined {
  const out = plainMap(ctx, e);
  if (out === undefined || ctx.safety.allowUnconfined) return out;
  for (const key of Object.keys(out)) {
    if (!RUNTIME_ANNOTATIONS.some((p) => key.startsWith(p))) continue;
    refuse(ctx, at(e), e.path, safetyMessages.runtimeAnnotation(key), { setting: 'allowUnconfined' });
    return undefined;
  }
  return out;
}

/**
 * `logging: {driver, options}` → LogConfig. Without a driver the engine takes its default and merges its
 * default options in: each part is compared only when git sets it (see the table).
 */
function logging(ctx: ReadContext, e: Entry): JsonValue | undefined {
  const { yaml } = ctx;
  const fields = yaml.map(e.value, e.path);
  if (fields === null) return undefined;
  yaml.rejectUnknown(fields, ['driver', 'options']);
  let driver = '';
  let options: Record<string, string> = {};
  for (const f of fields) {
    if (f.key === 'driver') driver = yaml.string(f.value, f.path) ?? '';
    else if (f.key === 'options' && !yaml.isNull(f.value)) options = plainMap(ctx, f) ?? {};
  }
  // A log driver that writes to a socket of the host writes what the container prints into it: the
  // Docker socket would take it for API calls.
  for (const [key, value] of Object.entries(options)) {
    const socket = /^unix(?:gram)?:\/\/(.+)$/.exec(value)?.[1];
    if (socket !== undefined && exposesDockerSocket(socket) !== null && !ctx.safety.allowDockerSocket) {
      const option = fields.find((f) => f.key === 'options');
      refuse(ctx, option?.value ?? at(e), `${e.path}.options.${key}`, safetyMessages.dockerSocket(socket), {
        setting: 'allowDockerSocket',
      });
      return undefined;
    }
  }
  return { Type: driver, Config: options };
}

function projectLogging(v: JsonValue): Record<string, string> {
  const c = v as { Type?: string; Config?: Record<string, string> | null };
  const out: Record<string, string> = {};
  if (c.Type) out.driver = c.Type;
  for (const [k, value] of Object.entries(c.Config ?? {})) out[`options.${k}`] = value;
  return out;
}

/** `gpus: all` or a list of device requests → DeviceRequests with the `gpu` capability, as compose sends them. */
function gpus(ctx: ReadContext, e: Entry): JsonValue[] | undefined {
  const { yaml } = ctx;
  const requests: JsonValue[] = [];
  if (!yaml.isSeq(e.value)) {
    const v = yaml.string(e.value, e.path);
    if (v === undefined) return undefined;
    if (v !== 'all') {
      yaml.errorAt(at(e), `${e.path} must be all or a list of device requests`);
      return undefined;
    }
    requests.push({ Driver: '', Count: -1, Capabilities: [['gpu']] });
  } else {
    for (const item of yaml.seq(e.value, e.path) ?? []) {
      const fields = yaml.map(item.node, item.path) ?? [];
      yaml.rejectUnknown(fields, ['capabilities', 'count', 'device_ids', 'driver', 'options']);
      const request: { [key: string]: JsonValue } = { Driver: '', Count: 0, Capabilities: [['gpu']] };
      let counted = false;
      for (const f of fields) {
        if (f.key === 'driver') request.Driver = yaml.string(f.value, f.path) ?? '';
        else if (f.key === 'capabilities')
          request.Capabilities = [[...(yaml.stringList(f.value, f.path) ?? []), 'gpu']];
        else if (f.key === 'device_ids') {
          request.DeviceIDs = yaml.stringList(f.value, f.path) ?? [];
          counted = true;
        } else if (f.key === 'options') request.Options = plainMap(ctx, f) ?? {};
        else if (f.key === 'count') {
          const v = yaml.scalar(f.value);
          const n = v === 'all' ? -1 : intOf(v);
          if (n === undefined || n < -1) yaml.errorAt(at(f), `${f.path} must be all or a number of devices`);
          else request.Count = n;
          counted = true;
        }
      }
      // Neither a count nor ids: every device, as compose reads it.
      if (!counted) request.Count = -1;
      requests.push(request);
    }
  }
  if (!ctx.safety.allowDevices) {
    refuse(ctx, at(e), e.path, safetyMessages.devices, { setting: 'allowDevices' });
    return undefined;
  }
  return requests;
}

/** Device requests compared without the engine's nulls and empty lists. */
function projectDeviceRequests(v: JsonValue): Record<string, string> {
  const list = (v as { [key: string]: JsonValue }[]).map((r) =>
    Object.fromEntries(
      Object.entries(r).filter(
        ([, x]) =>
          x !== null &&
          x !== '' &&
          !(Array.isArray(x) && x.length === 0) &&
          !(typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 0),
      ),
    ),
  );
  return { '': canonicalJson(list) };
}

const BLKIO_LISTS = {
  weight_device: 'BlkioWeightDevice',
  device_read_bps: 'BlkioDeviceReadBps',
  device_read_iops: 'BlkioDeviceReadIOps',
  device_write_bps: 'BlkioDeviceWriteBps',
  device_write_iops: 'BlkioDeviceWriteIOps',
} as const;

/**
 * `blkio_config` → BlkioWeight and the per-device lists. A device list names host devices, which the
 * engine resolves on the host: guarded like `devices`.
 */
function blkioConfig(ctx: ReadContext, e: Entry): JsonValue | undefined {
  const { yaml } = ctx;
  const fields = yaml.map(e.value, e.path);
  if (fields === null) return undefined;
  yaml.rejectUnknown(fields, ['weight', ...Object.keys(BLKIO_LISTS)]);
  const out: { [field: string]: JsonValue } = {};
  for (const f of fields) {
    if (f.key === 'weight') {
      // 0 is the engine's "unset"; anything else is 10–1000.
      const n = yaml.int(f.value, f.path, 0, 1000);
      if (n !== undefined && n > 0 && n < 10) yaml.errorAt(at(f), `${f.path} must be between 10 and 1000`);
      else if (n !== undefined && n > 0) out.BlkioWeight = n;
      continue;
    }
    const field = BLKIO_LISTS[f.key as keyof typeof BLKIO_LISTS];
    const list: JsonValue[] = [];
    for (const item of yaml.seq(f.value, f.path) ?? []) {
      const parts = yaml.map(item.node, item.path) ?? [];
      const amount = f.key === 'weight_device' ? 'weight' : 'rate';
      yaml.rejectUnknown(parts, ['path', amount]);
      const pathEntry = parts.find((x) => x.key === 'path');
      const amountEntry = parts.find((x) => x.key === amount);
      const path = pathEntry === undefined ? undefined : yaml.string(pathEntry.value, pathEntry.path);
      if (pathEntry === undefined) yaml.errorAt(item.node, `${item.path}.path is required`);
      else if (path !== undefined && !path.startsWith('/')) {
        yaml.errorAt(at(pathEntry), `${pathEntry.path}: "${path}" must be a device path such as /dev/sda`);
      }
      let n: number | undefined;
      if (amountEntry === undefined) yaml.errorAt(item.node, `${item.path}.${amount} is required`);
      else if (amount === 'weight') n = yaml.int(amountEntry.value, amountEntry.path, 10, 1000);
      else if (f.key.endsWith('_bps')) n = bytes(ctx, amountEntry);
      else n = yaml.int(amountEntry.value, amountEntry.path, 0, Number.MAX_SAFE_INTEGER);
      if (path === undefined || !path.startsWith('/') || n === undefined) continue;
      list.push(amount === 'weight' ? { Path: path, Weight: n } : { Path: path, Rate: n });
    }
    if (list.length > 0 && !ctx.safety.allowDevices) {
      refuse(
        ctx,
        at(f),
        f.path,
        safetyMessages.devices.replace('access to host devices', 'naming host devices'),
        {
          setting: 'allowDevices',
        },
      );
      continue;
    }
    if (list.length > 0) out[field] = list;
  }
  return out;
}

function projectBlkio(v: JsonValue): Record<string, string> {
  const o = v as { [field: string]: JsonValue };
  const out: Record<string, string> = {};
  if (typeof o.BlkioWeight === 'number' && o.BlkioWeight > 0) out.weight = String(o.BlkioWeight);
  for (const [key, field] of Object.entries(BLKIO_LISTS)) {
    const list = (o[field] ?? []) as { Path?: string; Weight?: number; Rate?: number }[];
    if (list.length === 0) continue;
    out[key] = list
      .map((d) => {
        const n = d.Weight ?? d.Rate ?? 0;
        return `${d.Path ?? ''}:${key.endsWith('_bps') ? showBytes(n) : n}`;
      })
      .sort()
      .join(', ');
  }
  return out;
}

const projectUlimits = (v: JsonValue): Record<string, string> =>
  Object.fromEntries(
    (v as { Name?: string; Soft?: number; Hard?: number }[]).map((u) => [u.Name ?? '', showUlimit(u)]),
  );

// ── the table ───────────────────────────────────────────────────────────────────────────────────

export const PASSTHROUGH: readonly PassthroughKey[] = [
  { key: 'tty', target: 'config', field: 'Tty', read: bool },
  { key: 'stdin_open', target: 'config', field: 'OpenStdin', read: bool },
  { key: 'stop_signal', target: 'config', field: 'StopSignal', read: text },
  { key: 'domainname', target: 'config', field: 'Domainname', read: text },
  { key: 'read_only', target: 'hostConfig', field: 'ReadonlyRootfs', read: bool },
  { key: 'mem_limit', target: 'hostConfig', field: 'Memory', read: bytes, show: showBytes },
  {
    key: 'mem_reservation',
    target: 'hostConfig',
    field: 'MemoryReservation',
    read: bytes,
    show: showBytes,
  },
  // The engine sets twice the memory limit when only that is given.
  {
    key: 'memswap_limit',
    target: 'hostConfig',
    field: 'MemorySwap',
    read: bytes,
    whenSet: true,
    show: showBytes,
  },
  {
    key: 'shm_size',
    target: 'hostConfig',
    field: 'ShmSize',
    read: bytes,
    unset: 64 * 1024 ** 2,
    show: showBytes,
  },
  { key: 'cpus', target: 'hostConfig', field: 'NanoCpus', read: nanoCpus, show: showCpus },
  { key: 'cpu_shares', target: 'hostConfig', field: 'CpuShares', read: int(0, 262_144) },
  { key: 'pids_limit', target: 'hostConfig', field: 'PidsLimit', read: int(-1, 2 ** 31) },
  { key: 'oom_score_adj', target: 'hostConfig', field: 'OomScoreAdj', read: int(-1000, 1000) },
  { key: 'dns', target: 'hostConfig', field: 'Dns', read: stringOrList },
  { key: 'dns_search', target: 'hostConfig', field: 'DnsSearch', read: stringOrList },
  { key: 'dns_opt', target: 'hostConfig', field: 'DnsOptions', read: stringOrList },
  { key: 'group_add', target: 'hostConfig', field: 'GroupAdd', read: stringOrList, unordered: true },
  { key: 'sysctls', target: 'hostConfig', field: 'Sysctls', read: stringMap },
  // Resources the engine may drop where the kernel lacks the controller: see `discardable`.
  { key: 'cpu_count', target: 'hostConfig', field: 'CpuCount', read: windowsOnly(int(0, 2 ** 31)) },
  {
    key: 'cpu_percent',
    target: 'hostConfig',
    field: 'CpuPercent',
    read: windowsOnly(int(0, 100)),
    discardable: true,
  },
  { key: 'cpu_period', target: 'hostConfig', field: 'CpuPeriod', read: int(0, 1_000_000), discardable: true },
  { key: 'cpu_quota', target: 'hostConfig', field: 'CpuQuota', read: int(-1, 2 ** 53), discardable: true },
  { key: 'cpu_rt_period', target: 'hostConfig', field: 'CpuRealtimePeriod', read: micros },
  { key: 'cpu_rt_runtime', target: 'hostConfig', field: 'CpuRealtimeRuntime', read: micros },
  { key: 'cpuset', target: 'hostConfig', field: 'CpusetCpus', read: text, discardable: true },
  {
    key: 'mem_swappiness',
    target: 'hostConfig',
    field: 'MemorySwappiness',
    read: swappiness,
    discardable: true,
  },
  { key: 'oom_kill_disable', target: 'hostConfig', field: 'OomKillDisable', read: bool, discardable: true },
  {
    key: 'blkio_config',
    target: 'hostConfig',
    field: ['BlkioWeight', ...Object.values(BLKIO_LISTS)],
    read: blkioConfig,
    project: projectBlkio,
    discardable: true,
  },
  // The engine fills in its default limits (dockerd --default-ulimit) and logging (driver, log-opts).
  {
    key: 'ulimits',
    target: 'hostConfig',
    field: 'Ulimits',
    read: ulimits,
    project: projectUlimits,
    whenSet: true,
  },
  {
    key: 'logging',
    target: 'hostConfig',
    field: 'LogConfig',
    read: logging,
    project: projectLogging,
    whenSet: true,
  },
  { key: 'tmpfs', target: 'hostConfig', field: 'Tmpfs', read: tmpfs },
  { key: 'storage_opt', target: 'hostConfig', field: 'StorageOpt', read: stringMap },
  { key: 'isolation', target: 'hostConfig', field: 'Isolation', read: text },
  { key: 'mac_address', target: 'config', field: 'MacAddress', read: macAddress },
  // Engine API 1.43 and later; an older engine ignores the field (said in the plan: engine.ts).
  { key: 'annotations', target: 'hostConfig', field: 'Annotations', read: annotations, discardable: true },
  // Reaching the host: guarded by the safety policy in their readers.
  { key: 'runtime', target: 'hostConfig', field: 'Runtime', read: runtime, whenSet: true },
  // The engine's default (host on cgroup v1, private on v2) depends on the host.
  {
    key: 'cgroup',
    target: 'hostConfig',
    field: 'CgroupnsMode',
    read: namespaceMode(['host', 'private']),
    whenSet: true,
  },
  { key: 'uts', target: 'hostConfig', field: 'UTSMode', read: namespaceMode(['host']) },
  { key: 'userns_mode', target: 'hostConfig', field: 'UsernsMode', read: namespaceMode(['host']) },
  { key: 'cgroup_parent', target: 'hostConfig', field: 'CgroupParent', read: cgroupParent },
  {
    key: 'device_cgroup_rules',
    target: 'hostConfig',
    field: 'DeviceCgroupRules',
    read: deviceCgroupRules,
    unordered: true,
  },
  {
    key: 'gpus',
    target: 'hostConfig',
    field: 'DeviceRequests',
    read: gpus,
    project: projectDeviceRequests,
  },
];

/** Every key the table handles, for the loader's list of known keys. */
export const PASSTHROUGH_KEYS: readonly string[] = PASSTHROUGH.map((p) => p.key);

const BY_KEY = new Map(PASSTHROUGH.map((p) => [p.key, p]));

export function passthroughKey(key: string): PassthroughKey | undefined {
  return BY_KEY.get(key);
}

/** The engine's value of a key in `section` (Config or HostConfig), or an object of them for several fields. */
export function passthroughSource(
  p: PassthroughKey,
  section: Readonly<Record<string, JsonValue | undefined>> | null | undefined,
): JsonValue | undefined {
  if (typeof p.field === 'string') return section?.[p.field];
  const out: { [field: string]: JsonValue } = {};
  for (const f of p.field) {
    const v = section?.[f];
    if (v !== undefined && !isUnset(p, v)) out[f] = v;
  }
  return out;
}

/**
 * The drift fields of a key's value, the same for git's side and the engine's: `key` itself, or
 * `key.part` for a key projected by parts. Empty when the value is what an unset field reads as.
 */
export function passthroughFields(p: PassthroughKey, v: JsonValue | undefined): Record<string, string> {
  if (v === undefined || isUnset(p, v)) return {};
  if (p.project) {
    const out: Record<string, string> = {};
    for (const [part, value] of Object.entries(p.project(v)))
      out[part === '' ? p.key : `${p.key}.${part}`] = value;
    return out;
  }
  if (p.show) return { [p.key]: p.show(v) };
  if (typeof v === 'string') return { [p.key]: v };
  if (Array.isArray(v) && p.unordered) return { [p.key]: canonicalJson([...v].map(String).sort()) };
  return { [p.key]: canonicalJson(v) };
}

/** The table entry a drift path belongs to (`ulimits.nofile` → ulimits). */
export function passthroughOfPath(path: string): PassthroughKey | undefined {
  return BY_KEY.get(path) ?? BY_KEY.get(path.slice(0, path.indexOf('.')));
}

/** Whether a value is what an unset field reads as (see PassthroughKey.unset). */
export function isUnset(p: PassthroughKey, value: unknown): boolean {
  if (value === undefined || value === null || value === 0 || value === '' || value === false) return true;
  if (Array.isArray(value) && value.length === 0) return true;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return true;
  return p.unset !== undefined && JSON.stringify(p.unset) === JSON.stringify(value);
}
