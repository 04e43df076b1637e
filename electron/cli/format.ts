// Human-readable output of the CLI. Machines use --json.
import {
  LOCAL_ENGINE,
  type CommitRecord,
  type RunRecord,
  type EngineProbe,
  type ElsewhereView,
  type FleetView,
  type SourceState,
  type StackStatus,
  type SyncStatus,
  type WorktreeInfo,
} from '../shared/model.ts';
import type { SyncResult } from '../engine/engine.ts';
import { MooringError } from '../engine/errors.ts';

const COLORS: Record<string, string> = {
  Synced: '32',
  Healthy: '32',
  OutOfSync: '33',
  Progressing: '36',
  Missing: '35',
  Orphaned: '35',
  Suspended: '90',
  Degraded: '31',
  Unknown: '31',
  succeeded: '32',
  failed: '31',
  interrupted: '33',
  running: '36',
};

const paint = (text: string, color: boolean): string =>
  color && COLORS[text] ? `\u001b[${COLORS[text]}m${text}\u001b[0m` : text;

/** Pads to a width measured without color codes. */
function table(rows: string[][]): string {
  // eslint-disable-next-line no-control-regex -- matching the ANSI color codes we print is the point
  const visible = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const short = (id: string | null): string => (id ? id.slice(0, 7) : '-');

/** What the controller does with the stack: its mooring.yaml policy, or that it is suspended here. */
function policy(s: StackStatus): string {
  const p = s.policy;
  const parts = [p.sync, ...(p.selfHeal ? ['self-heal'] : []), ...(p.prune ? ['prune'] : [])].join('+');
  return s.suspended ? `suspended (${parts})` : parts;
}

function counts(s: StackStatus): string {
  const by = new Map<SyncStatus, number>();
  for (const svc of s.services) by.set(svc.sync, (by.get(svc.sync) ?? 0) + 1);
  return [...by].map(([k, n]) => `${n} ${k}`).join(', ') || 'no services';
}

/**
 * A stack mooring.yaml sends to other engines than `engine`: where it goes, and how to look at it
 * there, or that this machine does not map the name.
 */
export function formatElsewhere(e: ElsewhereView, engine: string): string {
  const names = e.engines.map((x) => (x.configured ? x.name : `${x.name} (not configured here)`));
  const first = e.engines.find((x) => x.configured);
  return `${e.stack}: goes to ${names.join(', ')}, not ${engine}${
    first
      ? `: \`mooring --engine ${first.name} status ${e.stack}\``
      : `: add the engine with \`mooring engine add ${e.engines[0]!.name} ENDPOINT\``
  }`;
}

export function formatStatus(
  statuses: StackStatus[],
  color: boolean,
  sources: SourceState[],
  onlyDrift = false,
): string {
  if (statuses.length === 0) {
    if (onlyDrift) return 'No drift: every stack matches git.';
    return sources.length === 0
      ? 'No sources yet. Add a config repo: mooring source add NAME URL_OR_PATH'
      : 'No stacks found in the sources (a stack is a folder with compose.yaml).';
  }
  const lines: string[] = [];
  const rows: string[][] = [['STACK', 'SOURCE', 'REVISION', 'SYNC', 'HEALTH', 'POLICY', 'SERVICES']];
  for (const s of statuses) {
    rows.push([
      s.name,
      s.source,
      short(s.revision),
      paint(s.sync, color),
      paint(s.health, color),
      policy(s),
      counts(s),
    ]);
  }
  lines.push(table(rows));
  // A warning every stack carries (the engine is unreachable) is said once, not once per stack.
  const shared =
    statuses.length > 1
      ? (statuses[0]?.warnings ?? []).filter((w) => statuses.every((s) => s.warnings.includes(w)))
      : [];
  for (const w of new Set(shared)) lines.push('', `! ${w}`);
  for (const s of statuses) {
    const details: string[] = [];
    for (const e of s.errors) {
      details.push(e.unverified ? `  ✗ ${e.message}` : `  ✗ ${e.file}:${e.line}:${e.column}: ${e.message}`);
    }
    for (const svc of s.services) {
      if (svc.sync === 'Synced' && (onlyDrift || svc.health === 'Healthy')) continue;
      // Unknown because the engine could not be asked: the shared warning says so once.
      if (svc.sync === 'Unknown' && svc.health === 'Unknown' && shared.length > 0) continue;
      details.push(
        `  ${svc.name}: ${paint(svc.sync, color)} ${paint(svc.health, color)}${svc.swarmService ? ` (Swarm service ${svc.swarmService}, ${svc.state ?? ''})` : svc.container ? ` (${svc.container})` : ''}`,
      );
      for (const r of svc.reasons) {
        details.push(`    ${r.path}: git ${JSON.stringify(r.desired)} · live ${JSON.stringify(r.live)}`);
      }
    }
    for (const r of s.resources ?? []) {
      details.push(
        `  ${r.kind} ${r.key} (${r.name}): ${paint(r.sync, color)}${r.external ? ' (external)' : ''}`,
      );
      for (const d of r.reasons) {
        details.push(`    ${d.path}: git ${JSON.stringify(d.desired)} · live ${JSON.stringify(d.live)}`);
      }
    }
    for (const w of [...new Set(s.warnings)]) if (!shared.includes(w)) details.push(`  ! ${w}`);
    if (s.pruneHold) details.push(`  ! ${s.pruneHold}`);
    if (s.suspended) {
      details.push(`  suspended: the controller leaves it alone (\`mooring resume ${s.name}\` to undo)`);
    }
    if (details.length > 0) lines.push('', `${s.name}:`, ...details);
  }
  return lines.join('\n');
}

/** A sync's plan (`sync --dry-run`); `engine`: the engine it is for, said when several are. */
export function formatPlan(r: SyncResult, engine?: string): string {
  const stack = engine ? `${r.stack} on ${engine}` : r.stack;
  if (!r.plan) return `${stack}: ${r.result}${r.error ? ` — ${r.error}` : ''}`;
  const notes = (r.plan.notes ?? []).map((n) => `  note: ${n}`);
  if (r.plan.actions.length === 0) {
    return [`${stack} @ ${short(r.revision)}: nothing to do`, ...notes].join('\n');
  }
  const lines = [`${stack} @ ${short(r.revision)}: ${r.plan.actions.length} action(s)`];
  for (const a of r.plan.actions) {
    lines.push(`  ${a.kind} ${a.target} — ${a.reason}`);
    for (const d of a.diff)
      lines.push(`      ${d.path}: git ${JSON.stringify(d.desired)} · live ${JSON.stringify(d.live)}`);
  }
  return [...lines, ...notes].join('\n');
}

/**
 * A local source's work tree before its preview: the branch and commit it stands on and the paths
 * that differ from it (the first 20), so a person knows what "worktree" means before reading the plan.
 */
export function formatWorktree(w: WorktreeInfo): string {
  const at = `${w.branch ? `branch ${w.branch}` : 'detached HEAD'} at ${short(w.head)}`;
  const title = `Work tree of source "${w.source}" (${w.dir}), ${at}`;
  if (w.changed.length === 0) return `${title}: no uncommitted changes.`;
  const shown = w.changed.slice(0, 20).map((c) => `  ${c.change} ${c.path}`);
  const more = w.changed.length > 20 ? [`  … and ${w.changed.length - 20} more`] : [];
  const n = w.changed.length;
  return [
    `${title}, with ${n} uncommitted change${n === 1 ? '' : 's'} (id ${short(w.commit)}):`,
    ...shown,
    ...more,
  ].join('\n');
}

export function formatSources(sources: SourceState[]): string {
  if (sources.length === 0) return 'No sources yet. Add a config repo: mooring source add NAME URL_OR_PATH';
  const rows = [['NAME', 'URL', 'BRANCH', 'PATH', 'HEAD', 'SIGNED', 'LAST FETCH']];
  for (const s of sources) {
    const fetched = s.lastError
      ? `failing since ${s.failingSince ?? '?'}: ${s.lastError}`
      : (s.lastSuccessAt ?? 'never');
    const signed = s.verify ? `${s.verify.format} only` : '-';
    rows.push([s.name, s.url, s.branch ?? '(default)', s.path || '/', short(s.head), signed, fetched]);
  }
  return table(rows);
}

/** Named engines with what answered: unreachable ones with the reason under them. */
export function formatEngines(engines: EngineProbe[]): string {
  if (engines.length === 0)
    return 'No engines. Add one: mooring engine add NAME ENDPOINT (unix:///path, tcp://HOST:PORT with TLS, ssh://user@host)';
  const rows = [['NAME', 'ENDPOINT', 'VIA', 'REACHABLE', 'VERSION', 'SWARM', 'LATENCY']];
  for (const e of engines)
    rows.push([
      e.name,
      e.endpoint,
      e.transport,
      e.reachable ? 'yes' : 'no',
      [e.version, e.apiVersion && `(API ${e.apiVersion})`].filter(Boolean).join(' ') || '-',
      e.swarm ?? '-',
      e.latencyMs === null ? '-' : `${e.latencyMs} ms`,
    ]);
  const problems = engines.filter((e) => e.error).map((e) => `${e.name}: ${e.error ?? ''}`);
  if (problems.length > 0)
    problems.push(
      "To change an engine's endpoint or keys: `mooring engine remove NAME`, then `mooring engine add NAME ENDPOINT`.",
    );
  return [table(rows), ...problems].join('\n');
}

/**
 * `mooring fleet`: the engines as `engine list` shows them, then every stack × the engines it goes to,
 * each cell its sync and health there; `-` where the stack does not go. Why a cell is Unknown follows,
 * once per reason, and how to map a name this machine does not know.
 */
export function formatFleet(f: FleetView, color = false): string {
  const lines = [formatEngines(f.engines), ''];
  if (f.rows.length === 0) {
    lines.push('No stacks found in the sources (a stack is a folder with compose.yaml).');
    return lines.join('\n');
  }
  const rows = [['STACK', 'SOURCE', ...f.columns]];
  const why = new Set<string>();
  for (const r of f.rows) {
    rows.push([
      r.stack,
      r.source,
      ...f.columns.map((name) => {
        const c = r.cells.find((x) => x.engine === name);
        if (!c) return '-';
        if (!c.configured || !c.sync || !c.health) return 'not configured here';
        if (c.warning) why.add(`${name}: ${c.warning}`);
        return `${paint(c.sync, color)} ${paint(c.health, color)}${c.suspended ? ' (suspended)' : ''}`;
      }),
    ]);
  }
  lines.push(table(rows));
  for (const w of why) lines.push(`  ${w}`);
  for (const name of f.unconfigured)
    lines.push(`${name} is not configured here: add it with \`mooring engine add ${name} ENDPOINT\`.`);
  return lines.join('\n');
}

/**
 * Runs as a table, newest first, times local with their zone; under a run that failed, its whole error
 * (every line, indented), so that nothing is cut at "Invalid manifest, nothing applied:".
 */
export function formatHistory(runs: RunRecord[], color = false): string {
  if (runs.length === 0) return 'No runs yet.';
  // The engine column only where a run acted on another engine than `local`.
  const engines = runs.some((r) => (r.engine ?? LOCAL_ENGINE) !== LOCAL_ENGINE);
  const rows = [
    ['RUN', 'STACK', ...(engines ? ['ENGINE'] : []), 'REVISION', 'TRIGGER', 'STARTED', 'RESULT', 'ACTIONS'],
  ];
  for (const r of runs) {
    rows.push([
      String(r.id),
      r.stack,
      ...(engines ? [r.engine ?? LOCAL_ENGINE] : []),
      short(r.revision),
      r.trigger,
      localTime(r.startedAt),
      paint(r.result, color),
      String(r.plan.length),
    ]);
  }
  const [head = '', ...lines] = table(rows).split('\n');
  const out = [head];
  runs.forEach((r, i) => {
    out.push(lines[i] ?? '');
    if (r.error) for (const l of r.error.trimEnd().split('\n')) out.push(`    ${l}`);
  });
  return out.join('\n');
}

/** "2026-12-01 15:20:03 UTC": this machine's local time, with its zone. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const zone =
    new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
      .formatToParts(d)
      .find((p) => p.type === 'timeZoneName')?.value ?? '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone}`.trimEnd();
}

export function formatLog(
  commits: (CommitRecord & { deploys?: { stack: string; host: string; result: string; time: string }[] })[],
): string {
  if (commits.length === 0) return 'No commits cached yet. Run `mooring fetch`.';
  const rows = [['COMMIT', 'SOURCE', 'TIME', 'AUTHOR', 'STACKS', 'DEPLOYED', 'MESSAGE']];
  for (const c of commits) {
    rows.push([
      short(c.id),
      c.source,
      c.time,
      c.author,
      c.stacks.join(',') || '-',
      deployed(c.deploys ?? []),
      c.message.split('\n')[0] ?? '',
    ]);
  }
  return table(rows);
}

/** Where a commit was deployed, newest first: `stack@host` (✗ when that run failed), at most three. */
function deployed(deploys: { stack: string; host: string; result: string }[]): string {
  if (deploys.length === 0) return '-';
  const seen = [
    ...new Set(deploys.map((d) => `${d.stack}@${d.host}${d.result === 'succeeded' ? '' : ' ✗'}`)),
  ];
  return seen.length > 3 ? `${seen.slice(0, 3).join(',')} +${seen.length - 3}` : seen.join(',');
}

/**
 * The version of the CLI's --json output: raised when a field is removed or changes meaning (adding one
 * does not), so that scripts can check what they read.
 */
export const JSON_SCHEMA_VERSION = 1;

/** `--json` output: the object with its schemaVersion first, indented. */
export function toJson(body: object): string {
  return JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...body }, null, 2);
}

/** An option's value that must be a positive whole number (`--limit`, `--run`). */
export const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new MooringError('usage', `expected a positive whole number, got "${value}"`);
  return n;
};
