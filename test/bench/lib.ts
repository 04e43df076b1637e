// What every benchmark shares: sizes and outputs, statistics, the machine, timed child processes,
// busybox compose files, free loopback ports, and cleanup of everything a benchmark created.
//
// A benchmark module exports one function `(size) => Promise<BenchOutput>`; test/bench/run.ts runs
// them and writes docs/benchmarks.md, test/integration/bench-smoke.test.ts runs each at 'small'.
// Nothing here asserts a time (STYLE.md: benchmarks under test/bench, never timed asserts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';

export type Size = 'small' | 'full';

/** A target from issue 6 and whether this run met it. */
export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  holds: boolean;
}

export interface BenchOutput {
  id: string;
  title: string;
  /** Markdown, starting with a `## ` heading. */
  section: string;
  /** Raw samples (milliseconds unless the key says otherwise), for docs/benchmarks.json. */
  numbers: Record<string, number[]>;
  targets: TargetCheck[];
}

export type Benchmark = (size: Size) => Promise<BenchOutput>;

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'bin/mooring.mjs');
export const IMAGE = 'local/busybox:1';

/** Progress lines go to stderr, so a benchmark's output stays readable while it runs. */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ── statistics ───────────────────────────────────────────────────────────────────────────────────

export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
  p95: number;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    n: sorted.length,
    median,
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    p95: percentile(sorted, 95),
  };
}

/** 12.3 ms, 456 ms, 7.89 s */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(2)} s`;
}

/** "median (min–max, n=5)" */
export function spread(values: number[]): string {
  const s = stats(values);
  if (s.n === 1) return `${ms(s.median)} (n=1)`;
  return `${ms(s.median)} (${ms(s.min)}–${ms(s.max)}, n=${s.n})`;
}

export function ratio(a: number, b: number): number {
  return a / b;
}

export function times(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '—';
}

export function check(what: string, target: string, measured: string, holds: boolean): TargetCheck {
  return { what, target, measured, holds };
}

/** A markdown table from a header row and rows of cells. */
export function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

// ── the machine ──────────────────────────────────────────────────────────────────────────────────

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  engine: string;
  compose: string;
  node: string;
  os: string;
  date: string;
}

export async function machine(): Promise<Machine> {
  const cpus = os.cpus();
  const docker = new Docker();
  const v = await docker.version().catch(() => null);
  const compose = await run('docker-compose', ['version', '--short'], { timeoutMs: 30_000 }).catch(
    () => null,
  );
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    engine: v ? `Docker Engine ${v.Version} (API ${v.ApiVersion})` : 'Docker engine unreachable',
    compose: compose?.code === 0 ? `docker-compose ${compose.stdout.trim()}` : 'docker-compose missing',
    node: `Node ${process.version}`,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
  };
}

/** The 1-, 5- and 15-minute load averages, as /proc/loadavg has them. */
export function loadAverage(): [number, number, number] {
  const [a = NaN, b = NaN, c = NaN] = os.loadavg();
  return [a, b, c];
}

// ── child processes ──────────────────────────────────────────────────────────────────────────────

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
  /** Killed after `timeoutMs`. */
  timedOut: boolean;
}

/** A command that did not finish in its time and was killed. */
export class CommandTimeout extends Error {}

/** Commands running now, so that an interrupted run can stop them before it cleans up. */
const running = new Set<ChildProcess>();

/** Registers a long-running child (a server, `mooring watch`) for killCommands(). */
export function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** Kills every command a benchmark started that is still running. */
export function killCommands(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Runs a command to completion (killed after `timeoutMs`), timing it from spawn to exit. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        child.kill('SIGKILL');
      },
      opts.timeoutMs ?? 10 * 60_000,
    );
    child.on('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
}

/** Like run(), but a non-zero exit is an error that shows what the command said. */
export async function runOk(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.timedOut) {
    throw new CommandTimeout(`${cmd} ${args.join(' ')} did not finish in ${ms(r.ms)}: killed`);
  }
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`,
    );
  }
  return r;
}

/** The `mooring` CLI as a user runs it: a new node process through bin/mooring.mjs. */
export function mooring(
  home: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return runOk(process.execPath, [CLI, '--home', home, ...args], {
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
  });
}

/** `docker-compose` (1.29) on a file, killed after `timeoutMs`. */
export function compose(
  project: string,
  file: string,
  args: string[],
  timeoutMs = 10 * 60_000,
): Promise<RunResult> {
  return runOk('docker-compose', ['-p', project, '-f', file, ...args], {
    timeoutMs,
    cwd: path.dirname(file),
    env: {
      ...process.env,
      // Compose 1.29's `up` holds a permit of one global semaphore (COMPOSE_PARALLEL_LIMIT, default
      // 64) per service while each service's own create waits for another: with more services than
      // the limit it deadlocks (measured here: 100 services with ports hang after ~30 containers, also
      // at a limit of 4). The known workaround, a limit above twice the services, is what a user of
      // compose would set; it is also compose at its fastest.
      COMPOSE_PARALLEL_LIMIT: process.env.COMPOSE_PARALLEL_LIMIT ?? '256',
    },
  });
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

export function timedSync<T>(fn: () => T): { ms: number; value: T } {
  const started = performance.now();
  const value = fn();
  return { ms: performance.now() - started, value };
}

export const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));

// ── names, ports, compose files ──────────────────────────────────────────────────────────────────

/**
 * Stack names of this process: `bench<pid>-…`, so two runs on one engine never share a name, and
 * cleanup can tell a dead run's leftovers from a live one's.
 */
export const RUN_PREFIX = `bench${process.pid.toString(36)}`;

export function stackName(what: string): string {
  return `${RUN_PREFIX}-${what}`.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

/**
 * `n` TCP ports free on 127.0.0.1, from a random window below the kernel's ephemeral range (32768+),
 * so that no client connection elsewhere on the machine grabs one between this check and the
 * engine binding it.
 */
export async function freePorts(n: number): Promise<number[]> {
  const start = 20_000 + Math.floor(Math.random() * 10_000);
  const ports: number[] = [];
  for (let port = start; ports.length < n && port < 32_000; port++) {
    const s = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => {
        resolve(false);
      });
      s.listen(port, '127.0.0.1', () => {
        resolve(true);
      });
    });
    if (ok) {
      await new Promise((r) => s.close(r));
      ports.push(port);
    }
  }
  if (ports.length < n) throw new Error(`found only ${ports.length} of ${n} free ports from ${start}`);
  return ports;
}

export interface ComposeOptions {
  services: number;
  /** One 127.0.0.1 port per service (service i gets ports[i] → 80). */
  ports?: number[];
  /** Extra environment of one service, by index: how "change one service" changes it. */
  envOf?: (i: number) => Record<string, string>;
  /** An existing network to use as the stack's default (external), instead of one per stack. */
  network?: string;
}

export const serviceName = (i: number): string => `s${String(i + 1).padStart(3, '0')}`;

/** N busybox services with init (busybox as PID 1 ignores SIGTERM) and optional loopback ports. */
export function busyboxCompose(opts: ComposeOptions): string {
  const lines = ['services:'];
  for (let i = 0; i < opts.services; i++) {
    lines.push(
      `  ${serviceName(i)}:`,
      `    image: ${IMAGE}`,
      '    init: true',
      '    command: ["sleep", "3600"]',
    );
    const port = opts.ports?.[i];
    if (port !== undefined) lines.push('    ports:', `      - "127.0.0.1:${port}:80"`);
    const env = opts.envOf?.(i) ?? {};
    if (Object.keys(env).length > 0) {
      lines.push('    environment:');
      for (const [k, v] of Object.entries(env)) lines.push(`      ${k}: "${v}"`);
    }
  }
  if (opts.network) lines.push('networks:', '  default:', `    name: ${opts.network}`, '    external: true');
  return `${lines.join('\n')}\n`;
}

/** A folder for a benchmark's files (removed by its caller). */
export async function tempDir(what: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `mooring-bench-${what}-`));
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function writeComposeFile(dir: string, text: string): Promise<string> {
  const file = path.join(dir, 'compose.yaml');
  await writeFile(file, text);
  return file;
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

// ── cleanup ──────────────────────────────────────────────────────────────────────────────────────

const docker = new Docker();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a `bench…` name belongs to `prefix`, or (prefix 'bench') to a run whose process is gone. */
function matches(name: string, prefix: string): boolean {
  if (!name.startsWith('bench')) return false;
  if (prefix !== 'bench')
    return name === prefix || name.startsWith(`${prefix}-`) || name.startsWith(`${prefix}_`);
  const m = /^bench([0-9a-z]+)-/.exec(name);
  if (!m) return false;
  const pid = parseInt(m[1]!, 36);
  return pid !== process.pid && !isAlive(pid);
}

/**
 * Removes the containers, networks, volumes and images whose compose project (or name) starts with
 * `prefix`. With the default, this run's; with 'bench', those of earlier runs that died without
 * cleaning up (never a live run's). Idempotent, and it never throws: cleanup must not hide the error
 * that made a benchmark stop.
 */
export async function cleanupBench(prefix: string = RUN_PREFIX): Promise<number> {
  let removed = 0;
  try {
    const containers = await docker.listContainers({ all: true });
    const mine = containers.filter((c) => {
      const project = c.Labels['com.docker.compose.project'] ?? '';
      const name = (c.Names[0] ?? '').replace(/^\//, '');
      return matches(project, prefix) || matches(name, prefix);
    });
    // In parallel but bounded: the engine serializes much of this anyway.
    for (let i = 0; i < mine.length; i += 16) {
      await Promise.all(
        mine.slice(i, i + 16).map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .then(() => removed++)
            .catch(() => undefined),
        ),
      );
    }
    for (const n of await docker.listNetworks()) {
      const project = n.Labels?.['com.docker.compose.project'] ?? '';
      if (matches(project, prefix) || matches(n.Name, prefix)) {
        await docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined);
      }
    }
    const { Volumes } = await docker.listVolumes();
    for (const v of Volumes ?? []) {
      const project = v.Labels?.['com.docker.compose.project'] ?? '';
      if (matches(project, prefix) || matches(v.Name, prefix)) {
        await docker
          .getVolume(v.Name)
          .remove({ force: true })
          .catch(() => undefined);
      }
    }
    for (const img of await docker.listImages()) {
      const tags = img.RepoTags ?? [];
      if (tags.some((t) => matches(t, prefix))) {
        await docker
          .getImage(img.Id)
          .remove({ force: true })
          .catch(() => undefined);
      }
    }
  } catch (err) {
    progress(`cleanup of ${prefix}: ${(err as Error).message}`);
  }
  return removed;
}

/** Containers of one compose project, as the engine lists them. */
export async function projectContainers(project: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
}

export { docker as dockerClient };
