// The controller's decisions, as one pure function: `decide(memory, event, now, config)` returns the
// next memory and the actions to take (issue 12; DESIGN.md, "Declarative (controller)"). Every policy
// the controller applies lives here — auto-sync of a new revision, self-heal after a quiet period with
// a ceiling, retries with capped backoff and a limit, prune (and its hold when a commit deletes most
// stacks of a source), suspend, an invalid commit recorded once, the notices said once — so that a
// fake clock tests each of them in milliseconds. The runner (controller.ts) does the I/O: it looks at
// git and Docker, feeds what it saw here as facts, and carries the actions out (runs, one timer per
// stack, log lines, a policy look-up in git history).
//
// Time is `now`, passed in; timers are asked for as `wake` actions and come back as `wake` events.
import type { StackPolicy, StackStatus, Trigger } from '../../shared/model.ts';
import type { PruneHold } from './prune-guard.ts';
import { resourcesNeedRun } from './resource-status.ts';
import { RetryBook, type RetryEntry, type RetryPolicy } from './retry.ts';

export type ControllerLogKind =
  | 'start'
  | 'stop'
  | 'fetch'
  | 'drift'
  | 'in-sync'
  | 'run-started'
  | 'run-finished'
  | 'retry'
  | 'gave-up'
  | 'engine'
  | 'suspend'
  | 'notice'
  | 'error';

/** A line of the controller's log, as its listeners (`watch`, the app, the webhook) receive it. */
export interface ControllerLogEvent {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
  at: string;
  kind?: ControllerLogKind;
  stack?: string;
  source?: string;
  runId?: number;
  /** Of a run's lines: what started it. */
  trigger?: Trigger;
  /** Said at every poll when nothing changed (a fetch with no new commit): `watch` hides it. */
  routine?: boolean;
}

/** A stack began to differ from git by a change outside it (not a new revision): what a webhook tells. */
export interface ControllerDriftEvent {
  type: 'drift';
  status: StackStatus;
  at: string;
}

export interface DecideConfig {
  /** Quiet time after the last look that wanted a self-heal before it acts. */
  selfHealDebounceMs: number;
  /** Self-heal acts at the latest this long after the first such look, looks or not. */
  selfHealMaxWaitMs: number;
  retry: RetryPolicy;
  /** Wait before trying again when another process holds a stack's lock. */
  lockRetryMs: number;
}

/** What the controller remembers of one stack between events. */
export interface StackMemory {
  /** Failing attempts (kept in the database by the runner, so the limit holds across restarts). */
  retry: RetryEntry | undefined;
  /** The revision the stack was last seen in sync at: a new revision is what `sync: auto` acts on. */
  inSyncAt: string | null;
  /** A self-heal waiting for quiet: since when, and when it is due. */
  heal: { firstAt: number; dueAt: number } | null;
  /** The stack's one timer: a self-heal due, or a retry after backoff or a held lock. */
  wake: { at: number; why: 'heal' | 'retry' } | null;
  /** Things said once (per revision or key), so the log does not repeat itself on every event. */
  said: ReadonlySet<string>;
}

/** Per scope: a stack's name, or `source:<name>` for what is said about a whole source. */
export type Memory = ReadonlyMap<string, StackMemory>;

/** What git declares for a stack, as far as deciding needs it. */
export interface Target {
  revision: string | null;
  policy: StackPolicy;
  /** The manifest at this revision is valid (parsed, validated, allowed). */
  valid: boolean;
  /** Declared services (a stack that declares none is never pruned to zero). */
  services: number;
  /** Identifies the desired spec and whether it prunes: a new one is a new attempt. */
  fingerprint: string;
}

/** What the runner saw of one stack, at the moment of the event. */
export interface Facts {
  status: StackStatus;
  /** Suspended in the database or on the status. */
  suspended: boolean;
  /** The controller's own run on this stack is under way. */
  running: boolean;
  engineReachable: boolean;
  /** The prune hold of the stack's source, if any. */
  hold: PruneHold | undefined;
  /** The commit the stack's source was read at; null when it could not be read. */
  head: string | null;
  /** What git declares at `head`; null: the source no longer declares the stack. */
  target: Target | null;
  /** For a stack git no longer declares: its last declared policy (null: none found; undefined: not looked up yet). */
  lastPolicy?: StackPolicy | null;
  /** The revision of the stack's last successful run (by anyone). */
  deployedRevision: string | null;
}

/** A run of the controller's, as it ended. */
export type RunOutcome =
  | { kind: 'threw'; error: string; transient: boolean }
  | { kind: 'locked'; error: string | null }
  | { kind: 'invalid'; error: string | null; runId: number | null }
  | { kind: 'failed'; error: string; runId: number | null; transient: boolean }
  /** `after`: the status as the run left it; `target`: what git declares now. */
  | { kind: 'succeeded'; runId: number | null; after: StackStatus | undefined; target: Target | null };

export type DecideEvent =
  /** The stack's status or desired state changed, or someone asked to look again. */
  | { type: 'look'; stack: string; facts: Facts }
  /** The stack's timer fired: a self-heal is due, or a retry. */
  | { type: 'wake'; stack: string; facts: Facts }
  | {
      type: 'run-ended';
      stack: string;
      trigger: Trigger;
      key: string;
      revision: string | null;
      outcome: RunOutcome;
    }
  | { type: 'suspended'; stack: string }
  | { type: 'resumed'; stack: string }
  /** The Docker engine answers again. */
  | { type: 'engine-back'; stack: string }
  /** A source could not be read at its head. */
  | { type: 'unreadable'; source: string; error: string };

export type Action =
  /** Start a run: a sync of the declared stack, or (`removed`) the prune of a stack git deleted. */
  | { kind: 'run'; stack: string; trigger: Trigger; key: string; removed: boolean; revision: string }
  /** (Re)set the stack's one timer, or cancel it (`at: null`); when it fires, send a `wake`. */
  | { kind: 'wake'; stack: string; at: number | null }
  /** Look up the last policy git declared for a deleted stack, then `look` again. */
  | { kind: 'look-up-policy'; stack: string }
  | {
      kind: 'log';
      level: 'info' | 'warn' | 'error';
      logKind: ControllerLogKind;
      message: string;
      stack?: string;
      source?: string;
      runId?: number;
    };

export const EMPTY_MEMORY: StackMemory = {
  retry: undefined,
  inSyncAt: null,
  heal: null,
  wake: null,
  said: new Set(),
};

/** Drift the controller may act on: an orphaned service only counts where the policy prunes. */
export function needsRun(st: StackStatus, policy: StackPolicy): boolean {
  if (st.sync === 'Unknown') return false;
  return (
    st.services.some(
      (s) => s.sync === 'OutOfSync' || s.sync === 'Missing' || (s.sync === 'Orphaned' && policy.prune),
    ) || resourcesNeedRun(st.resources)
  );
}

/** Whether a run of this stack may prune: never down to zero containers of a stack git still has. */
export function prunes(target: Target): boolean {
  return target.policy.prune && target.services > 0;
}

/** The stack's policy, with prune off where pruning would empty a stack that git still declares. */
export function effectivePolicy(target: Target): StackPolicy {
  if (!target.policy.prune || prunes(target) || !target.valid) return target.policy;
  return { ...target.policy, prune: false };
}

export function driftSummary(st: StackStatus): string {
  const parts = st.services
    .filter((s) => s.sync !== 'Synced')
    .map((s) => {
      if (s.sync === 'Missing') return `${s.name} missing`;
      if (s.sync === 'Orphaned') return `${s.name} no longer declared`;
      const fields = s.reasons.map((r) =>
        r.path === 'state'
          ? `state ${r.live ?? '?'}`
          : r.path === 'containers'
            ? `${r.live} containers`
            : r.path,
      );
      return `${s.name} (${fields.join(', ')})`;
    });
  for (const r of st.resources ?? []) {
    parts.push(
      `${r.kind} ${r.key} ${r.sync === 'Missing' ? 'missing' : `(${r.reasons.map((x) => x.path).join(', ')})`}`,
    );
  }
  return parts.join(', ') || st.sync;
}

export const short = (rev: string | null | undefined): string => (rev ? rev.slice(0, 7) : '?');

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** One event's worth of changes: memory is copied on first write, so the input is never touched. */
class Draft {
  readonly actions: Action[] = [];
  private next: Map<string, StackMemory> | null = null;

  constructor(
    private readonly memory: Memory,
    readonly now: number,
    readonly config: DecideConfig,
  ) {}

  get(scope: string): StackMemory {
    return (this.next ?? this.memory).get(scope) ?? EMPTY_MEMORY;
  }

  set(scope: string, patch: Partial<StackMemory>): void {
    this.next ??= new Map(this.memory);
    this.next.set(scope, { ...this.get(scope), ...patch });
  }

  result(): { memory: Memory; actions: Action[] } {
    return { memory: this.next ?? this.memory, actions: this.actions };
  }

  log(
    level: 'info' | 'warn' | 'error',
    logKind: ControllerLogKind,
    message: string,
    extra: { stack?: string; source?: string; runId?: number } = {},
  ): void {
    this.actions.push({ kind: 'log', level, logKind, message, ...extra });
  }

  /** Logs a message once per scope and key, until the stack is resumed. */
  sayOnce(
    scope: string,
    key: string,
    level: 'info' | 'warn' | 'error',
    logKind: ControllerLogKind,
    message: string,
    extra: { stack?: string; source?: string } = {},
  ): void {
    const said = this.get(scope).said;
    if (said.has(key)) return;
    this.set(scope, { said: new Set([...said, key]) });
    this.log(level, logKind, message, extra);
  }

  /** The retry bookkeeping of one stack, over its entry in memory. */
  book<T>(stack: string, fn: (book: RetryBook) => T): T {
    const store = new Map<string, RetryEntry>();
    const entry = this.get(stack).retry;
    if (entry) store.set(stack, entry);
    const out = fn(new RetryBook(this.config.retry, store));
    const after = store.get(stack);
    if (after !== entry) this.set(stack, { retry: after });
    return out;
  }

  setWake(stack: string, wake: StackMemory['wake']): void {
    this.set(stack, { wake });
    this.actions.push({ kind: 'wake', stack, at: wake?.at ?? null });
  }

  cancelHeal(stack: string): void {
    const m = this.get(stack);
    if (m.heal) this.set(stack, { heal: null });
    if (m.wake?.why === 'heal') this.setWake(stack, null);
  }

  scheduleRetry(stack: string, ms: number): void {
    this.setWake(stack, { at: this.now + ms, why: 'retry' });
  }

  /** A look that wants a self-heal: starts or extends the quiet period, up to its ceiling. */
  pokeHeal(stack: string): void {
    const { selfHealDebounceMs: wait, selfHealMaxWaitMs: maxWait } = this.config;
    const firstAt = this.get(stack).heal?.firstAt ?? this.now;
    const dueAt = Math.min(this.now + wait, firstAt + Math.max(wait, maxWait));
    this.set(stack, { heal: { firstAt, dueAt } });
    this.setWake(stack, { at: dueAt, why: 'heal' });
  }

  run(stack: string, trigger: Trigger, key: string, revision: string, removed = false): void {
    // One timer per stack: whatever it waited for is this run now.
    this.set(stack, { heal: null });
    if (this.get(stack).wake) this.setWake(stack, null);
    this.actions.push({ kind: 'run', stack, trigger, key, removed, revision });
  }
}

export function decide(
  memory: Memory,
  event: DecideEvent,
  now: number,
  config: DecideConfig,
): { memory: Memory; actions: Action[] } {
  const d = new Draft(memory, now, config);
  switch (event.type) {
    case 'look':
      evaluate(d, event.stack, event.facts, false);
      break;
    case 'wake': {
      // A timer that was cancelled or replaced meanwhile is no due self-heal: only a look.
      const wake = d.get(event.stack).wake;
      const due = wake !== null && now >= wake.at;
      if (due) d.set(event.stack, { wake: null, heal: null });
      evaluate(d, event.stack, event.facts, due);
      break;
    }
    case 'run-ended':
      runEnded(d, event);
      break;
    case 'suspended':
      d.set(event.stack, { heal: null });
      if (d.get(event.stack).wake) d.setWake(event.stack, null);
      d.log('info', 'suspend', `${event.stack} is suspended: the controller leaves it alone`, {
        stack: event.stack,
      });
      break;
    case 'resumed':
      // A person resumed it: whatever was given up on gets a fresh set of tries. What was in sync before
      // the suspension says nothing now (`mooring rollback` deploys an older revision while suspended):
      // the run history decides whether the tip still needs its auto-sync.
      d.set(event.stack, { retry: undefined, inSyncAt: null, said: new Set() });
      d.log('info', 'suspend', `${event.stack} is resumed: the controller looks after it again`, {
        stack: event.stack,
      });
      break;
    case 'engine-back':
      // Failures that were the engine's absence need not wait out their backoff.
      d.book(event.stack, (b) => b.releaseTransient([event.stack]));
      break;
    case 'unreadable':
      d.sayOnce(
        `source:${event.source}`,
        `unreadable:${event.error}`,
        'error',
        'error',
        `source ${event.source} cannot be read (${event.error}); its stacks stay as last read`,
        { source: event.source },
      );
      break;
  }
  return d.result();
}

function evaluate(d: Draft, name: string, f: Facts, healNow: boolean): void {
  const st = f.status;
  if (f.suspended) {
    d.cancelHeal(name);
    return;
  }
  if (f.running || !f.engineReachable) return;
  // A commit that deletes most of a source: nothing of that source is acted on until a person says so.
  if (f.hold) {
    d.sayOnce(
      `source:${st.source}`,
      `hold:${f.head ?? ''}`,
      'warn',
      'suspend',
      `${f.hold.message} Until then the controller leaves source "${st.source}" alone.`,
      { source: st.source },
    );
    return;
  }
  const target = f.target;
  if (!target) {
    evaluateRemoved(d, name, f);
    return;
  }
  const policy = effectivePolicy(target);
  if (policy.prune !== target.policy.prune && st.services.some((s) => s.sync === 'Orphaned')) {
    d.sayOnce(
      name,
      `no-zero:${target.revision ?? ''}`,
      'warn',
      'notice',
      `${name} declares no service: prune would remove every container, which it never does for a stack git still has. Delete the stack's folder in git to remove it on purpose.`,
      { stack: name },
    );
  }
  if (policy.sync !== 'auto') {
    if ((policy.selfHeal || policy.prune) && needsRun(st, policy)) {
      d.sayOnce(
        name,
        'manual-policy',
        'info',
        'notice',
        `${name} has sync: manual, so selfHeal and prune do nothing: they act only with sync: auto`,
        { stack: name },
      );
    }
    return;
  }
  const revision = target.revision;
  if (!revision) return;
  if (!target.valid) {
    // An invalid manifest at this revision: one failed run records it; the same commit cannot get better.
    const key = `${revision}:invalid`;
    if (d.book(name, (b) => b.decide(name, key, d.now)).kind === 'go') d.run(name, 'auto', key, revision);
    return;
  }
  if (!needsRun(st, policy)) {
    // In sync at the revision the status was taken at: a look that still holds the status of the
    // revision before a fetch must not mark the new one as deployed (it would then wait for a person
    // as "drift" instead of being deployed: the pipeline test's revert, twice in CI).
    if (st.sync === 'Synced' && st.revision === revision) {
      if (d.get(name).inSyncAt !== revision) d.set(name, { inSyncAt: revision });
      d.book(name, (b) => {
        b.succeeded(name);
      });
    }
    d.cancelHeal(name);
    return;
  }
  const deployed = d.get(name).inSyncAt === revision || f.deployedRevision === revision;
  const trigger: Trigger | null = !deployed ? 'auto' : policy.selfHeal ? 'self-heal' : null;
  if (!trigger) {
    d.sayOnce(
      name,
      `no-heal:${revision}`,
      'info',
      'notice',
      `${name} drifted at ${short(revision)}; selfHeal is off, so it stays so until someone syncs it`,
      { stack: name },
    );
    return;
  }
  const key = `${revision}:${target.fingerprint}`;
  const decision = d.book(name, (b) => b.decide(name, key, d.now));
  if (decision.kind === 'gave-up') return; // said once when it gave up
  if (decision.kind === 'wait') {
    d.scheduleRetry(name, decision.ms);
    return;
  }
  if (trigger === 'self-heal' && !healNow) {
    d.pokeHeal(name);
    return;
  }
  d.run(name, trigger, key, revision);
}

/** A stack Mooring deployed that its source no longer declares. */
function evaluateRemoved(d: Draft, name: string, f: Facts): void {
  const st = f.status;
  if (st.sync !== 'Orphaned') return;
  // A source that could not be read says nothing about what it declares: absence is no deletion.
  const head = f.head;
  if (!head) return;
  if (f.lastPolicy === undefined) {
    d.actions.push({ kind: 'look-up-policy', stack: name });
    return;
  }
  const policy = f.lastPolicy;
  if (!policy || policy.sync !== 'auto' || !policy.prune) {
    d.sayOnce(
      name,
      'orphan',
      'info',
      'notice',
      `${name} is no longer declared in git; left running, since its last policy did not say sync: auto with prune: true`,
      { stack: name, source: st.source },
    );
    return;
  }
  const key = `${head}:removed`;
  const decision = d.book(name, (b) => b.decide(name, key, d.now));
  if (decision.kind === 'wait') d.scheduleRetry(name, decision.ms);
  if (decision.kind !== 'go') return;
  d.run(name, 'auto', key, head, true);
}

function runEnded(d: Draft, e: Extract<DecideEvent, { type: 'run-ended' }>): void {
  const name = e.stack;
  const o = e.outcome;
  switch (o.kind) {
    case 'threw':
      d.log('error', 'run-finished', `${name} (${e.trigger}) could not run: ${o.error}`, { stack: name });
      recordFailure(d, e, o.error, { transient: o.transient, runId: null });
      return;
    case 'locked':
      d.sayOnce(name, `locked:${o.error ?? ''}`, 'info', 'notice', o.error ?? `${name} is locked`, {
        stack: name,
      });
      d.scheduleRetry(name, d.config.lockRetryMs);
      return;
    case 'invalid':
      d.book(name, (b) => b.failed(name, e.key, o.error ?? 'invalid manifest', d.now, { permanent: true }));
      d.log(
        'error',
        'run-finished',
        `run ${o.runId ?? '?'} ${name} @ ${short(e.revision)}: invalid manifest, nothing applied; the running containers stay as they are until a commit fixes it:\n${o.error ?? ''}`,
        { stack: name, ...(o.runId !== null ? { runId: o.runId } : {}) },
      );
      return;
    case 'failed':
      recordFailure(d, e, o.error, { transient: o.transient, runId: o.runId });
      return;
    case 'succeeded': {
      // Make sure it converged, or a run that cannot fix something would repeat forever. Judged by the
      // status as the run left it: a change made by hand since then is new drift, not the run's failure.
      if (o.after && o.target && needsRun(o.after, effectivePolicy(o.target))) {
        recordFailure(
          d,
          e,
          `run ${o.runId ?? '?'} finished, but ${name} still differs from git: ${driftSummary(o.after)}`,
          { transient: false, runId: o.runId, say: true },
        );
        return;
      }
      d.book(name, (b) => {
        b.succeeded(name);
      });
      if (e.revision) d.set(name, { inSyncAt: e.revision });
      return;
    }
  }
}

function recordFailure(
  d: Draft,
  e: Extract<DecideEvent, { type: 'run-ended' }>,
  error: string,
  opts: { transient: boolean; runId: number | null; say?: boolean },
): void {
  const name = e.stack;
  const entry = d.book(name, (b) => b.failed(name, e.key, error, d.now, { transient: opts.transient }));
  const extra = { stack: name, ...(opts.runId !== null ? { runId: opts.runId } : {}) };
  if (entry.gaveUp) {
    d.log(
      'error',
      'gave-up',
      `${name} @ ${short(e.revision)}: giving up after ${entry.attempts} failed ${e.trigger} tries (last: ${error}). The controller tries again on a new commit, after \`mooring sync ${name}\` succeeds, or after \`mooring suspend ${name}\` and \`mooring resume ${name}\`.`,
      extra,
    );
    return;
  }
  const wait = Math.max(0, entry.nextAt - d.now);
  const why = opts.transient
    ? 'the Docker engine is unreachable; retrying when it is back'
    : `try ${entry.attempts} of ${d.config.retry.maxAttempts}`;
  // A run that failed said why in its own line; one that "succeeded" without converging says it here.
  const detail = opts.say ? `: ${error}` : '';
  d.log(
    'warn',
    'retry',
    `${name}: ${e.trigger} run failed (${why})${detail}; next try in ${seconds(wait)}`,
    extra,
  );
  d.scheduleRetry(name, wait);
}
