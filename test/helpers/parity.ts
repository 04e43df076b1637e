// The parity harness (issue 11, "Tests"): one compose snippet deployed twice on the real engine, by
// Debian's docker-compose 1.29 (project A) and by Mooring from a local git repo (stack B), then every
// service's `docker inspect` projected onto flat fields and compared field by field. A difference is
// allowed only where ALLOWED says so, with the reason.
//
// Adding a case is one object literal (see test/integration/parity.test.ts): a compose file that keeps
// its containers running (`init: true` + `command: sleep 3600` with local/busybox:1), publishes no fixed
// host port (two deployments run side by side: write `127.0.0.1::80`), and names nothing global (no
// container_name, external name or subnet) unless written as a function of the side.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SafetySettings } from '../../electron/shared/model.ts';
import { mooring } from './cli.ts';
import { docker, removeStacks } from './docker.ts';
import { createLocalRepo } from './git-repo.ts';

const run = promisify(execFile);

/** One deployment of a case: docker-compose's (A) or Mooring's (B). */
export interface Side {
  tool: 'compose' | 'mooring';
  /** The compose project name (A) or Mooring's stack name (B). */
  project: string;
  /**
   * The first two octets of an address range only this side uses (`${side.net}.0.0/24`): a subnet or
   * ipv4_address of a case must differ between the two sides, and is compared as `<net>`.
   */
  net: string;
  /** Host folder only this side uses (created empty), compared as `<host>`. */
  hostDir: string;
}

export interface ParityCase {
  /** Short, lower-case: part of both project names. */
  name: string;
  /** The compose keys this case covers (for the report). */
  keys: string[];
  /** The compose file, the same for both sides unless it depends on the side. */
  compose: string | ((side: Side) => string);
  /** Other files of the stack folder (.env, env_file, files of relative binds). */
  files?: Record<string, string>;
  /** What Mooring's local settings must allow for this case (merged over every case). */
  safety?: Partial<SafetySettings>;
  /** Differences allowed in this case only, each with its reason. */
  allow?: AllowedDifference[];
  /**
   * Differences known today that are bugs (owner and note): tolerated, printed while they remain, and
   * printed as gone when they no longer occur, so that they are deleted.
   */
  known?: KnownDifference[];
}

/** A difference that is a bug today, tolerated and printed until its owner fixes it. */
export interface KnownDifference {
  field: RegExp;
  owner: string;
  note: string;
}

export interface AllowedDifference {
  /** Field path, as in FieldDiff.field. */
  field: RegExp;
  reason: string;
  /** Narrows the allowance to the values seen (compose's, Mooring's, after normalization). */
  when?: (compose: unknown, mooring: unknown, ctx: CompareContext) => boolean;
}

export interface CompareContext {
  a: Side;
  b: Side;
  /** Mooring's home folder: relative binds are materialized below it. */
  home: string;
  /** docker-compose's project folder: its relative binds point below it. */
  composeDir: string;
}

export interface FieldDiff {
  service: string;
  field: string;
  compose: unknown;
  mooring: unknown;
}

export interface CaseResult {
  name: string;
  keys: string[];
  /** Why a side could not deploy, if one could not. */
  failed: { compose?: string; mooring?: string };
  services: string[];
  diffs: FieldDiff[];
  allowed: (FieldDiff & { reason: string })[];
  known: (FieldDiff & { owner: string; note: string })[];
  /** Known differences of the case (its own) that did not occur. */
  knownGone: KnownDifference[];
}

const isEmpty = (v: unknown): boolean =>
  v === undefined ||
  v === null ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/**
 * Differences every case may show, each with why. docker-compose 1.29 is compose v1: where v1 and v2
 * differ, Mooring follows v2 (the Compose Specification as `docker compose` implements it).
 */
export const ALLOWED: AllowedDifference[] = [
  {
    field: /^Labels\.dev\.mooring\./,
    reason: "Mooring's own labels (ownership, source, revision, spec hash); compose writes none",
    when: (a) => a === undefined,
  },
  {
    field: /^Name$/,
    reason:
      'container names: compose v1 joins project, service and number with _, compose v2 (and Mooring) with -',
    when: (a, b) => typeof a === 'string' && typeof b === 'string' && a.replace(/_/g, '-') === b,
  },
  {
    field: /^Labels\.com\.docker\.compose\.version$/,
    reason:
      'docker-compose 1.29 writes its own version; Mooring writes the compose v2 version whose behaviour it follows',
    when: (a, b) => typeof b === 'string' && b !== '',
  },
  {
    field: /^Labels\.com\.docker\.compose\.config-hash$/,
    reason: 'each tool hashes its own model of the service: the hashes never match across tools',
    when: (a, b) => typeof b === 'string' && b !== '',
  },
  {
    field: /^Labels\.com\.docker\.compose\.project\.(working_dir|config_files)$/,
    reason: 'where each tool keeps the compose file: compose its folder, Mooring its source',
    when: (a, b) => typeof b === 'string' && b !== '',
  },
  {
    field: /^Labels\.com\.docker\.compose\.(depends_on|image|project\.environment_file)$/,
    reason: 'written by compose v2, not by docker-compose 1.29',
    when: (a) => a === undefined,
  },
  {
    field: /^Config\.StopTimeout$/,
    reason:
      'docker-compose 1.29 applies stop_grace_period only in its own stop command; compose v2 and Mooring write it on the container (10 s is also the engine default)',
    when: (a) => a === undefined || a === null,
  },
  {
    field: /^Networks\..*\.Aliases$/,
    reason:
      "docker-compose 1.29 adds the container's short id as a network alias, compose v2 its container name; the service's own aliases must match",
    when: (a, b) => {
      const own = (v: unknown): string =>
        JSON.stringify(
          (Array.isArray(v) ? (v as string[]) : []).filter((x) => x !== '<id>' && x !== '<container>').sort(),
        );
      return own(a) === own(b);
    },
  },
  {
    field: /^Attachable$/,
    reason:
      'docker-compose 1.29 makes every network attachable; compose v2 (and Mooring) only when the file says attachable: true (it matters for Swarm overlay networks only)',
    when: (a, b) => a === true && b === false,
  },
  {
    field: /^Mounts\..*\.Source$/,
    reason:
      'a relative bind: compose mounts the file in its project folder, Mooring the copy it materialized from git in its home folder',
    when: (a, b, ctx) =>
      typeof a === 'string' &&
      typeof b === 'string' &&
      a.startsWith(`${ctx.composeDir}/`) &&
      b.startsWith(`${ctx.home}/`),
  },
];

// ── the view of a container ─────────────────────────────────────────────────────────────────────

type Json = Record<string, unknown>;

const CONFIG_FIELDS = [
  'Image',
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'User',
  'Hostname',
  'Domainname',
  'Tty',
  'OpenStdin',
  'StdinOnce',
  'StopSignal',
  'StopTimeout',
  'Healthcheck',
  'MacAddress',
];

const HOST_CONFIG_FIELDS = [
  'PortBindings',
  'PublishAllPorts',
  'RestartPolicy',
  'AutoRemove',
  'Memory',
  'MemoryReservation',
  'MemorySwap',
  'MemorySwappiness',
  'KernelMemory',
  'NanoCpus',
  'CpuShares',
  'CpuPeriod',
  'CpuQuota',
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
  'CpusetCpus',
  'CpusetMems',
  'CpuCount',
  'CpuPercent',
  'BlkioWeight',
  'BlkioWeightDevice',
  'BlkioDeviceReadBps',
  'BlkioDeviceWriteBps',
  'BlkioDeviceReadIOps',
  'BlkioDeviceWriteIOps',
  'PidsLimit',
  'ShmSize',
  'OomScoreAdj',
  'OomKillDisable',
  'Ulimits',
  'Sysctls',
  'LogConfig',
  'ReadonlyRootfs',
  'Dns',
  'DnsSearch',
  'DnsOptions',
  'ExtraHosts',
  'CapAdd',
  'CapDrop',
  'Privileged',
  'Init',
  'GroupAdd',
  'SecurityOpt',
  'Devices',
  'DeviceCgroupRules',
  'DeviceRequests',
  'NetworkMode',
  'PidMode',
  'IpcMode',
  'UTSMode',
  'UsernsMode',
  'CgroupParent',
  'Cgroup',
  'CgroupnsMode',
  'Runtime',
  'Isolation',
  'StorageOpt',
  'Links',
  'VolumesFrom',
  'VolumeDriver',
  'MaskedPaths',
  'ReadonlyPaths',
];

/** Sizes in tmpfs options: `64m`, `1g`, bytes. */
function tmpfsBytes(v: string): number | string {
  const m = /^(\d+)([kmg]?)$/i.exec(v);
  if (!m) return v;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

/**
 * What a container mounts, by destination: Binds and the Mounts API say the same thing in two shapes
 * (and report different `Mode` strings), HostConfig.Tmpfs and a tmpfs mount too, so both are read into
 * one: type, volume name or bind source, read-only, propagation, tmpfs size and mode.
 */
function mountView(c: Json): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const m of (c.Mounts as Json[] | null) ?? []) {
    const view: Json = { Type: m.Type, RW: m.RW };
    if (m.Type === 'volume') {
      // An anonymous volume's name is random.
      view.Name = /^[0-9a-f]{64}$/.test(m.Name as string) ? '<anonymous>' : m.Name;
      view.Driver = m.Driver;
    } else if (m.Type === 'bind') {
      view.Source = m.Source;
      view.Propagation = m.Propagation;
    }
    out[m.Destination as string] = view;
  }
  const host = c.HostConfig as Json;
  for (const [target, opts] of Object.entries((host.Tmpfs as Record<string, string> | null) ?? {})) {
    const view: Json = { Type: 'tmpfs', RW: true };
    for (const o of opts.split(',').filter(Boolean)) {
      const [k, v = ''] = o.split('=');
      if (k === 'size') view.SizeBytes = tmpfsBytes(v);
      else if (k === 'mode') view.Mode = parseInt(v, 8);
      else if (k === 'ro') view.RW = false;
      else view[`option.${k}`] = v;
    }
    out[target] = view;
  }
  for (const m of (host.Mounts as Json[] | null) ?? []) {
    if (m.Type !== 'tmpfs') continue;
    const t = (m.TmpfsOptions as Json | undefined) ?? {};
    out[m.Target as string] = {
      Type: 'tmpfs',
      RW: m.ReadOnly !== true,
      ...(t.SizeBytes ? { SizeBytes: t.SizeBytes } : {}),
      ...(t.Mode ? { Mode: t.Mode } : {}),
    };
  }
  return out;
}

/** The fields compared, flat: `Config.Env`, `HostConfig.Memory`, `Labels.KEY`, `Mounts./data`, … */
export function containerView(
  c: Json,
  side: Side,
  /** Every container of the side by id: `container:ID` (network_mode, pid, ipc) reads as the service. */
  ids: ReadonlyMap<string, string> = new Map(),
): Record<string, unknown> {
  const config = c.Config as Json;
  const host = c.HostConfig as Json;
  const id = (c.Id as string).slice(0, 12);
  const name = (c.Name as string).replace(/^\//, '');
  const view: Record<string, unknown> = { Name: name };
  view['Config.Env'] = [...((config.Env as string[] | null) ?? [])].sort();
  view['Config.ExposedPorts'] = Object.keys((config.ExposedPorts as Json | null) ?? {}).sort();
  for (const f of CONFIG_FIELDS) view[`Config.${f}`] = config[f];
  for (const f of HOST_CONFIG_FIELDS) view[`HostConfig.${f}`] = host[f];
  for (const [k, v] of Object.entries((config.Labels as Record<string, string> | null) ?? {})) {
    view[`Labels.${k}`] = v;
  }
  for (const [target, m] of Object.entries(mountView(c))) {
    for (const [k, v] of Object.entries(m)) view[`Mounts.${target}.${k}`] = v;
  }
  const networks = ((c.NetworkSettings as Json).Networks as Record<string, Json> | null) ?? {};
  for (const [net, n] of Object.entries(networks)) {
    view[`Networks.${net}.Aliases`] = [...((n.Aliases as string[] | null) ?? [])].sort();
    view[`Networks.${net}.Links`] = n.Links;
    view[`Networks.${net}.DriverOpts`] = n.DriverOpts;
    const ipam = (n.IPAMConfig as Json | null) ?? {};
    view[`Networks.${net}.IPAMConfig`] = ipam;
    // A dynamic address is the engine's choice; a static one (ipv4_address) is compared.
    if (!isEmpty(ipam)) view[`Networks.${net}.IPAddress`] = n.IPAddress;
  }
  const normalized = normalize(view, [
    [side.project, '<project>'],
    [side.hostDir, '<host>'],
    [`${side.net}.`, '<net>.'],
    [c.Id as string, '<id>'],
    [id, '<id>'],
    [name, '<container>'],
    ...[...ids]
      .filter(([other]) => other !== c.Id)
      .flatMap(([other, service]): [string, string][] => [
        [other, `<id of ${service}>`],
        [other.slice(0, 12), `<id of ${service}>`],
      ]),
  ]) as Record<string, unknown>;
  // The name itself is compared with only the project taken out (compose v1 and v2 differ in it).
  normalized.Name = name.split(side.project).join('<project>');
  return normalized;
}

/** Replaces each `from` with `to` in every string (keys included), longest first. */
function normalize(value: unknown, pairs: [string, string][]): unknown {
  const sorted = [...pairs].sort((x, y) => y[0].length - x[0].length);
  const str = (s: string): string => {
    // A whole-string match wins (a container name is also a prefix of nothing else).
    for (const [from, to] of sorted) if (s === from) return to;
    let out = s;
    for (const [from, to] of sorted) if (from !== '') out = out.split(from).join(to);
    return out;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [str(k), walk(x)]));
    }
    return v;
  };
  return walk(value);
}

/** Field by field; empty values (null, '', [], {}) are one value, as the engine reports them either way. */
export function compareViews(
  service: string,
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  for (const field of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[field];
    const y = b[field];
    if (isEmpty(x) && isEmpty(y)) continue;
    if (JSON.stringify(x) !== JSON.stringify(y)) diffs.push({ service, field, compose: x, mooring: y });
  }
  return diffs;
}

// ── running a suite of cases ────────────────────────────────────────────────────────────────────

export interface ParityRun {
  results: CaseResult[];
  /** Mooring's status of each case's stack right after the sync (stack name → sync, reasons). */
  status: Map<string, { sync: string; reasons: string[] }>;
  /** Known differences for every case that no case showed. */
  knownGone: KnownDifference[];
  /** How long each part took (ms): compose's deploys, Mooring's sync, the comparison. */
  timings: Record<string, number>;
  cleanup(): Promise<void>;
}

/** The environment docker-compose runs in: no COMPOSE_* variable of the caller's. */
function composeEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMPOSE_')));
}

function mergeSafety(cases: ParityCase[], hostDirs: string[]): Partial<SafetySettings> {
  const out: Record<string, unknown> = { bindRoots: [...hostDirs] };
  for (const c of cases) {
    for (const [k, v] of Object.entries(c.safety ?? {})) {
      if (Array.isArray(v)) out[k] = [...new Set([...((out[k] as unknown[] | undefined) ?? []), ...v])];
      else if (typeof v === 'boolean') out[k] = out[k] === true || v;
      else out[k] = v;
    }
  }
  return out;
}

interface Inspected extends Json {
  Id: string;
  Name: string;
  Config: Json & { Labels: Record<string, string> };
}

/**
 * The project's networks or volumes by their compose key (com.docker.compose.network / .volume), each
 * as a flat view: driver, options, IPAM, flags and labels. An address range the engine picked is
 * `<engine-assigned>`; one the file sets is compared (as `<net>`).
 */
async function resourcesOf(
  kind: 'network' | 'volume',
  side: Side,
): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const ids = (await docker(kind, 'ls', '-q', '--filter', `label=com.docker.compose.project=${side.project}`))
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return out;
  for (const r of JSON.parse(await docker(kind, 'inspect', ...ids)) as Json[]) {
    const labels = (r.Labels as Record<string, string> | null) ?? {};
    const key = labels[`com.docker.compose.${kind}`] ?? (r.Name as string);
    const view: Record<string, unknown> = { Name: r.Name, Driver: r.Driver, Options: r.Options };
    for (const [k, v] of Object.entries(labels)) view[`Labels.${k}`] = v;
    if (kind === 'network') {
      for (const f of ['Scope', 'EnableIPv6', 'Internal', 'Attachable', 'Ingress', 'ConfigOnly'])
        view[f] = r[f];
      const ipam = (r.IPAM as Json | null) ?? {};
      view['IPAM.Driver'] = ipam.Driver;
      view['IPAM.Options'] = ipam.Options;
      const config = JSON.stringify(ipam.Config ?? []);
      view['IPAM.Config'] = config.includes(`"${side.net}.`) ? ipam.Config : '<engine-assigned>';
    }
    out.set(key, view);
  }
  const normalized = normalize(Object.fromEntries(out), [
    [side.project, '<project>'],
    [side.hostDir, '<host>'],
    [`${side.net}.`, '<net>.'],
  ]) as Record<string, Record<string, unknown>>;
  return new Map(Object.entries(normalized));
}

async function containersOf(project: string): Promise<Map<string, Inspected>> {
  const ids = (await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`))
    .split('\n')
    .filter(Boolean);
  const out = new Map<string, Inspected>();
  if (ids.length === 0) return out;
  for (const c of JSON.parse(await docker('inspect', ...ids)) as Inspected[]) {
    if (c.Config.Labels['com.docker.compose.container-number'] !== '1') continue;
    out.set(c.Config.Labels['com.docker.compose.service']!, c);
  }
  return out;
}

/**
 * Deploys every case with docker-compose 1.29 (two at a time) and with Mooring (one source, one sync
 * of every stack), then compares each service. `suffix` keeps two runs on one engine apart.
 */
export async function runParity(
  cases: ParityCase[],
  suffix: string,
  /** Known differences that may show in any case. */
  knownEverywhere: KnownDifference[] = [],
): Promise<ParityRun> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mooring-parity-'));
  const home = path.join(root, 'home');
  await mkdir(home);
  const sides = new Map<string, { a: Side; b: Side; composeDir: string }>();
  cases.forEach((c, i) => {
    const a: Side = {
      tool: 'compose',
      project: projectsOf(c, suffix).a,
      net: `10.${190 + (i % 30)}`,
      hostDir: path.join(root, 'host', `a-${c.name}`),
    };
    const b: Side = {
      tool: 'mooring',
      project: projectsOf(c, suffix).b,
      net: `10.${220 + (i % 30)}`,
      hostDir: path.join(root, 'host', `b-${c.name}`),
    };
    sides.set(c.name, { a, b, composeDir: path.join(root, 'compose', c.name) });
  });
  const projects = [...sides.values()].flatMap((s) => [s.a.project, s.b.project]);
  await removeStacks(...projects);

  // Mooring: one local repo, a folder per case.
  const repoFiles: Record<string, string> = {};
  for (const c of cases) {
    const { b } = sides.get(c.name)!;
    repoFiles[`${b.project}/compose.yaml`] = typeof c.compose === 'string' ? c.compose : c.compose(b);
    for (const [f, text] of Object.entries(c.files ?? {})) repoFiles[`${b.project}/${f}`] = text;
  }
  for (const s of sides.values()) {
    await mkdir(s.a.hostDir, { recursive: true });
    await mkdir(s.b.hostDir, { recursive: true });
  }
  const repo = await createLocalRepo(repoFiles);
  const hostDirs = [...sides.values()].flatMap((s) => [s.a.hostDir, s.b.hostDir]);
  await writeFile(
    path.join(home, 'settings.json'),
    JSON.stringify({ safety: mergeSafety(cases, hostDirs) }, null, 2),
  );

  const failed = new Map<string, { compose?: string; mooring?: string }>(cases.map((c) => [c.name, {}]));

  // docker-compose: a folder per case, two at a time.
  const queue = [...cases];
  const composeWorker = async (): Promise<void> => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      const { a, composeDir } = sides.get(c.name)!;
      await mkdir(composeDir, { recursive: true });
      await writeFile(
        path.join(composeDir, 'compose.yaml'),
        typeof c.compose === 'string' ? c.compose : c.compose(a),
      );
      for (const [f, text] of Object.entries(c.files ?? {})) {
        await mkdir(path.dirname(path.join(composeDir, f)), { recursive: true });
        await writeFile(path.join(composeDir, f), text);
      }
      try {
        await run('docker-compose', ['-p', a.project, '-f', 'compose.yaml', 'up', '-d', '--no-build'], {
          cwd: composeDir,
          env: composeEnv(),
          timeout: 120_000,
        });
      } catch (err) {
        failed.get(c.name)!.compose = firstLines((err as { stderr?: string }).stderr ?? String(err));
      }
    }
  };
  const mooringSync = async (): Promise<void> => {
    const add = await mooring(home, ['source', 'add', 'parity', repo.path]);
    if (add.code !== 0) throw new Error(`mooring source add failed: ${add.stderr}`);
    const sync = await mooring(home, ['sync']);
    if (sync.code !== 0) {
      // Say which stacks did not deploy; the others are compared.
      for (const c of cases) {
        const { b } = sides.get(c.name)!;
        const lines = `${sync.stdout}\n${sync.stderr}`.split('\n').filter((l) => l.includes(b.project));
        if (lines.length > 0) failed.get(c.name)!.mooring = `mooring sync: ${lines.slice(0, 3).join(' | ')}`;
      }
    }
  };
  const timed = (what: string, f: () => Promise<void>) => async (): Promise<void> => {
    const t = Date.now();
    await f();
    timings[what] = (timings[what] ?? 0) + Date.now() - t;
  };
  const timings: Record<string, number> = {};
  await Promise.all([
    timed('compose (worker 1)', composeWorker)(),
    timed('compose (worker 2)', composeWorker)(),
    timed('mooring sync', mooringSync)(),
  ]);

  const status = new Map<string, { sync: string; reasons: string[] }>();
  const st = await mooring(home, ['status', '--json']);
  try {
    const parsed = JSON.parse(st.stdout) as {
      stacks: {
        name: string;
        sync: string;
        services: { name: string; sync: string; reasons: unknown[] }[];
      }[];
    };
    for (const s of parsed.stacks) {
      status.set(s.name, {
        sync: s.sync,
        reasons: s.services.flatMap((x) => x.reasons.map((why) => `${x.name} ${JSON.stringify(why)}`)),
      });
    }
  } catch {
    // Reported by the caller as a missing status.
  }

  const results: CaseResult[] = [];
  const views: Record<string, { compose: unknown; mooring: unknown }> = {};
  const seenEverywhere = new Set<KnownDifference>();
  for (const c of cases) {
    const { a, b, composeDir } = sides.get(c.name)!;
    const ctx: CompareContext = { a, b, home, composeDir };
    const [ca, cb] = await Promise.all([containersOf(a.project), containersOf(b.project)]);
    const fail = failed.get(c.name)!;
    if (ca.size === 0 && fail.compose === undefined) fail.compose = 'no container';
    if (cb.size === 0 && fail.mooring === undefined) fail.mooring = 'no container';
    const result: CaseResult = {
      name: c.name,
      keys: c.keys,
      failed: fail,
      services: [...new Set([...ca.keys(), ...cb.keys()])].sort(),
      diffs: [],
      allowed: [],
      known: [],
      knownGone: [],
    };
    const seen = new Set<RegExp>();
    // What is compared: each service's container, then each network and volume of the project.
    const subjects: { name: string; a: Record<string, unknown>; b: Record<string, unknown> }[] = [];
    const idsA = new Map([...ca].map(([svc, x]) => [x.Id, svc]));
    const idsB = new Map([...cb].map(([svc, y]) => [y.Id, svc]));
    for (const service of result.services) {
      const x = ca.get(service);
      const y = cb.get(service);
      if (x === undefined || y === undefined) {
        result.diffs.push({
          service,
          field: '(container)',
          compose: x?.Name ?? null,
          mooring: y?.Name ?? null,
        });
        continue;
      }
      subjects.push({ name: service, a: containerView(x, a, idsA), b: containerView(y, b, idsB) });
    }
    for (const kind of ['network', 'volume'] as const) {
      const [ra, rb] = await Promise.all([resourcesOf(kind, a), resourcesOf(kind, b)]);
      for (const key of [...new Set([...ra.keys(), ...rb.keys()])].sort()) {
        const x = ra.get(key);
        const y = rb.get(key);
        if (x === undefined || y === undefined) {
          result.diffs.push({
            service: `(${kind} ${key})`,
            field: `(${kind})`,
            compose: x ? key : null,
            mooring: y ? key : null,
          });
          continue;
        }
        subjects.push({ name: `(${kind} ${key})`, a: x, b: y });
      }
    }
    for (const subject of subjects) {
      views[`${c.name}/${subject.name}`] = { compose: subject.a, mooring: subject.b };
      for (const d of compareViews(subject.name, subject.a, subject.b)) {
        const allow = [...(c.allow ?? []), ...ALLOWED].find(
          (r) => r.field.test(d.field) && (r.when === undefined || r.when(d.compose, d.mooring, ctx)),
        );
        const known = [...(c.known ?? []), ...knownEverywhere].find((k) => k.field.test(d.field));
        if (allow) result.allowed.push({ ...d, reason: allow.reason });
        else if (known) {
          seen.add(known.field);
          seenEverywhere.add(known);
          result.known.push({ ...d, owner: known.owner, note: known.note });
        } else result.diffs.push(d);
      }
    }
    result.knownGone = (c.known ?? []).filter((k) => !seen.has(k.field));
    results.push(result);
  }
  // MOORING_PARITY_VIEWS=FILE writes both sides' views of every service, to see what is compared.
  const dump = process.env.MOORING_PARITY_VIEWS;
  if (dump) await writeFile(dump, JSON.stringify(views, null, 2));

  return {
    results,
    status,
    knownGone: knownEverywhere.filter((k) => !seenEverywhere.has(k)),
    timings,
    cleanup: async () => {
      await removeStacks(...projects);
      await rm(root, { recursive: true, force: true });
      await rm(repo.path, { recursive: true, force: true });
    },
  };
}

/** A case's two project names: compose's (A) and Mooring's (B). */
export function projectsOf(c: { name: string }, suffix: string): { a: string; b: string } {
  return { a: `pa-${c.name}${suffix}`, b: `pb-${c.name}${suffix}` };
}

function firstLines(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-3)
    .join(' | ');
}

/** A difference as one line: `service field: compose=… mooring=…`. */
export function showDiff(d: FieldDiff): string {
  return `${d.service} ${d.field}: compose=${JSON.stringify(d.compose)} mooring=${JSON.stringify(d.mooring)}`;
}
