// The controller: watches desired state (git) and reality (Docker events) and keeps them equal, as
// each stack's policy in mooring.yaml says (DESIGN.md, "Declarative (controller)"; issue 3).
//
// - Reality: the engine's container events. An event recomputes the status of just that stack, so a
//   change made out of band is seen within a second. The stream reconnects with capped backoff when
//   it drops, and everything is looked at again once it is back (events sent meanwhile are lost).
// - Desired: each source is fetched on an interval (with jitter, so many machines polling one server
//   do not fetch in step) and on demand; a local source's refs are watched on disk as well.
// - Action: `sync: auto` applies a new revision once; `selfHeal: true` repairs drift after a short
//   debounce; `prune: true` also removes what git no longer declares, but never every container of
//   a stack that git still has. Every action is a run in history (trigger `auto` or `self-heal`),
//   one run per stack at a time (the stack lock, shared with `mooring sync` in other processes), and
//   a failing (revision, spec) is retried with capped backoff a limited number of times.
//
// It runs headless as `mooring watch` and inside the desktop app; both use this class.
import { createHash, randomUUID } from 'node:crypto';
import type {
  DesiredStack,
  ElsewhereView,
  SourceState,
  StackPolicy,
  StackStatus,
  Trigger,
} from '../../shared/model.ts';
import type { WebhookNotifier } from '../notify/webhook.ts';
import { DockerEventStream } from '../docker/event-stream.ts';
import { hashService, type Elsewhere, type Engine, type LoadedStack, type SyncResult } from '../engine.ts';
import { MooringError, errorMessage } from '../errors.ts';
import type { ControllerLease } from '../history/controller-state.ts';
import { canonicalJson } from '../manifest/spec-hash.ts';
import { DEFAULT_POLL_INTERVAL_SEC } from '../settings.ts';
import { watchRefs, type RefWatcher } from '../source/ref-watcher.ts';
import type { ProgressEvent } from './apply.ts';
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import {
  decide,
  driftSummary,
  prunes,
  seconds,
  short,
  EMPTY_MEMORY,
  type Action,
  type ControllerDriftEvent,
  type ControllerLogEvent,
  type ControllerLogKind,
  type DecideConfig,
  type DecideEvent,
  type Facts,
  type Memory,
  type RunOutcome,
  type Target,
} from './controller-decide.ts';
import { markHeld, pruneHolds } from './prune-guard.ts';
import { DEFAULT_RETRY } from './retry.ts';

export { needsRun } from './controller-decide.ts';
export type { ControllerLogKind, DecideEvent } from './controller-decide.ts';

export interface ControllerOptions {
  /** How often each source is fetched. Default: DEFAULT_POLL_INTERVAL_SEC (settings.ts); at least 5 s. */
  pollIntervalMs?: number;
  /** Spread of the poll interval, as a fraction either way. Default 0.1 (±10 %). */
  pollJitter?: number;
  /** Quiet time after the last engine event before self-heal acts. Default 500 ms. */
  selfHealDebounceMs?: number;
  /** Self-heal acts at the latest this long after drift was first seen, events or not. Default 5 s. */
  selfHealMaxWaitMs?: number;
  /** Failed tries of one (revision, spec) before the controller gives up on it. Default 5. */
  maxAttempts?: number;
  /** Backoff after the first failed run, doubled per failure. Default 5 s. */
  retryBaseMs?: number;
  /** Backoff cap. Default 5 min. */
  retryMaxMs?: number;
  /** Event stream reconnect backoff: first delay and cap. Default 250 ms and 10 s. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Events of one stack that arrive within this window cost one status refresh. Default 25 ms. */
  eventSettleMs?: number;
  /**
   * A full status look at every stack, in case an engine event was missed (a reconnect of the event
   * stream and a new commit each do one anyway). Default 5 min, or the poll interval if longer: with
   * 500 services it is most of what an idle controller costs (docs/benchmarks.md).
   */
  resyncIntervalMs?: number;
  /**
   * How often the home folder's database is checked for what other processes changed there
   * (`mooring suspend`, `mooring fetch`, new sources). Default 1 s.
   */
  homeCheckMs?: number;
  /** Wait before trying again when another process holds a stack's lock. Default 2 s. */
  lockRetryMs?: number;
  /** Watch local sources' refs on disk. Default true. */
  watchLocalSources?: boolean;
  /**
   * How often an http source's remote is asked whether its branch moved (one small request, no
   * objects; a fetch follows only when it did), jittered like the poll and backed off on errors up to
   * the poll interval. Default 5 s; 0: only the poll.
   */
  refCheckMs?: number;
  /**
   * False: the sources are fetched by another controller of this process (that of the engine in use,
   * for the controllers of other engines), which tells this one through `sourcesFetched()`, so that one
   * repo is fetched once however many engines it goes to. A fetch asked for (`fetchNow`) still is done.
   * Default true.
   */
  fetches?: boolean;
  clock?: Clock;
}

export type ControllerEvent =
  /** The stacks whose status changed (full objects); `removed`: stacks that no longer exist anywhere. */
  | { type: 'status'; stacks: StackStatus[]; removed?: string[] }
  /** After each fetch attempt, and when another process fetched. */
  | { type: 'source'; source: SourceState }
  | { type: 'engine'; reachable: boolean; endpoint: string; error: string | null }
  /** Live per-action progress of the controller's own runs. */
  | { type: 'progress'; event: ProgressEvent }
  /**
   * `decide` was given `event` and chose to do nothing at all (no run, timer, look-up or log line):
   * proof that the controller saw it and let it be, for a test to wait on instead of a sleep.
   */
  | { type: 'no-action'; scope: string; event: DecideEvent }
  /** A stack's timer was set or cleared: what the controller will do by itself changed (`pending`). */
  | { type: 'pending'; stack: string }
  | ControllerDriftEvent
  | ControllerLogEvent;

export interface ControllerSnapshot {
  stacks: StackStatus[];
  sources: SourceState[];
  engine: { reachable: boolean; endpoint: string; error: string | null };
  running: boolean;
  /** The stacks mooring.yaml sends to other engines than the one the controller drives. */
  elsewhere: ElsewhereView[];
}

/** Default interval of the safety-net full look at every stack. */
const RESYNC_MS = 5 * 60_000;
const MIN_POLL_MS = 5_000;
/** Default interval of the ref check of http sources (issue 14: a pushed commit running in seconds). */
const REF_CHECK_MS = 5_000;
/** Ref checks to one host, whatever the number of its sources: at most one in this time. */
const HOST_GAP_MS = 1_000;

interface StackState {
  /** A refresh of this stack is running; `again`: another was asked for meanwhile. */
  refreshing: Promise<void> | null;
  again: boolean;
  settle: TimerHandle | null;
  /** The stack's one decision timer (a self-heal due, a retry): `decide` says when. */
  wake: TimerHandle | null;
  /** The controller's run on this stack, from decision to bookkeeping. */
  run: Promise<void> | null;
  /**
   * Our run is applying (from the decision to its last action). After that, until `run` ends, only
   * housekeeping is left (the deploy note, the convergence check): a change seen then is new drift.
   */
  applying: boolean;
  /** The id of our latest run, once it has one: what resolved the drift it repaired. */
  runId: number | null;
  /** Sequence number of the newest status applied: an older, slower look never overwrites a newer one. */
  seq: number;
  /** Whether it differed from git when last judged (not while a run applied), and at which revision. */
  drifting: boolean;
  judgedAt: string | null;
}

/** What one attempt is about, besides the revision: the spec and whether it prunes. */
export function specFingerprint(desired: DesiredStack, prune: boolean): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        services: desired.services.map((s) => hashService(s)),
        networks: desired.networks,
        volumes: desired.volumes,
        prune,
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

/** Runs `fn` one at a time; callers that arrive while one is waiting to start share it. */
class Serial {
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;

  constructor(private readonly fn: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.chain.then(() => {
      this.queued = null;
      return this.fn();
    });
    this.queued = next;
    this.chain = next.catch(() => undefined);
    return next;
  }

  idle(): Promise<void> {
    return this.chain;
  }
}

export class Controller {
  private readonly clock: Clock;
  private readonly pollMs: number;
  private readonly refCheckMs: number;
  private readonly fetches: boolean;
  private readonly jitter: number;
  private readonly decideConfig: DecideConfig;
  /** Where the retry entries live: the database, so that the limit holds across restarts. */
  /** What `decide` remembers between events (the retry entries excepted: those are in `retries`). */
  private memory: Memory = new Map();
  /** Spec fingerprints, once per loaded stack: hashing every service on every event would cost. */
  private readonly fingerprints = new WeakMap<LoadedStack, string>();
  private readonly events: DockerEventStream;
  private readonly token = randomUUID();
  /** The lease on the home for the engine the controller started on. */
  private lease: ControllerLease | null = null;
  private readonly listeners = new Set<(e: ControllerEvent) => void>();
  /** Tells the home's webhook, if one is set, about drift, failed runs and heals. */
  private readonly notifier: WebhookNotifier;

  private started = false;
  private stopping = false;
  private abort = new AbortController();

  /** Stacks as read from git at each source's head (or the last head that could be read). */
  private loaded: LoadedStack[] = [];
  /** The stacks of the last read of git that go to other engines. */
  private elsewhere: Elsewhere[] = [];
  /** Per source: the commit `loaded` was read at, or null when the source could not be read. */
  private heads = new Map<string, string | null>();
  private sources = new Map<string, SourceState>();
  private readonly statuses = new Map<string, StackStatus>();
  private readonly stacks = new Map<string, StackState>();
  private suspended = new Set<string>();
  /** The last policy of stacks deleted in git, by `source/stack@head`. */
  private readonly lastPolicies = new Map<string, StackPolicy | null>();
  private readonly lookingUpPolicy = new Set<string>();
  private engineState: { reachable: boolean; error: string | null } = { reachable: true, error: null };
  private seq = 0;
  /** Bumped by stop(): work started before it must not act after it. */
  private generation = 0;

  private readonly polls = new Map<string, TimerHandle>();
  private readonly refChecks = new Map<string, TimerHandle>();
  /** Per source: the ref check's delay after failures (absent: not failing). */
  private readonly refBackoff = new Map<string, number>();
  /** Per host: when the next ref check to it may be made. */
  private readonly hostFree = new Map<string, number>();
  private readonly fetching = new Map<string, Promise<void>>();
  private readonly watchers = new Map<string, RefWatcher>();
  private readonly runs = new Set<Promise<void>>();
  private homeTimer: TimerHandle | null = null;
  private resyncTimer: TimerHandle | null = null;
  private dataVersion = 0;

  private readonly resync: Serial;
  private pendingReload = false;
  private pendingResolution: ((st: StackStatus) => string) | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly options: ControllerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.pollMs = Math.max(MIN_POLL_MS, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_SEC * 1000);
    this.jitter = Math.min(0.5, Math.max(0, options.pollJitter ?? 0.1));
    this.refCheckMs = Math.max(0, options.refCheckMs ?? REF_CHECK_MS);
    this.fetches = options.fetches ?? true;
    this.decideConfig = {
      selfHealDebounceMs: options.selfHealDebounceMs ?? 500,
      selfHealMaxWaitMs: options.selfHealMaxWaitMs ?? 5_000,
      retry: {
        maxAttempts: options.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
        baseDelayMs: options.retryBaseMs ?? DEFAULT_RETRY.baseDelayMs,
        maxDelayMs: options.retryMaxMs ?? DEFAULT_RETRY.maxDelayMs,
      },
      lockRetryMs: options.lockRetryMs ?? 2_000,
    };
    this.events = new DockerEventStream(
      () => this.engine.docker,
      {
        onEvent: (e) => {
          this.onEngineEvent(e.project);
        },
        onConnected: () => {
          this.engineUp();
        },
        onDisconnected: (error) => {
          this.engineDown(error);
        },
      },
      {
        clock: this.clock,
        minDelayMs: options.reconnectMinMs ?? 250,
        maxDelayMs: options.reconnectMaxMs ?? 10_000,
      },
    );
    this.resync = new Serial(() => this.doResync());
    this.notifier = engine.notify.notifier();
    this.listeners.add((e) => {
      if (e.type === 'drift' || e.type === 'log') this.notifier.observe(e);
    });
  }

  // ── public API ─────────────────────────────────────────────────────────────────────────────────

  /** Starts watching. Throws MooringError('conflict') when another controller holds this home folder. */
  async start(): Promise<void> {
    if (this.started) return;
    this.lease = this.engine.records.lease;
    const lease = this.lease.acquire(this.token);
    if (!lease.ok) {
      throw new MooringError(
        'conflict',
        `Another controller is already watching ${this.engine.home} on engine ${this.engine.engineName}: pid ${lease.pid} on ${lease.host}, since ${lease.since}. Only one may run per home folder and engine — stop that one first (Ctrl-C in its \`mooring watch\`, or quit the desktop app), or use another --home.`,
      );
    }
    this.started = true;
    this.stopping = false;
    this.abort = new AbortController();
    // Runs left `running` by a controller that was killed: say so before deciding anything.
    this.engine.history.markInterrupted();
    this.dataVersion = this.engine.history.dataVersion();
    this.suspended = new Set(this.engine.listSuspended().keys());
    this.sources = new Map(this.engine.listSources().map((s) => [s.name, s]));
    this.log(
      'info',
      'start',
      `watching ${this.sources.size} source(s) and the Docker engine at ${this.engine.docker.endpoint}; ${
        this.fetches
          ? `fetching every ${seconds(this.pollMs)}${this.refCheckMs > 0 ? `, and asking http remotes every ${seconds(this.refCheckMs)} whether their branch moved` : ''}`
          : 'the sources fetched by the controller of the engine in use'
      }`,
    );
    this.events.start();
    await this.requestResync({ reload: true });
    for (const name of this.sources.keys()) this.watchSource(name, 0);
    this.scheduleHomeCheck();
    this.scheduleResync();
  }

  /**
   * Stops watching. A run in progress is told to stop at its next safe point (the actions in flight
   * finish, the rest is skipped and the run is recorded as interrupted); this waits for that.
   */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    if (this.runs.size > 0)
      this.log('info', 'stop', `stopping: waiting for ${this.runs.size} run(s) to reach a safe point`);
    this.events.stop();
    for (const t of this.polls.values()) t.cancel();
    this.polls.clear();
    for (const t of this.refChecks.values()) t.cancel();
    this.refChecks.clear();
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.homeTimer?.cancel();
    this.resyncTimer?.cancel();
    for (const s of this.stacks.values()) {
      s.settle?.cancel();
      s.wake?.cancel();
      s.settle = null;
      s.wake = null;
    }
    // Timers cancelled above: what they were waiting for is forgotten too, as a fresh start would.
    this.memory = new Map([...this.memory].map(([k, m]) => [k, { ...m, heal: null, wake: null }]));
    this.abort.abort();
    await Promise.allSettled([...this.runs]);
    await this.resync.idle();
    await Promise.allSettled([...this.stacks.values()].flatMap((s) => (s.refreshing ? [s.refreshing] : [])));
    // Notices already on their way get a moment; a receiver that hangs does not hold the stop.
    await Promise.race([this.notifier.idle(), new Promise((r) => setTimeout(r, 3_000).unref())]);
    try {
      this.lease?.release(this.token);
    } catch {
      // The database was closed under us: the lease dies with the process, and the next start takes it over.
    }
    this.started = false;
    this.stopping = false;
    this.generation++;
    this.log('info', 'stop', 'stopped');
  }

  subscribe(listener: (e: ControllerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  snapshot(): ControllerSnapshot {
    // Copies: whether a deleted stack's prune is held depends on every stack of its source, so it is
    // marked here, on the whole picture, rather than kept on each cached status.
    const stacks = [...this.statuses.values()].map((s) => this.withPending({ ...s }));
    markHeld(stacks, this.engine.settings.pruneConfirmShare ?? 1);
    return {
      stacks: stacks.sort((a, b) => a.name.localeCompare(b.name)),
      sources: this.engine.listSources(),
      engine: { ...this.engineState, endpoint: this.engine.docker.endpoint },
      running: this.started && !this.stopping,
      elsewhere: this.engine.elsewhere(this.elsewhere),
    };
  }

  /** The stack's status with what the controller will do by itself, and when (its timer). */
  private withPending(st: StackStatus): StackStatus {
    const m = this.memory.get(st.name);
    if (!m?.wake) return st;
    const at = new Date(m.wake.at).toISOString();
    st.pending =
      m.wake.why === 'heal'
        ? { what: 'self-heal', at }
        : {
            what: 'retry',
            at,
            ...(m.retry ? { attempt: m.retry.attempts + 1, of: this.decideConfig.retry.maxAttempts } : {}),
          };
    return st;
  }

  /**
   * Another controller of this process fetched (see `fetches`): the sources are read again, and what
   * is new is acted on, as after a fetch of another process.
   */
  sourcesFetched(): void {
    if (this.started && !this.stopping) this.checkSources();
  }

  /** Fetches one source (or all) now, and acts on what is new. Throws only for an unknown source name. */
  async fetchNow(source?: string): Promise<void> {
    const names = source ? [source] : this.engine.listSources().map((s) => s.name);
    if (source && !this.engine.listSources().some((s) => s.name === source)) {
      await this.engine.fetch(source); // throws the engine's not-found error, which names the known sources
    }
    await Promise.all(names.map((n) => this.fetchSource(n, { fresh: true })));
  }

  /** Looks again at one stack (or, without a name, re-reads git and looks at everything). */
  async refresh(stack?: string): Promise<void> {
    this.checkSuspensions();
    if (stack) {
      await this.refreshStack(stack, () => 'no longer drifting (seen by the controller)');
      return;
    }
    this.checkSources();
    await this.requestResync({ reload: true });
  }

  // ── desired state ─────────────────────────────────────────────────────────────────────────────

  private requestResync(opts: { reload: boolean; resolution?: (st: StackStatus) => string }): Promise<void> {
    if (opts.reload) this.pendingReload = true;
    if (opts.resolution) this.pendingResolution = opts.resolution;
    return this.resync.run();
  }

  private async doResync(): Promise<void> {
    const reload = this.pendingReload;
    const resolution =
      this.pendingResolution ?? ((): string => 'no longer drifting (seen by the controller)');
    this.pendingReload = false;
    this.pendingResolution = null;
    try {
      if (reload) await this.reloadDesired();
      await this.refreshAll(resolution);
    } catch (err) {
      this.log('error', 'error', `could not look at the stacks: ${errorMessage(err)}`);
    }
  }

  /** Reads every source's stacks at its head. A source that cannot be read keeps its last stacks. */
  private async reloadDesired(): Promise<void> {
    const sources = this.engine.listSources();
    const heads = new Map<string, string | null>();
    for (const s of sources) {
      heads.set(
        s.name,
        await this.engine
          .gitSource(s)
          .resolve()
          .catch(() => null),
      );
    }
    // A source that cannot be read (its path gone at the new head, say) does not stop the others;
    // the stacks last read from it are still enforced.
    const elsewhere: Elsewhere[] = [];
    const { loaded, unreadable } = await this.engine.loadEachSource({ elsewhere });
    this.elsewhere = elsewhere;
    for (const [name, error] of unreadable) {
      heads.set(name, null);
      loaded.push(...this.loaded.filter((x) => x.source === name));
      this.decideOn(`source:${name}`, { type: 'unreadable', source: name, error });
    }
    this.loaded = loaded;
    this.heads = heads;
  }

  // ── reality ───────────────────────────────────────────────────────────────────────────────────

  private stackState(name: string): StackState {
    let s = this.stacks.get(name);
    if (!s) {
      s = {
        refreshing: null,
        again: false,
        settle: null,
        wake: null,
        run: null,
        applying: false,
        runId: null,
        seq: 0,
        drifting: false,
        judgedAt: null,
      };
      this.stacks.set(name, s);
    }
    return s;
  }

  private async refreshAll(resolution: (st: StackStatus) => string): Promise<void> {
    const seq = ++this.seq;
    const { statuses, reachable, error } = await this.engine.statusOfLoaded(this.loaded, {
      orphans: true,
      elsewhere: this.elsewhere,
    });
    if (!reachable) this.engineDown(error ?? 'unreachable');
    else if (!this.engineState.reachable) this.events.reconnect();
    const changed: StackStatus[] = [];
    const seen = new Set<string>();
    for (const st of statuses) {
      seen.add(st.name);
      if (this.applyStatus(st, seq, resolution(st))) changed.push(st);
    }
    // Stacks that are gone everywhere (not declared, no container left). Without the engine, orphans
    // cannot be told from gone ones: keep them until it is back.
    const removed = reachable
      ? [...this.statuses.keys()].filter((n) => !seen.has(n) && !this.stackState(n).run)
      : [];
    for (const n of removed) this.statuses.delete(n);
    if (changed.length > 0 || removed.length > 0) {
      this.emit({ type: 'status', stacks: changed, ...(removed.length ? { removed } : {}) });
    }
    for (const st of statuses) this.evaluate(st.name);
  }

  /** One stack's status, serialized per stack; a request while one runs makes it run once more. */
  private refreshStack(name: string, resolution: (st: StackStatus) => string): Promise<void> {
    const state = this.stackState(name);
    if (state.refreshing) {
      state.again = true;
      return state.refreshing;
    }
    const run = async (): Promise<void> => {
      do {
        state.again = false;
        await this.refreshOnce(name, resolution).catch((err: unknown) => {
          this.log('error', 'error', `could not look at ${name}: ${errorMessage(err)}`, { stack: name });
        });
      } while (state.again && this.started && !this.stopping);
    };
    state.refreshing = run().finally(() => {
      state.refreshing = null;
    });
    return state.refreshing;
  }

  private async refreshOnce(name: string, resolution: (st: StackStatus) => string): Promise<void> {
    const seq = ++this.seq;
    const { statuses, reachable, error } = await this.engine.statusOfLoaded(this.loaded, {
      project: name,
      orphans: true,
      elsewhere: this.elsewhere,
    });
    if (!reachable) {
      this.engineDown(error ?? 'unreachable');
      return;
    }
    const st = statuses.find((s) => s.name === name);
    if (!st) {
      if (this.statuses.delete(name)) this.emit({ type: 'status', stacks: [], removed: [name] });
      return;
    }
    if (this.applyStatus(st, seq, resolution(st))) this.emit({ type: 'status', stacks: [st] });
    this.evaluate(name);
  }

  /** Takes a new status into the cache and history; returns whether it differs from the last one. */
  private applyStatus(st: StackStatus, seq: number, resolution: string): boolean {
    const state = this.stackState(st.name);
    if (seq < state.seq) return false;
    state.seq = seq;
    const prev = this.statuses.get(st.name);
    this.statuses.set(st.name, st);
    // While a run is applying (the controller's, one the app asked this process for, or a `mooring sync`
    // elsewhere), containers pass through states that are no drift: the run records the drift it
    // resolves when it ends. (A run of the app's held the lock as `ours` and was not counted: its
    // looks overwrote a drift's fields with the recreate's passing `containers`.)
    const holder = this.engine.records.locks.holder(st.source, st.name);
    const busy = state.applying || holder !== undefined;
    if (!busy && st.sync !== 'Unknown') {
      // Just after our run applied, what is no longer drifting was its doing.
      const why = state.run && state.runId !== null ? `run ${state.runId}` : resolution;
      try {
        this.engine.recordDrift([st], why);
      } catch (err) {
        this.log('error', 'error', `could not record drift of ${st.name}: ${errorMessage(err)}`, {
          stack: st.name,
        });
      }
    }
    const drifting =
      st.sync === 'OutOfSync' ||
      st.sync === 'Orphaned' ||
      (st.sync === 'Missing' &&
        this.engine.history.runs.lastDeployedRevision(st.name, this.engine.engineName) !== null);
    if (!busy && st.sync !== 'Unknown') {
      if (drifting && !state.drifting) {
        // A new revision that differs from what runs is no out-of-band change: say which it is.
        const newRevision = state.judgedAt !== null && state.judgedAt !== st.revision;
        const what = newRevision
          ? `${st.name} @ ${short(st.revision)}: the new revision differs from what runs: ${driftSummary(st)}`
          : `drift ${st.name}: ${driftSummary(st)}`;
        this.log('warn', 'drift', `${what}${st.suspended ? ' (suspended: left alone)' : ''}`, {
          stack: st.name,
        });
        if (!newRevision)
          this.emit({ type: 'drift', status: st, at: new Date(this.clock.now()).toISOString() });
      } else if (!drifting && state.drifting && st.sync === 'Synced') {
        this.log('info', 'in-sync', `${st.name} is in sync at ${short(st.revision)}`, { stack: st.name });
      }
      state.drifting = drifting;
      state.judgedAt = st.revision;
    }
    return JSON.stringify(prev) !== JSON.stringify(st);
  }

  private onEngineEvent(project: string): void {
    if (!this.started || this.stopping) return;
    const state = this.stackState(project);
    // The first event of a burst starts a short window; the rest of the burst (kill, die, stop…) rides along.
    if (state.settle) return;
    state.settle = this.clock.after(this.options.eventSettleMs ?? 25, () => {
      state.settle = null;
      void this.refreshStack(project, () => 'no longer drifting (seen by the controller)');
    });
  }

  private engineUp(): void {
    if (!this.started || this.stopping) return;
    const wasDown = !this.engineState.reachable;
    this.engineState = { reachable: true, error: null };
    if (wasDown) {
      this.emit({ type: 'engine', reachable: true, endpoint: this.engine.docker.endpoint, error: null });
      this.log(
        'info',
        'engine',
        `Docker engine at ${this.engine.docker.endpoint} is back: looking at every stack again`,
      );
    }
    for (const stack of this.stacks.keys()) this.decideOn(stack, { type: 'engine-back', stack });
    void this.requestResync({ reload: false });
  }

  private engineDown(error: string): void {
    if (!this.engineState.reachable && this.engineState.error !== null) return;
    this.engineState = { reachable: false, error };
    if (!this.started || this.stopping) return;
    this.emit({ type: 'engine', reachable: false, endpoint: this.engine.docker.endpoint, error });
    this.log(
      'warn',
      'engine',
      `Docker engine at ${this.engine.docker.endpoint} is unreachable (${error}); reconnecting`,
    );
    // Statuses become Unknown; a full look when it is back.
    void this.requestResync({ reload: false });
  }

  /** Does the engine answer? Tells a failure that was its absence from one of the run itself. */
  private async engineAnswers(): Promise<boolean> {
    try {
      await this.engine.docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  // ── deciding ──────────────────────────────────────────────────────────────────────────────────

  /** Feeds one event to `decide` and carries out what it says. */
  private decideOn(scope: string, event: DecideEvent): void {
    // The database holds the retry entries (`mooring sync` clears one from another process): read it fresh.
    const retry = this.engine.records.retries.get(scope);
    const input = new Map(this.memory).set(scope, { ...(this.memory.get(scope) ?? EMPTY_MEMORY), retry });
    const out = decide(input, event, this.clock.now(), this.decideConfig);
    this.memory = out.memory;
    const after = out.memory.get(scope)?.retry;
    if (after !== retry) {
      if (after) this.engine.records.retries.set(scope, after);
      else this.engine.records.retries.delete(scope);
    }
    if (out.actions.length === 0) this.emit({ type: 'no-action', scope, event });
    for (const action of out.actions) this.act(action);
  }

  private act(a: Action): void {
    switch (a.kind) {
      case 'log': {
        const extra = {
          ...(a.stack !== undefined ? { stack: a.stack } : {}),
          ...(a.source !== undefined ? { source: a.source } : {}),
          ...(a.runId !== undefined ? { runId: a.runId } : {}),
        };
        this.log(a.level, a.logKind, a.message, extra);
        return;
      }
      case 'wake': {
        const state = this.stackState(a.stack);
        state.wake?.cancel();
        state.wake = null;
        this.emit({ type: 'pending', stack: a.stack });
        if (a.at === null) return;
        state.wake = this.clock.after(a.at - this.clock.now(), () => {
          state.wake = null;
          this.evaluate(a.stack, 'wake');
        });
        return;
      }
      case 'look-up-policy':
        this.lookUpPolicy(a.stack);
        return;
      case 'run': {
        if (a.removed) {
          const st = this.statuses.get(a.stack);
          if (st)
            this.startRun(
              { source: st.source, name: a.stack, revision: a.revision, removed: true },
              a.trigger,
              a.key,
            );
          return;
        }
        const loaded = this.loaded.find((s) => s.name === a.stack);
        if (loaded) this.startRun(loaded, a.trigger, a.key);
        return;
      }
    }
  }

  /** Looks at one stack and lets `decide` act on it; `wake`: its timer fired. */
  private evaluate(name: string, type: 'look' | 'wake' = 'look'): void {
    if (!this.started || this.stopping) return;
    const facts = this.factsOf(name);
    if (facts) this.decideOn(name, { type, stack: name, facts });
  }

  private factsOf(name: string): Facts | null {
    const st = this.statuses.get(name);
    if (!st) return null;
    const loaded = this.loaded.find((s) => s.name === name);
    const head = this.heads.get(st.source) ?? null;
    const facts: Facts = {
      status: st,
      suspended: st.suspended || this.suspended.has(name),
      running: this.stackState(name).run !== null,
      engineReachable: this.engineState.reachable,
      hold: pruneHolds([...this.statuses.values()], this.engine.settings.pruneConfirmShare ?? 1).find(
        (h) => h.source === st.source,
      ),
      head,
      target: loaded ? this.targetOf(loaded) : null,
      deployedRevision: null,
    };
    // Read only where it can matter, as before: a query per event adds up with many stacks.
    if (!facts.suspended && !facts.running && facts.engineReachable && !facts.hold) {
      if (loaded)
        facts.deployedRevision = this.engine.history.runs.lastDeployedRevision(name, this.engine.engineName);
      else if (head && this.lastPolicies.has(`${st.source}/${name}@${head}`))
        facts.lastPolicy = this.lastPolicies.get(`${st.source}/${name}@${head}`) ?? null;
    }
    return facts;
  }

  private targetOf(loaded: LoadedStack): Target {
    const services = loaded.desired?.services.length ?? 0;
    let fingerprint = this.fingerprints.get(loaded);
    if (fingerprint === undefined) {
      fingerprint = loaded.desired
        ? specFingerprint(loaded.desired, loaded.policy.prune && services > 0)
        : 'invalid';
      this.fingerprints.set(loaded, fingerprint);
    }
    return {
      revision: loaded.revision,
      policy: loaded.policy,
      valid: loaded.desired !== null,
      services,
      fingerprint,
    };
  }

  /** The last policy git declared for a stack it deleted: the prune of a deleted stack follows it. */
  private lookUpPolicy(name: string): void {
    const st = this.statuses.get(name);
    const head = st ? this.heads.get(st.source) : null;
    if (!st || !head) return;
    const id = `${st.source}/${name}@${head}`;
    if (this.lastPolicies.has(id) || this.lookingUpPolicy.has(id)) return;
    this.lookingUpPolicy.add(id);
    void this.engine
      .lastPolicyOf(st.source, name)
      .then(
        (found) => {
          this.lastPolicies.set(id, found?.policy ?? null);
        },
        () => {
          this.lastPolicies.set(id, null);
        },
      )
      .finally(() => {
        this.lookingUpPolicy.delete(id);
        this.evaluate(name);
      });
  }

  // ── acting ────────────────────────────────────────────────────────────────────────────────────

  private startRun(
    target: LoadedStack | { source: string; name: string; revision: string; removed: true },
    trigger: Trigger,
    key: string,
  ): void {
    const name = target.name;
    const state = this.stackState(name);
    const started = this.clock.now();
    state.applying = true;
    state.runId = null;
    const onProgress = (e: ProgressEvent): void => {
      if (e.type === 'run-started') state.runId = e.runId;
      if (e.type === 'run-finished') state.applying = false;
      this.onProgress(e, trigger, started);
    };
    const options = {
      trigger,
      onProgress,
      signal: this.abort.signal,
      owner: `the controller (${trigger})`,
    };
    const run = (async (): Promise<void> => {
      let result: SyncResult | null = null;
      let thrown: unknown = null;
      try {
        if ('removed' in target) {
          result = await this.engine.pruneRemovedStack(
            { source: target.source, stack: name, revision: target.revision },
            options,
          );
        } else {
          result = await this.engine.syncStack(target, { ...options, prune: prunes(this.targetOf(target)) });
        }
      } catch (err) {
        thrown = err;
      }
      // No run-finished when nothing was applied (invalid, locked, a plan that could not be made).
      state.applying = false;
      const outcome = await this.outcomeOf(name, result, thrown);
      if (outcome)
        this.decideOn(name, {
          type: 'run-ended',
          stack: name,
          trigger,
          key,
          revision: target.revision,
          outcome,
        });
    })();
    state.run = run;
    this.runs.add(run);
    void run.finally(() => {
      state.run = null;
      state.applying = false;
      this.runs.delete(run);
      this.evaluate(name);
    });
  }

  /** What a run came to, for `decide`; null when there is nothing to decide (stopped, no result). */
  private async outcomeOf(
    name: string,
    result: SyncResult | null,
    thrown: unknown,
  ): Promise<RunOutcome | null> {
    if (this.stopping && (result?.interrupted || thrown)) return null;
    // Does the engine answer? Tells a failure that was its absence from one of the run itself.
    const transient = async (error: string): Promise<boolean> => {
      const gone = !(await this.engineAnswers());
      if (gone) this.engineDown(error);
      return gone;
    };
    if (thrown) {
      const error = errorMessage(thrown);
      return { kind: 'threw', error, transient: await transient(error) };
    }
    if (!result) return null;
    switch (result.result) {
      case 'locked':
        return { kind: 'locked', error: result.error };
      case 'invalid':
        return { kind: 'invalid', error: result.error, runId: result.runId };
      case 'failed': {
        const error = result.error ?? 'failed';
        return { kind: 'failed', error, runId: result.runId, transient: await transient(error) };
      }
      default:
        break;
    }
    // Judged by the status as the run left it (see `decide`); the cache is brought up to date meanwhile.
    await this.refreshOnce(name, () => `run ${result.runId ?? '?'}`).catch(() => undefined);
    const loaded = this.loaded.find((s) => s.name === name);
    return {
      kind: 'succeeded',
      runId: result.runId,
      after: result.after ?? this.statuses.get(name),
      target: loaded ? this.targetOf(loaded) : null,
    };
  }

  private onProgress(e: ProgressEvent, trigger: Trigger, started: number): void {
    this.emit({ type: 'progress', event: e });
    if (e.type === 'run-started') {
      const what = e.actions.map((a) => `${a.kind} ${a.target}`).join(', ') || 'nothing to do';
      this.log(
        'info',
        'run-started',
        `run ${e.runId} ${e.stack} (${trigger}) @ ${short(e.revision)}: ${what}`,
        { stack: e.stack, runId: e.runId, trigger },
      );
    } else if (e.type === 'run-finished') {
      const took = seconds(this.clock.now() - started);
      const level = e.result === 'succeeded' ? 'info' : e.result === 'interrupted' ? 'warn' : 'error';
      this.log(
        level,
        'run-finished',
        `run ${e.runId} ${e.stack} ${e.result} in ${took}${e.error ? `: ${e.error}` : ''}`,
        { stack: e.stack, runId: e.runId, trigger },
      );
    }
  }

  // ── sources ───────────────────────────────────────────────────────────────────────────────────

  private pollDelay(): number {
    return this.jittered(this.pollMs);
  }

  private jittered(ms: number): number {
    return Math.round(ms * (1 + this.jitter * (2 * Math.random() - 1)));
  }

  /** Starts polling (first fetch after `firstMs`) and, for a local source, watching its refs. */
  private watchSource(name: string, firstMs: number): void {
    if (!this.fetches) return;
    this.schedulePoll(name, firstMs);
    const s = this.sources.get(name);
    if (s?.kind === 'http' && this.refCheckMs > 0 && !this.refChecks.has(name)) {
      this.scheduleRefCheck(name, this.jittered(this.refCheckMs));
    }
    if (s?.kind === 'local' && (this.options.watchLocalSources ?? true) && !this.watchers.has(name)) {
      this.watchers.set(
        name,
        watchRefs(this.engine.gitSource(s).gitdir, () => {
          void this.fetchSource(name);
        }),
      );
    }
  }

  private unwatchSource(name: string): void {
    this.polls.get(name)?.cancel();
    this.polls.delete(name);
    this.refChecks.get(name)?.cancel();
    this.refChecks.delete(name);
    this.refBackoff.delete(name);
    this.watchers.get(name)?.close();
    this.watchers.delete(name);
  }

  /** Sets `name`'s timer in `timers` to `fn` after `ms`, cancelling the one it had. */
  private setTimer(timers: Map<string, TimerHandle>, name: string, ms: number, fn: () => void): void {
    timers.get(name)?.cancel();
    timers.set(name, this.clock.after(ms, fn));
  }

  private schedulePoll(name: string, ms: number): void {
    this.setTimer(this.polls, name, ms, () => {
      void this.fetchSource(name);
    });
  }

  private scheduleRefCheck(name: string, ms: number): void {
    this.setTimer(this.refChecks, name, ms, () => {
      void this.checkRef(name);
    });
  }

  /**
   * Asks an http source's remote whether its branch moved, and fetches when it did: a pushed commit is
   * seen in seconds, where the poll would take up to its interval. A failed check is left to the poll
   * to report (it says why in its own words); it only makes the checks slower, up to the poll interval.
   */
  private async checkRef(name: string): Promise<void> {
    const s = this.sources.get(name);
    if (!s || s.kind !== 'http' || !this.started || this.stopping) return;
    const generation = this.generation;
    const host = hostOf(s.url);
    const now = this.clock.now();
    const free = this.hostFree.get(host) ?? 0;
    if (free > now) {
      this.scheduleRefCheck(name, free - now);
      return;
    }
    this.hostFree.set(host, now + HOST_GAP_MS);
    let next = this.refCheckMs;
    // A fetch under way answers the question already.
    if (!this.fetching.has(name)) {
      try {
        if (await this.engine.gitSource(s).remoteMoved()) await this.fetchSource(name);
        this.refBackoff.delete(name);
      } catch {
        next = Math.min(this.pollMs, (this.refBackoff.get(name) ?? this.refCheckMs) * 2);
        this.refBackoff.set(name, next);
      }
    }
    if (generation !== this.generation || !this.started || this.stopping || !this.sources.has(name)) return;
    this.scheduleRefCheck(name, this.jittered(next));
  }

  /** One fetch per source at a time; callers during one share it. */
  private fetchSource(name: string, opts: { fresh?: boolean } = {}): Promise<void> {
    const inflight = this.fetching.get(name);
    // A fetch asked for now must start now: one already under way may predate what the caller knows
    // (a push just made, a server just stopped).
    if (inflight) return opts.fresh ? inflight.then(() => this.fetchSource(name)) : inflight;
    const p = this.doFetch(name)
      .catch((err: unknown) => {
        // After stop() the engine may be closed under a fetch still in flight: nothing to report then.
        if (this.started && !this.stopping) {
          this.log('error', 'error', `fetch ${name}: ${errorMessage(err)}`, { source: name });
        }
      })
      .finally(() => {
        this.fetching.delete(name);
        if (this.fetches && this.started && !this.stopping && this.sources.has(name)) {
          this.schedulePoll(name, this.pollDelay());
        }
      });
    this.fetching.set(name, p);
    return p;
  }

  private async doFetch(name: string): Promise<void> {
    const generation = this.generation;
    const before = this.engine.history.sources.get(name);
    let error: string | null;
    let head: string | null = null;
    let newCommits = 0;
    try {
      const [r] = await this.engine.fetch(name);
      error = r?.error ?? null;
      head = r?.head ?? null;
      newCommits = r?.newCommits ?? 0;
    } catch (err) {
      error = errorMessage(err);
    }
    // Stopped meanwhile (the caller may have closed the engine already): the result is nobody's now.
    if (this.stopping || generation !== this.generation) return;
    const after = this.engine.history.sources.get(name);
    if (!after) return; // removed meanwhile
    this.sources.set(name, after);
    this.emit({ type: 'source', source: after });
    if (error) {
      const since = after.failingSince ? ` (unreachable since ${after.failingSince})` : '';
      this.log('warn', 'fetch', `fetch ${name} failed${since}: ${error}`, { source: name });
    } else {
      this.log(
        'info',
        'fetch',
        `fetch ${name}: ${short(head)}${newCommits > 0 ? `, ${newCommits} new commit(s)` : ''}`,
        { source: name, ...(newCommits === 0 ? { routine: true } : {}) },
      );
    }
    const loadedAt = this.heads.get(name) ?? null;
    const headChanged = head !== null && head !== loadedAt;
    const reachabilityChanged = (before?.lastError ?? null) !== (after.lastError ?? null);
    if (headChanged || reachabilityChanged) {
      await this.requestResync({
        reload: true,
        resolution: (st) =>
          headChanged && st.source === name
            ? `desired state changed (revision ${short(st.revision)})`
            : 'no longer drifting (seen by the controller)',
      });
    }
  }

  // ── what other processes changed in the home folder ───────────────────────────────────────────

  private scheduleHomeCheck(): void {
    this.homeTimer = this.clock.after(this.options.homeCheckMs ?? 1_000, () => {
      if (!this.started || this.stopping) return;
      try {
        const v = this.engine.history.dataVersion();
        if (v !== this.dataVersion) {
          this.dataVersion = v;
          this.checkSuspensions();
          this.checkSources();
        }
      } catch (err) {
        this.log('error', 'error', `could not read the home folder's database: ${errorMessage(err)}`);
      }
      this.scheduleHomeCheck();
    });
  }

  private scheduleResync(): void {
    this.resyncTimer = this.clock.after(
      this.options.resyncIntervalMs ?? Math.max(this.pollMs, RESYNC_MS),
      () => {
        if (!this.started || this.stopping) return;
        void this.requestResync({ reload: false }).finally(() => {
          this.scheduleResync();
        });
      },
    );
  }

  private checkSuspensions(): void {
    const now = new Set(this.engine.listSuspended().keys());
    const changed = [...now].filter((n) => !this.suspended.has(n));
    const resumed = [...this.suspended].filter((n) => !now.has(n));
    this.suspended = now;
    for (const n of changed) this.decideOn(n, { type: 'suspended', stack: n });
    for (const n of resumed) this.decideOn(n, { type: 'resumed', stack: n });
    for (const n of [...changed, ...resumed]) {
      void this.refreshStack(n, () => 'no longer drifting (seen by the controller)');
    }
  }

  /** Sources added, removed or fetched by another process (the CLI, the desktop app). */
  private checkSources(): void {
    const list = this.engine.listSources();
    const next = new Map(list.map((s) => [s.name, s]));
    let reload = false;
    /** Sources at a new head: their stacks' drift ends because git changed, and says so. */
    const moved = new Set<string>();
    for (const s of list) {
      const prev = this.sources.get(s.name);
      if (!prev) {
        reload = true;
        this.sources.set(s.name, s);
        if (this.started && !this.stopping) this.watchSource(s.name, 0);
        continue;
      }
      if (prev.head !== s.head || prev.lastError !== s.lastError || prev.lastFetchAt !== s.lastFetchAt) {
        this.emit({ type: 'source', source: s });
      }
      if (prev.head !== s.head) moved.add(s.name);
      if (
        prev.head !== s.head ||
        prev.url !== s.url ||
        prev.branch !== s.branch ||
        prev.path !== s.path ||
        (prev.lastError ?? null) !== (s.lastError ?? null)
      ) {
        reload = true;
      }
    }
    for (const name of this.sources.keys()) {
      if (!next.has(name)) {
        reload = true;
        this.unwatchSource(name);
      }
    }
    this.sources = next;
    if (reload)
      void this.requestResync({
        reload: true,
        resolution: (st) =>
          moved.has(st.source)
            ? `desired state changed (revision ${short(st.revision)})`
            : 'no longer drifting (seen by the controller)',
      });
  }

  // ── events out ────────────────────────────────────────────────────────────────────────────────

  private emit(e: ControllerEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A listener's bug must not stop the controller.
      }
    }
  }

  private log(
    level: 'info' | 'warn' | 'error',
    kind: ControllerLogKind,
    message: string,
    extra: { stack?: string; source?: string; runId?: number; trigger?: Trigger; routine?: boolean } = {},
  ): void {
    // A stack's line names its source too, so that a script reading `watch --json` need not look it up.
    const source = extra.source ?? (extra.stack ? this.statuses.get(extra.stack)?.source : undefined);
    this.emit({
      type: 'log',
      level,
      message,
      at: new Date(this.clock.now()).toISOString(),
      kind,
      ...extra,
      ...(source !== undefined ? { source } : {}),
    });
  }
}

/** The host (and port) of a source URL: what the ref checks' budget is counted by. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
