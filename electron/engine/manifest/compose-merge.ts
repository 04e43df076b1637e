// Compose's rules for merging one compose model into another (issue 11): how a compose.override.yaml
// changes compose.yaml, how a service that `extends` another changes it, how a file that `include`s
// another changes what it imports. The rules are compose-go's (override/merge.go and uncity.go, and
// the Compose Specification's "Merge and override"):
// - maps merge key by key, and a value of null leaves the earlier one;
// - sequences are appended, then made unique by a key for some of them (ports by address, volumes,
//   secrets and configs by target, environment and labels by name, …), the later entry taking the
//   earlier one's place;
// - command, entrypoint and healthcheck.test are replaced; environment, labels, sysctls, … merge by name
//   whether written as lists or maps; networks and depends_on merge by name;
// - `!reset` removes what earlier files set, `!override` replaces it without merging.
//
// The merge works on the positioned YAML nodes themselves, never on plain values: the merged tree is
// made of the nodes of every file (and of new maps and lists placed where their source is), so each
// later message points into the file, line and column the value was written at (YamlFile.adopt/derive).
import { isMap, isScalar, isSeq, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { Node } from 'yaml';
import { parsePortSpec } from './ports.ts';
import type { YamlFile } from './yaml-file.ts';

/**
 * Nodes a stack's merge may make in all. Each level of `extends` copies what it extends, so a chain of
 * services each extending the previous one costs the square of its length: a hostile repo must not make
 * that unbounded.
 */
export const MERGE_NODE_BUDGET = 1_000_000;

/** What a sequence item or map value stands for when it is tagged `!reset`: nothing. */
const ABSENT = Symbol('absent');
type Maybe = Node | null | typeof ABSENT;

type Special = (merger: Merger, base: Node, over: Node, path: readonly string[]) => Node | null;

export class Merger {
  private budget = MERGE_NODE_BUDGET;
  private exhausted = false;
  /** Maps and lists made here that hold a merge tag somewhere below (`finish` looks into those only). */
  private readonly holding = new WeakSet<Node>();

  constructor(readonly yaml: YamlFile) {}

  /**
   * `over` merged onto `base` at `path` (keys from the top: ['services', 'web', 'ports']). `base` was
   * read before `over`. The result may still hold `!reset`/`!override` nodes of `over` (a later merge
   * onto an earlier file needs them): `finish` removes them.
   */
  merge(base: Node | null, over: Node | null, path: readonly string[]): Node | null {
    const b = this.yaml.resolve(base);
    const o = this.yaml.resolve(over);
    if (this.exhausted) return over;
    if (this.yaml.tagOf(o) !== undefined) return over;
    if (b === null || this.yaml.tagOf(b) === 'reset' || isNull(b)) return over;
    const special = specialFor(path);
    // A value of null leaves the earlier one, as in compose, but for the values it replaces.
    if (o === null || isNull(o)) return special === replace ? over : base;
    if (special !== undefined) return special(this, b, o, path);
    if (isMap(b)) {
      if (isMap(o)) return this.mergeMaps(b, o, path);
      return this.mismatch(b, o, path);
    }
    if (isSeq(b)) {
      if (isSeq(o)) return this.unique(this.seq([...this.items(b), ...this.items(o)], o), path);
      return this.mismatch(b, o, path);
    }
    return over;
  }

  /** The merged tree with every `!reset` value gone: what the loaders read. */
  finish(node: Node | null): Node | null {
    const stripped = this.strip(node);
    return stripped === ABSENT ? null : stripped;
  }

  // ---- building blocks, also for the special rules below ----

  mergeMaps(base: Node, over: Node, path: readonly string[]): YAMLMap {
    const overEntries = this.entries(over, path);
    const byKey = new Map(overEntries.map((e) => [e.key, e]));
    const pairs: Pair<Node, Node | null>[] = [];
    const done = new Set<string>();
    for (const e of this.entries(base, path)) {
      const o = byKey.get(e.key);
      if (o === undefined) {
        const kept = this.strip(e.value);
        if (kept !== ABSENT) pairs.push(new Pair(e.keyNode, kept));
        continue;
      }
      done.add(e.key);
      pairs.push(new Pair(o.keyNode, this.merge(e.value, o.value, [...path, e.key])));
    }
    for (const o of overEntries) if (!done.has(o.key)) pairs.push(new Pair(o.keyNode, o.value));
    return this.map(pairs, over);
  }

  /** The items of a sequence, `!reset` ones left out and tags below the others removed. */
  items(node: Node): Node[] {
    const seq = this.yaml.resolve(node);
    if (!isSeq(seq)) return [];
    const out: Node[] = [];
    for (const item of seq.items as (Node | null)[]) {
      const kept = this.strip(item);
      if (kept !== ABSENT && kept !== null) out.push(kept);
    }
    return out;
  }

  /** Map entries in order (YAML merge keys applied), each a key node and its value. */
  entries(node: Node, path: readonly string[]): { key: string; keyNode: Node; value: Node | null }[] {
    return this.yaml.map(node, path.join('.')) ?? [];
  }

  map(pairs: Pair<Node, Node | null>[], from: Node): YAMLMap {
    this.spend(pairs.length + 1);
    const map = new YAMLMap<Node, Node | null>();
    map.items = pairs;
    if (pairs.some((p) => this.holds(p.value))) this.holding.add(map);
    return this.yaml.derive(map, from);
  }

  seq(items: Node[], from: Node): YAMLSeq {
    this.spend(items.length + 1);
    const seq = new YAMLSeq<Node>();
    seq.items = items;
    if (items.some((n) => this.holds(n))) this.holding.add(seq);
    return this.yaml.derive(seq, from);
  }

  scalar(value: unknown, from: Node): Scalar {
    this.spend(1);
    return this.yaml.derive(new Scalar(value), from);
  }

  /** Applies compose's uniqueness rule for `path`, if it has one, to a merged sequence. */
  unique(seq: YAMLSeq, path: readonly string[]): YAMLSeq {
    const indexer = uniqueKeyFor(path);
    if (indexer === undefined) return seq;
    const out: Node[] = [];
    const at = new Map<string, number>();
    for (const item of seq.items as Node[]) {
      const key = indexer(this.yaml.resolve(item), this.yaml);
      const place = key === null ? undefined : at.get(key);
      if (place !== undefined) {
        out[place] = item;
        continue;
      }
      if (key !== null) at.set(key, out.length);
      out.push(item);
    }
    seq.items = out;
    return seq;
  }

  private strip(node: Node | null): Maybe {
    const n = this.yaml.resolve(node);
    if (n === null) return node;
    const tag = this.yaml.tagOf(n);
    if (tag === 'reset') return ABSENT;
    if (!this.holds(n) || this.exhausted) return node;
    if (isMap(n)) {
      const pairs: Pair<Node, Node | null>[] = [];
      for (const e of this.entries(n, [])) {
        const kept = this.strip(e.value);
        if (kept !== ABSENT) pairs.push(new Pair(e.keyNode, kept));
      }
      return this.map(pairs, n);
    }
    if (isSeq(n)) return this.seq(this.items(n), n);
    return node;
  }

  /** Whether `node` is or holds a merge tag (in a file, or in what the merge made of it). */
  private holds(node: Node | null): boolean {
    const n = this.yaml.resolve(node);
    return n !== null && (this.yaml.hasTags(n) || this.holding.has(n));
  }

  private mismatch(base: Node, over: Node, path: readonly string[]): Node {
    const kind = (n: Node): string => (isMap(n) ? 'a map' : isSeq(n) ? 'a list' : 'a single value');
    this.yaml.errorAt(
      over,
      `${path.join('.')}: ${this.yaml.fileOf(base)} writes ${kind(base)} here, so this must be ${kind(base)} too to merge with it; to replace it instead, tag it !override`,
    );
    // Said once: what the loaders would say of this value next is the same problem.
    this.yaml.markFailed(over);
    return over;
  }

  private spend(n: number): void {
    this.budget -= n;
    if (this.budget >= 0 || this.exhausted) return;
    this.exhausted = true;
    this.yaml.errorAt(
      null,
      `the compose files of this stack merge into more than ${MERGE_NODE_BUDGET.toLocaleString('en-US')} values (override files, extends and include); a chain of services that extend one another is the usual cause`,
    );
  }
}

function isNull(node: Node): boolean {
  return isScalar(node) && node.value == null;
}

// ---- compose's special rules, by path ----

/** `environment`, `labels`, …: lists and maps both become `KEY=value` lists, appended (then unique). */
const toSequence: Special = (m, base, over, path) => {
  // `KEY: !reset` in a map removes KEY, whichever way the earlier file wrote it.
  const dropped = new Set<string>();
  if (isMap(over)) {
    for (const e of m.entries(over, path)) if (m.yaml.tagOf(m.yaml.resolve(e.value))) dropped.add(e.key);
  }
  const baseItems = sequenceItems(m, base, path).filter((n) => !dropped.has(keyValue(n) ?? '\0'));
  return m.unique(m.seq([...baseItems, ...sequenceItems(m, over, path)], over), path);
};

const replace: Special = (_m, _base, over) => over;

const dependsOn: Special = (m, base, over, path) =>
  m.mergeMaps(asMap(m, base, true), asMap(m, over, true), path);

const byName: Special = (m, base, over, path) =>
  m.mergeMaps(asMap(m, base, false), asMap(m, over, false), path);

const extraHosts: Special = (m, base, over, path) => {
  const baseItems = sequenceItems(m, base, path);
  const seen = new Set(baseItems.map((n) => (isScalar(n) ? String(n.value) : null)));
  const overItems = sequenceItems(m, over, path).filter((n) => !(isScalar(n) && seen.has(String(n.value))));
  return m.seq([...baseItems, ...overItems], over);
};

const build: Special = (m, base, over, path) => {
  const asBuild = (n: Node): Node => (isScalar(n) ? m.map([new Pair(m.scalar('context', n), n)], n) : n);
  return m.mergeMaps(asBuild(base), asBuild(over), path);
};

/** Logging options merge only when both name the same driver (or one names none). */
const logging: Special = (m, base, over, path) => {
  if (!isMap(base) || !isMap(over)) return m.merge(null, over, path);
  const driver = (n: Node): unknown => {
    const e = m.entries(n, path).find((x) => x.key === 'driver');
    return e === undefined ? undefined : (m.yaml.scalar(e.value) ?? null);
  };
  const a = driver(base);
  const b = driver(over);
  return a === undefined || b === undefined || a === b ? m.mergeMaps(base, over, path) : over;
};

/** networks.*.ipam.config: entries merge by subnet, as compose-go's mergeIPAMConfig does. */
const ipamConfig: Special = (m, base, over, path) => {
  if (!isSeq(base) || !isSeq(over)) return over;
  const subnet = (n: Node): unknown => {
    if (!isMap(n)) return undefined;
    const e = m.entries(n, path).find((x) => x.key === 'subnet');
    return e === undefined ? undefined : m.yaml.scalar(e.value);
  };
  const out: Node[] = [];
  for (const original of m.items(base)) {
    for (const change of m.items(over)) {
      if (subnet(change) !== subnet(original)) {
        if (!out.some((n) => subnet(n) === subnet(change))) out.push(change);
        continue;
      }
      const merged = isMap(original) && isMap(change) ? m.mergeMaps(original, change, path) : change;
      const place = out.findIndex((n) => subnet(n) === subnet(merged));
      if (place >= 0) out[place] = merged;
      else out.push(merged);
    }
  }
  return m.seq(out, over);
};

const SERVICE_SPECIALS: Record<string, Special> = {
  annotations: toSequence,
  build,
  'build.args': toSequence,
  'build.additional_contexts': toSequence,
  'build.extra_hosts': extraHosts,
  'build.labels': toSequence,
  command: replace,
  depends_on: dependsOn,
  'deploy.labels': toSequence,
  dns: toSequence,
  dns_opt: toSequence,
  dns_search: toSequence,
  entrypoint: replace,
  env_file: toSequence,
  label_file: toSequence,
  environment: toSequence,
  extra_hosts: extraHosts,
  'healthcheck.test': replace,
  labels: toSequence,
  logging,
  models: byName,
  networks: byName,
  sysctls: toSequence,
  tmpfs: toSequence,
};

function specialFor(path: readonly string[]): Special | undefined {
  if (path[0] === 'services' && path.length >= 3) {
    if (path.length === 4 && path[2] === 'ulimits') return replace;
    return SERVICE_SPECIALS[path.slice(2).join('.')];
  }
  if ((path[0] === 'networks' || path[0] === 'volumes') && path.length === 3 && path[2] === 'labels') {
    return toSequence;
  }
  if (path[0] === 'networks' && path.length === 4 && path[2] === 'ipam' && path[3] === 'config') {
    return ipamConfig;
  }
  return undefined;
}

/** A list, a map (as sorted `KEY=value` items) or a single string as a list of nodes. */
function sequenceItems(m: Merger, node: Node, path: readonly string[]): Node[] {
  if (isSeq(node)) return m.items(node);
  if (isScalar(node)) return node.value == null ? [] : [node];
  if (!isMap(node)) return [];
  const yaml = m.yaml;
  const items: { text: string; node: Node }[] = [];
  for (const e of m.entries(node, path)) {
    const value = yaml.resolve(e.value);
    if (yaml.tagOf(value) === 'reset') continue;
    if (value === null || (isScalar(value) && value.value == null)) {
      items.push({ text: e.key, node: m.scalar(e.key, e.keyNode) });
    } else if (isSeq(value)) {
      for (const item of m.items(value)) {
        const text = `${e.key}=${goString(yaml.scalar(item))}`;
        items.push({ text, node: m.scalar(text, item) });
      }
    } else {
      const text = `${e.key}=${goString(yaml.scalar(value))}`;
      items.push({ text, node: m.scalar(text, value) });
    }
  }
  items.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return items.map((i) => i.node);
}

/** A list of names as a map of name → `{condition: service_started, required: true}` (or null). */
function asMap(m: Merger, node: Node, dependency: boolean): Node {
  if (!isSeq(node)) return node;
  const pairs = m.items(node).map((item) => {
    const value = dependency
      ? m.map(
          [
            new Pair(m.scalar('condition', item), m.scalar('service_started', item)),
            new Pair(m.scalar('required', item), m.scalar(true, item)),
          ],
          item,
        )
      : null;
    return new Pair<Node, Node | null>(m.scalar(scalarText(m.yaml.scalar(item)), item), value);
  });
  return m.map(pairs, node);
}

/** How Go's %v prints a YAML scalar: what compose writes into `KEY=value`. */
function goString(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  return scalarText(value);
}

/** A scalar's value as text (a collection, which a scalar never holds, as JSON). */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value) ?? '';
}

// ---- compose's uniqueness rules (override/uncity.go), by path ----

type Indexer = (node: Node | null, yaml: YamlFile) => string | null;

/** `KEY=value` → KEY; anything else is its own key. */
function keyValue(node: Node | null): string | null {
  if (!isScalar(node) || typeof node.value !== 'string') return isScalar(node) ? String(node.value) : null;
  const eq = node.value.indexOf('=');
  return eq < 0 ? node.value : node.value.slice(0, eq);
}

const byKeyValue: Indexer = (node) => keyValue(node);

function field(node: Node, key: string, yaml: YamlFile): unknown {
  if (!isMap(node)) return undefined;
  for (const pair of node.items) {
    if (isScalar(pair.key) && pair.key.value === key) return yaml.scalar(pair.value as Node);
  }
  return undefined;
}

/** A volume's target: `SOURCE:TARGET[:MODE]`, `TARGET`, or `target:` of the long form. */
const byVolumeTarget: Indexer = (node, yaml) => {
  if (isMap(node)) {
    const target = field(node, 'target', yaml);
    return typeof target === 'string' ? target : null;
  }
  if (!isScalar(node) || typeof node.value !== 'string') return null;
  const parts = node.value.split(':');
  return parts.length === 1 ? parts[0]! : parts[1]!;
};

/** A device's target: the second of `HOST:CONTAINER[:PERMISSIONS]`, or `target:`. */
const byDeviceTarget: Indexer = byVolumeTarget;

const mountTarget =
  (defaultDir: string): Indexer =>
  (node, yaml) => {
    if (isScalar(node)) return `${defaultDir}/${String(node.value)}`;
    const target = isMap(node) ? field(node, 'target', yaml) : undefined;
    if (typeof target === 'string') return target;
    return isMap(node) ? `${defaultDir}/${String(field(node, 'source', yaml))}` : null;
  };

const byEnvFilePath: Indexer = (node, yaml) => {
  if (isScalar(node)) return String(node.value);
  const path = isMap(node) ? field(node, 'path', yaml) : undefined;
  return typeof path === 'string' ? path : null;
};

const byExpose: Indexer = (node) => (isScalar(node) ? String(node.value) : null);

/**
 * A published port's address, `IP:PUBLISHED:TARGET/PROTOCOL`, the same for the short and the long form
 * (compose makes both long before its last uniqueness pass).
 */
const byPort: Indexer = (node, yaml) => {
  if (isMap(node)) {
    const target = field(node, 'target', yaml);
    if (target === undefined) return null;
    const ip = field(node, 'host_ip', yaml) ?? '0.0.0.0';
    const published = field(node, 'published', yaml) ?? '';
    const protocol = field(node, 'protocol', yaml) ?? 'tcp';
    return `${scalarText(ip)}:${scalarText(published)}:${scalarText(target)}/${scalarText(protocol)}`;
  }
  if (!isScalar(node)) return null;
  const spec = String(node.value);
  const parsed = parsePortSpec(spec, 65_535);
  if (!parsed.ok) return spec;
  return parsed.bindings
    .map((b) => `${b.hostIp || '0.0.0.0'}:${b.hostPort}:${b.containerPort}/${b.protocol}`)
    .join(',');
};

const SERVICE_UNIQUE: Record<string, Indexer> = {
  annotations: byKeyValue,
  'build.args': byKeyValue,
  'build.additional_contexts': byKeyValue,
  'build.platforms': byKeyValue,
  'build.tags': byKeyValue,
  'build.labels': byKeyValue,
  cap_add: byKeyValue,
  cap_drop: byKeyValue,
  configs: mountTarget(''),
  'deploy.labels': byKeyValue,
  devices: byDeviceTarget,
  dns: byKeyValue,
  dns_opt: byKeyValue,
  dns_search: byKeyValue,
  environment: byKeyValue,
  env_file: byEnvFilePath,
  expose: byExpose,
  labels: byKeyValue,
  links: byKeyValue,
  ports: byPort,
  profiles: byKeyValue,
  secrets: mountTarget('/run/secrets'),
  sysctls: byKeyValue,
  tmpfs: byKeyValue,
  volumes: byVolumeTarget,
};

function uniqueKeyFor(path: readonly string[]): Indexer | undefined {
  if (path[0] === 'services' && path.length >= 3) {
    if (
      path.length === 5 &&
      path[2] === 'networks' &&
      (path[4] === 'aliases' || path[4] === 'link_local_ips')
    ) {
      return byKeyValue;
    }
    return SERVICE_UNIQUE[path.slice(2).join('.')];
  }
  if (path[0] === 'networks' && path.length === 3 && path[2] === 'labels') return byKeyValue;
  if (path[0] === 'networks' && path.length === 4 && path[2] === 'ipam' && path[3] === 'options') {
    return byKeyValue;
  }
  return undefined;
}
