// Compose keys that map one-to-one onto a field of the engine's create call (mem_limit → HostConfig.
// Memory, tty → Config.Tty, …), declared once in a table: how each is read from YAML (type, units,
// checks), where it goes, and what the engine reports when it is unset. The loader fills
// DesiredService.passthrough from it, container-spec.ts sends it as is, and docker/fields.ts compares
// the same fields of a live container, so a key added here is deployed and drift-checked at once.
//
// Keys with meaning of their own (image, ports, volumes, networks, healthcheck, depends_on, …) are not
// here; they have their own readers in service.ts.
import type { JsonValue, SafetySettings } from '../../shared/model.ts';
import type { Entry, YamlFile } from './yaml-file.ts';

/** Where a key goes in the create call: the container's Config or its HostConfig. */
export type Target = 'config' | 'hostConfig';

export interface ReadContext {
  yaml: YamlFile;
  safety: SafetySettings;
}

export interface PassthroughKey {
  /** The compose key, also the name drift is shown under. */
  key: string;
  target: Target;
  /** The Docker Engine API field (API 1.41). */
  field: string;
  /** Reads and checks the YAML value; reports and returns undefined when it is not valid. */
  read: (ctx: ReadContext, e: Entry) => JsonValue | undefined;
  /** What the engine reports when the key is unset, besides "empty" (null, 0, '', false, [] and {}). */
  unset?: JsonValue;
  /**
   * The engine fills in a value that depends on other fields or on the daemon's configuration
   * (MemorySwap, LogConfig): the field is compared only when git sets it.
   */
  whenSet?: true;
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

function bytes(ctx: ReadContext, e: Entry): number | undefined {
  const v = ctx.yaml.scalar(e.value);
  const n = typeof v === 'string' || typeof v === 'number' ? parseBytes(v) : null;
  if (n === null) {
    ctx.yaml.errorAt(e.value ?? e.keyNode, `${e.path} must be a size such as 512m, 1g or a number of bytes`);
    return undefined;
  }
  return n;
}

/** `cpus: 0.5` → NanoCpus 500000000. */
function nanoCpus(ctx: ReadContext, e: Entry): number | undefined {
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
];

/** Every key the table handles, for the loader's list of known keys. */
export const PASSTHROUGH_KEYS: readonly string[] = PASSTHROUGH.map((p) => p.key);

const BY_KEY = new Map(PASSTHROUGH.map((p) => [p.key, p]));

export function passthroughKey(key: string): PassthroughKey | undefined {
  return BY_KEY.get(key);
}

/** Whether a value is what an unset field reads as (see PassthroughKey.unset). */
export function isUnset(p: PassthroughKey, value: unknown): boolean {
  if (value === undefined || value === null || value === 0 || value === '' || value === false) return true;
  if (Array.isArray(value) && value.length === 0) return true;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return true;
  return p.unset !== undefined && JSON.stringify(p.unset) === JSON.stringify(value);
}
