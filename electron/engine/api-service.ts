// The API behind both UI transports (Electron IPC and the browser-mode WebSocket): parses every
// input with the shared schemas, calls the engine, and turns failures into typed errors. It keeps
// the latest published snapshot and, whenever the controller reports a change, pushes what changed
// since (a delta), so the renderer never polls and never receives the whole snapshot twice.
import { hostname } from 'node:os';
import type { z } from 'zod';
import {
  schemas,
  type ApiError,
  type CommitWithDeploys,
  type Method,
  type PushEvent,
  type Reply,
  type Results,
  type Snapshot,
  type StackOnEngine,
  type UiSettings,
} from '../shared/api.ts';
import { LOCAL_ENGINE, WORKTREE, type RunRecord, type StackStatus } from '../shared/model.ts';
import { EMPTY_SNAPSHOT, diffSnapshot, stackKey } from '../shared/snapshot-delta.ts';
import type { Engine, SyncResult } from './engine.ts';
import { MooringError, errorMessage } from './errors.ts';
import { isSqliteReadOnly } from './history/open-db.ts';
import { isWriteDenied, readOnlyHomeError } from './home.ts';
import { LogStreams, type ApiClient } from './log-streams.ts';
import type { ProgressEvent } from './reconcile/apply.ts';
import type { Controller, ControllerEvent, ControllerOptions } from './reconcile/controller.ts';
import { OtherControllers } from './reconcile/other-controllers.ts';
import { DEFAULT_POLL_INTERVAL_SEC, updateSettingsFile } from './settings.ts';
import { credentialsInUrlMessage, splitUserinfo } from './source/url-credentials.ts';

export type { ApiClient } from './log-streams.ts';

/** Where the desktop keeps the webhook URL typed into Settings (sealed by the OS keychain). */
export const WEBHOOK_URL_ENV = 'MOORING_WEBHOOK_URL';

/** Keeps HTTP tokens encrypted (Electron safeStorage); returns the environment variable the engine reads. */
export interface SecretStore {
  save(source: string, token: string): Promise<string>;
  remove(source: string): Promise<void>;
  /** Keeps a secret under an environment variable's name (the webhook's URL) and sets the variable. */
  saveVariable(name: string, value: string): Promise<void>;
}

export interface ApiServiceOptions {
  /**
   * Builds a controller for an engine (with `options` added to the factory's own: for another engine's,
   * `fetches: false`); called at start and when the endpoint or interval changes.
   */
  createController: (engine: Engine, options?: ControllerOptions) => Controller;
  /** Where tokens typed into the UI are kept; absent in browser mode, which cannot keep secrets. */
  secrets?: SecretStore | undefined;
}

type Listener = (event: PushEvent) => void;

/** A method's parameters after parsing: defaults applied, as its handler receives them. */
type Input<M extends Method> = z.output<(typeof schemas)[M]>;
/** `client`: the window that called, for what is pushed to it alone (log streams); null from elsewhere. */
type Handlers = { [M in Method]: (p: Input<M>, client: ApiClient | null) => Promise<Results[M]> };

/**
 * The schemas seen as a map from method to a parser of that method's input: indexed by a generic
 * method, it gives `ZodType<Input<M>>`, where indexing `schemas` itself would give a union.
 */
const parsers: { [M in Method]: z.ZodType<Input<M>> } = schemas;

/** In a burst of changes, pushes are at least this far apart. */
const PUSH_GAP_MS = 100;

function isMethod(name: string): name is Method {
  return Object.hasOwn(schemas, name);
}

/** What is published before anything is: the first push carries everything (version 1). */

export class ApiService {
  private controller: Controller | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Controllers of the other named engines the repo sends stacks to (issue 15). */
  private readonly others: OtherControllers;
  private readonly listeners = new Set<Listener>();
  private pushTimer: NodeJS.Timeout | null = null;
  private lastPushAt = 0;
  private published: Snapshot = EMPTY_SNAPSHOT;
  private readonly logStreams = new LogStreams();

  constructor(
    private readonly engine: Engine,
    private readonly options: ApiServiceOptions,
  ) {
    this.others = new OtherControllers(engine, options.createController, {
      event: (name, e) => {
        this.onOtherEvent(name, e);
      },
      // Another process drives it (`mooring --engine NAME watch`): it is left to that one.
      failed: (name, err) => {
        this.emit({
          type: 'notice',
          level: 'warn',
          message: `Engine ${name}: ${errorMessage(err)}`,
          engine: name,
        });
      },
      changed: () => {
        this.schedulePush();
      },
    });
  }

  async start(): Promise<void> {
    // A read-only home can be looked at, not kept in sync: the controller would record every step.
    if ((this.engine.settings.controllerEnabled ?? true) && !this.engine.readOnly)
      await this.startController();
  }

  async stop(): Promise<void> {
    if (this.pushTimer) clearTimeout(this.pushTimer);
    this.logStreams.releaseAll();
    await this.stopController();
  }

  private async startController(): Promise<void> {
    const controller = this.options.createController(this.engine);
    this.unsubscribe = controller.subscribe((e) => {
      this.onControllerEvent(e);
    });
    await controller.start();
    this.controller = controller;
    this.schedulePush();
  }

  private async stopController(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    const c = this.controller;
    this.controller = null;
    await c?.stop();
    await this.others.stop();
  }

  /**
   * What the window hears of another engine's controller: its errors and failed runs, and a stack that
   * began to drift, each naming the engine (no snapshot of the window shows them); and that its stacks
   * changed, for a stack screen showing one of them.
   */
  private onOtherEvent(engine: string, e: ControllerEvent): void {
    if (e.type === 'log') {
      if (e.level === 'error')
        this.emit({ type: 'notice', level: 'error', message: `On engine ${engine}: ${e.message}`, engine });
      return;
    }
    if (e.type === 'drift') {
      const services = e.status.services.filter((s) => s.sync !== 'Synced').map((s) => s.name);
      this.emit({
        type: 'notice',
        level: 'warn',
        message: `Stack "${e.status.name}" drifted from git on engine ${engine}: ${services.join(', ')}`,
        engine,
      });
    }
    if (e.type !== 'no-action' && e.type !== 'progress' && e.type !== 'source') {
      this.emit({ type: 'engine-changed', engine });
    }
  }

  /** The engine a request names (issue 15), or the window's. */
  private on(engine: string | undefined): Engine {
    return engine ? this.engine.onEngine(engine) : this.engine;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A window went (its connection dropped, it closed or reloaded): what it followed ends. */
  release(client: ApiClient): void {
    this.logStreams.release(client);
  }

  /** Engine log connections still open, for tests that check none is left behind. */
  get openLogStreams(): number {
    return this.logStreams.openCount;
  }

  /** The snapshot the last push brought every window to; null before the first. */
  current(): Snapshot | null {
    return this.published.version ? this.published : null;
  }

  private emit(event: PushEvent): void {
    for (const l of this.listeners) l(event);
  }

  private onControllerEvent(e: ControllerEvent): void {
    switch (e.type) {
      case 'progress':
        this.onProgress(e.event);
        break;
      case 'log':
        // Drift and unreachable sources already show in the snapshot; only errors deserve a toast, and a
        // failed run's already has one (its run-finished push).
        if (e.level === 'error' && e.runId === undefined)
          this.emit({ type: 'notice', level: e.level, message: e.message });
        break;
      case 'no-action':
        break; // the controller looked and let things be: nothing changed to push
      case 'source':
        // The other engines' controllers follow its fetches rather than fetching themselves.
        this.others.sourcesFetched();
        this.schedulePush();
        break;
      default:
        this.schedulePush();
    }
  }

  /**
   * `requestId`: the window's id for the sync that runs (see `stacks:sync`); `engine`: the engine it
   * runs on, when a request named another than the window's.
   */
  private onProgress(e: ProgressEvent, requestId?: string, engine?: string): void {
    const on = engine && engine !== this.engine.engineName ? { engine } : {};
    if (e.type === 'run-started') {
      this.emit({
        type: 'run-started',
        runId: e.runId,
        stack: e.stack,
        revision: e.revision,
        ...(requestId ? { requestId } : {}),
        ...on,
      });
    } else if (e.type === 'action-started' || e.type === 'action-finished' || e.type === 'action-waiting') {
      this.emit({
        type: 'progress',
        runId: e.runId,
        stack: '',
        index: e.index,
        kind: e.action.kind,
        target: e.action.target,
        state:
          e.type === 'action-started'
            ? 'started'
            : e.type === 'action-waiting'
              ? 'waiting'
              : e.error
                ? 'failed'
                : 'succeeded',
        error: e.type === 'action-finished' ? e.error : null,
        ms: e.type === 'action-finished' ? e.ms : null,
        waitingFor: e.type === 'action-waiting' ? e.for : null,
        detail: e.type === 'action-waiting' ? e.detail : null,
      });
    } else if (e.type === 'run-finished') {
      this.emit({
        type: 'run-finished',
        runId: e.runId,
        stack: e.stack,
        result: e.result,
        error: e.error,
        ...on,
      });
      this.schedulePush();
    }
  }

  /**
   * A lone change is pushed at once (after the task that made it, so the changes of one task are one
   * push); in a burst (an events storm, a sync of many stacks) at most one push per PUSH_GAP_MS. It
   * was always 100 ms later, half of what a change took to be painted (issue 14).
   */
  private schedulePush(): void {
    if (this.pushTimer || this.listeners.size === 0) return;
    const wait = Math.max(0, this.lastPushAt + PUSH_GAP_MS - Date.now());
    this.pushTimer = setTimeout(() => {
      this.pushTimer = null;
      this.lastPushAt = Date.now();
      void this.snapshot().then(
        () => undefined,
        (err: unknown) => {
          this.emit({ type: 'notice', level: 'error', message: errorMessage(err) });
        },
      );
    }, wait);
  }

  /**
   * One entry point for every transport: parse, dispatch, and never throw. `client`: the calling
   * window, which the transport releases when it goes; without one, nothing can be followed.
   */
  async handle(method: string, params: unknown, client: ApiClient | null = null): Promise<Reply<unknown>> {
    if (!isMethod(method)) {
      return { ok: false, error: { code: 'invalid-input', message: `Unknown method "${method}".` } };
    }
    return this.call(method, params, client);
  }

  /** Generic in the method, so that its schema's output and its handler's input are the same type. */
  private async call<M extends Method>(
    m: M,
    params: unknown,
    client: ApiClient | null,
  ): Promise<Reply<Results[M]>> {
    const parsed = parsers[m].safeParse(params ?? {});
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((i) => `${i.path.join('.') || 'input'}: ${i.message}`)
        .join('; ');
      return { ok: false, error: { code: 'invalid-input', message: `Invalid input for ${m}: ${message}` } };
    }
    try {
      return { ok: true, value: await this.handlers[m](parsed.data, client) };
    } catch (err) {
      // A write that reached a read-only home says so, and where, rather than SQLite's or the OS's words.
      const readOnly = this.engine.readOnly && (isSqliteReadOnly(err) || isWriteDenied(err));
      return { ok: false, error: toApiError(readOnly ? readOnlyHomeError(this.engine.home) : err) };
    }
  }

  /** One handler per method, each typed by its schema's output and its declared result. */
  private readonly handlers: Handlers = {
    'app:snapshot': () => this.snapshot(),
    'stacks:plan': async (q) => {
      const [r] = await this.on(q.engine).sync({
        stacks: [q.stack],
        revision: q.revision ?? null,
        prune: q.prune ?? false,
        dryRun: true,
      });
      if (!r?.plan) throw new MooringError('manifest', r?.error ?? `Stack "${q.stack}" cannot be planned.`);
      return r.plan;
    },
    'stacks:status': (q) => this.stackOn(q.stack, q.engine),
    'stacks:sync': (q) => this.sync(q),
    'stacks:worktree': (q) => this.worktreePreview(q.stack, q.engine),
    'stacks:suspend': async (q) => {
      this.on(q.engine).setSuspended(q.stack, q.suspended);
      await this.refresh(q.stack, q.engine);
      return null;
    },
    'stacks:rollback': async (q) => {
      // A run's rollback acts on the engine it ran on, not on the window's.
      const ran = q.run ? this.engine.history.runs.get(q.run)?.run : undefined;
      const engine = ran ? (ran.engine ?? LOCAL_ENGINE) : undefined;
      const r = await this.on(engine).rollback(q.stack, q.revision, {
        revert: q.revert ?? false,
        byTag: q.byTag ?? false,
        ...(q.run ? { run: q.run } : {}),
        onProgress: (e) => {
          this.onProgress(e, undefined, engine);
        },
      });
      await this.refresh(q.stack, engine);
      return r.mode === 'deploy'
        ? {
            stack: r.stack,
            mode: r.mode,
            revision: r.revision,
            runId: r.sync.runId,
            error: r.sync.error,
            pinned: r.pinned,
          }
        : {
            stack: r.stack,
            mode: r.mode,
            revision: r.revert.commit ?? r.revision,
            runId: null,
            error: null,
            pinned: [],
          };
    },
    'builds:list': (q) => Promise.resolve(this.engine.listBuilds(q)),
    'builds:get': (q) => {
      const build = this.engine.getBuild(q.id);
      if (!build) throw new MooringError('not-found', `No build #${q.id}.`);
      return Promise.resolve(build);
    },
    'builds:start': async (q) => {
      const [stack, service] = q.promote?.split('/') ?? [];
      const r = await this.engine.build(
        {
          appRepo: q.appRepo,
          rev: q.rev ?? null,
          dockerfile: q.dockerfile ?? null,
          context: q.context ?? null,
          tag: q.tag ?? null,
          promote: stack && service ? { stack, service } : null,
        },
        (event) => {
          this.emit({ type: 'build', event });
        },
      );
      if (r.promote) await this.refresh();
      return {
        build: r.build,
        promoted: r.promote?.commit ? { commit: r.promote.commit, pushed: r.promote.pushed } : null,
      };
    },
    'containers:logs': (q) => this.on(q.engine).docker.logs(q.container, q.tail),
    'containers:action': async ({ engine, ...q }) => {
      const r = await this.on(engine).containerAction(q);
      await this.refresh(q.stack, engine);
      return r;
    },
    'logs:follow': async (q, client) => {
      if (!client)
        throw new MooringError('usage', 'Only a window can follow logs: its pushes carry the lines.');
      await this.logStreams.open(client, q.stream, q.containers, q.tail, this.on(q.engine).docker);
      return null;
    },
    'logs:stop': (q, client) => {
      if (client) this.logStreams.stop(client, q.stream);
      return Promise.resolve(null);
    },
    'history:drifts': (q) =>
      Promise.resolve(this.on(q.engine).records.drifts.list({ stack: q.stack, limit: q.limit ?? 100 })),
    'history:runs': (q) => Promise.resolve(this.engine.history.runs.list(q)),
    'history:run': (q) => {
      const found = this.engine.history.runs.get(q.id);
      if (!found) throw new MooringError('not-found', `No run #${q.id}.`);
      const { run } = found;
      const deploy = this.engine.pipeline.store
        .deploysOf([run.revision], run.source)
        .get(run.revision)
        ?.find((d) => d.local && d.runId === run.id && d.startedAt === run.startedAt);
      return Promise.resolve({ ...found, images: deploy?.images ?? [] });
    },
    'history:commits': (q) => this.commits(q),
    'sources:add': async (q) => {
      const { url, token } = this.takeCredentials(q);
      // Saving the token first would overwrite (and, on the conflict, remove) an existing source's token.
      if (this.engine.listSources().some((s) => s.name === q.name))
        throw new MooringError('conflict', `A source named "${q.name}" already exists.`);
      this.engine.assertWritable('add a source');
      const tokenEnv = token ? await this.saveToken(q.name, token) : null;
      try {
        const { source, fetch } = await this.engine.addSource({
          name: q.name,
          url,
          branch: q.branch ?? null,
          path: q.path ?? null,
          tokenEnv,
        });
        if (fetch.error) this.emit({ type: 'notice', level: 'warn', message: fetch.error });
        await this.refresh();
        return source;
      } catch (err) {
        if (tokenEnv) await this.options.secrets?.remove(q.name);
        throw err;
      }
    },
    'sources:update': async (q) => {
      this.engine.assertWritable('change a source');
      let tokenEnv: string | null | undefined;
      if (q.token) tokenEnv = await this.saveToken(q.name, q.token);
      else if (q.token === null) {
        await this.options.secrets?.remove(q.name);
        tokenEnv = null;
      }
      const source = await this.engine.updateSource(q.name, {
        ...(q.branch !== undefined ? { branch: q.branch } : {}),
        ...(q.path !== undefined ? { path: q.path } : {}),
        ...(tokenEnv !== undefined ? { tokenEnv } : {}),
      });
      await this.refresh();
      return source;
    },
    'sources:remove': async (q) => {
      this.engine.removeSource(q.name);
      await this.options.secrets?.remove(q.name);
      await this.refresh();
      return null;
    },
    'sources:fetch': async (q) => {
      const results = await this.engine.fetch(q.name);
      for (const r of results) if (r.error) this.emit({ type: 'notice', level: 'warn', message: r.error });
      await this.refresh();
      return this.engine.listSources();
    },
    'sources:trust': async (q) => {
      const grant = q.grant.value === undefined ? { setting: q.grant.setting } : q.grant;
      await this.engine.trust(q.name, [grant], { revoke: q.revoke ?? false });
      // The stacks of the source are read again with it: a refused one may now be valid.
      await this.refresh();
      return this.settings();
    },
    'sources:prune': async (q) => {
      const results = await this.engine.pruneDeleted(q.name, {
        trigger: 'manual',
        onProgress: (e) => {
          this.onProgress(e);
        },
      });
      await this.refresh();
      return results.map((r) => ({ stack: r.stack, runId: r.runId, result: r.result, error: r.error }));
    },
    'engines:list': () => this.engine.engines.probeAll(),
    'engines:fleet': () => this.engine.fleet(),
    // A controller of a removed engine stops; one whose engine is added anew starts with its new settings.
    'engines:add': async ({ name, ...config }) => {
      const probe = await this.engine.engines.add(name, config);
      this.schedulePush();
      return probe;
    },
    'engines:remove': async (q) => {
      await this.engine.engines.remove(q.name);
      this.schedulePush();
      return null;
    },
    'settings:get': () => Promise.resolve(this.settings()),
    'settings:update': (q) => this.updateSettings(q),
    'settings:webhook': (q) => this.setWebhook(q),
    'settings:webhook-test': () => this.engine.notify.testWebhook(),
  };

  /**
   * A URL typed with `user:TOKEN@` in it: the desktop keeps the secret in the OS keychain (the secret
   * store) and the URL without it; browser mode cannot keep secrets, so it refuses and says what to run
   * instead. The secret is never put in a message (issue 10).
   */
  private takeCredentials(q: {
    name: string;
    url: string;
    branch?: string | undefined;
    path?: string | undefined;
    token?: string | undefined;
  }): {
    url: string;
    token: string | undefined;
  } {
    const split = splitUserinfo(q.url);
    if (!split) return { url: q.url, token: q.token };
    if (q.token) {
      throw new MooringError(
        'usage',
        'The URL holds a user name or password and a token was given too: remove the credentials from the URL and give the token once.',
      );
    }
    if (!this.options.secrets) {
      throw new MooringError(
        'usage',
        `Browser mode cannot keep tokens safely. ${credentialsInUrlMessage({ name: q.name, url: split.url, branch: q.branch, path: q.path })}`,
      );
    }
    return { url: split.url, token: split.secret };
  }

  private async saveToken(source: string, token: string): Promise<string> {
    if (!this.options.secrets) {
      throw new MooringError(
        'usage',
        'Browser mode cannot keep tokens safely. Put the token in an environment variable and add the source with `mooring source add NAME URL --token-env VAR`.',
      );
    }
    return this.options.secrets.save(source, token);
  }

  /** Looks again at a stack after a change (on `engine`, when another than the window's) and pushes it. */
  private async refresh(stack?: string, engine?: string): Promise<void> {
    if (engine && engine !== this.engine.engineName) {
      await this.others.get(engine)?.refresh(stack);
      this.emit({ type: 'engine-changed', engine });
      return;
    }
    if (this.controller) await this.controller.refresh(stack);
    // A source added, removed or fetched here: the other engines' controllers read the sources again.
    if (!stack) this.others.sourcesFetched();
    this.schedulePush();
  }

  /**
   * A stack on another named engine, for its stack screen: as that engine's controller here sees it, or
   * looked at now when none keeps it. Read-only: no drift is recorded by looking.
   */
  private async stackOn(name: string, engineName: string): Promise<StackOnEngine | null> {
    const on = this.engine.onEngine(engineName);
    const controlled = this.others.get(engineName) ?? (on === this.engine ? this.controller : null);
    const stack =
      controlled?.snapshot().stacks.find((s) => s.name === name) ??
      (await on.status({ stacks: [name], recordDrift: false }))[0];
    if (!stack) return null;
    const { revisions, changedIn } = this.revisionsOf([stack]);
    return {
      stack,
      engine: { name: engineName, endpoint: on.docker.endpoint, controlled: controlled !== null },
      revisions,
      changedIn: changedIn[stackKey(stack)] ?? null,
    };
  }

  /**
   * What committing the stack's source's work tree would change in the stack: the plan at `worktree`,
   * shown only where it is not the plan at the branch tip (changes elsewhere in the repo are not news).
   */
  private async worktreePreview(stack: string, engine?: string): Promise<Results['stacks:worktree']> {
    const sourceName =
      this.published.stacks.find((s) => s.name === stack)?.source ??
      this.published.elsewhere.find((s) => s.stack === stack)?.source;
    const source = this.engine.listSources().find((s) => s.name === sourceName);
    if (source?.kind !== 'local') return null;
    const [worktree] = await this.engine.worktrees(source.name);
    if (!worktree || worktree.changed.length === 0) return null;
    const plan = (revision: string | null): Promise<SyncResult | undefined> =>
      this.on(engine)
        .sync({ stacks: [stack], revision, dryRun: true })
        .then(([r]) => r);
    let atWorktree: SyncResult | undefined;
    try {
      atWorktree = await plan(WORKTREE);
    } catch (err) {
      if (!(err instanceof MooringError) || err.code !== 'not-found') throw err;
      return {
        worktree,
        actions: [],
        error: 'The work tree no longer declares this stack: committing would delete it.',
      };
    }
    const atTip = await plan(null).catch(() => undefined);
    const gist = (r: SyncResult | undefined): string =>
      JSON.stringify(r?.plan ? r.plan.actions.map((a) => [a.kind, a.target, a.diff]) : (r?.error ?? null));
    if (gist(atWorktree) === gist(atTip)) return null;
    return atWorktree?.plan
      ? { worktree, actions: atWorktree.plan.actions, error: null }
      : {
          worktree,
          actions: [],
          error: atWorktree?.error ?? 'The stack cannot be planned from the work tree.',
        };
  }

  private async sync(q: Input<'stacks:sync'>): Promise<Results['stacks:sync']> {
    const on = q.engine ? this.engine.onEngine(q.engine) : this.engine;
    const results = await on.sync({
      stacks: q.stacks,
      revision: q.revision ?? null,
      prune: q.prune ?? false,
      trigger: q.trigger ?? 'manual',
      onProgress: (e) => {
        this.onProgress(e, q.requestId, q.engine);
      },
    });
    for (const s of q.stacks) await this.refresh(s, q.engine);
    return results.map((r) => ({ stack: r.stack, runId: r.runId, result: r.result, error: r.error }));
  }

  /** The state now, published: windows holding an older version get the difference pushed first. */
  async snapshot(): Promise<Snapshot> {
    return this.publish(await this.build());
  }

  /** Makes `next` the published snapshot, pushing what changed; the same version if nothing did. */
  private publish(next: Snapshot): Snapshot {
    const prev = this.published;
    const delta = diffSnapshot(prev, next);
    if (!delta) return prev;
    this.published = { ...next, version: prev.version + 1 };
    this.emit({ type: 'delta', base: prev.version, version: this.published.version, ...delta });
    return this.published;
  }

  private async build(): Promise<Snapshot> {
    const state = this.controller?.snapshot();
    const found: Parameters<Engine['elsewhere']>[0] = [];
    const stacks = state?.stacks ?? (await this.engine.status({ recordDrift: false, elsewhere: found }));
    const elsewhere = state?.elsewhere ?? this.engine.elsewhere(found);
    if (this.controller) void this.others.follow(stacks, elsewhere);
    const sources = this.engine.listSources();
    const engine = { ...(state?.engine ?? (await this.engine.engineState())), name: this.engine.engineName };
    // One query for every stack's latest run (it was one page query per stack, at every push).
    const latest = this.engine.history.runs.lastPerStack(
      stacks.map((s) => s.name),
      this.engine.engineName,
    );
    const lastRuns: Record<string, RunRecord> = {};
    for (const s of stacks) {
      const run = latest.get(s.name);
      if (run) lastRuns[s.name] = run;
    }
    return {
      version: this.published.version,
      host: hostname(),
      stacks,
      sources,
      engine,
      controller: {
        enabled: this.engine.settings.controllerEnabled ?? true,
        running: this.controller !== null,
        ...(this.others.names.length ? { alsoOn: this.others.names } : {}),
      },
      lastRuns,
      ...this.revisionsOf(stacks),
      elsewhere,
    };
  }

  /**
   * The commits that last changed each stack (`changedIn`), and the message and time of those and of
   * the revisions git wants and that run (`revisions`), from the cached history.
   */
  private revisionsOf(stacks: readonly StackStatus[]): Pick<Snapshot, 'revisions' | 'changedIn'> {
    const commits = this.engine.history.commits;
    const changedIn: Snapshot['changedIn'] = {};
    for (const s of stacks) {
      const target = s.revision ? commits.lastChanges(s.source, s.revision).get(s.name) : undefined;
      if (!target) continue;
      // A deployed revision older than the cached history is named as it is.
      const deployed =
        s.deployed && s.deployed !== s.revision
          ? (commits.lastChanges(s.source, s.deployed).get(s.name) ?? s.deployed)
          : undefined;
      changedIn[stackKey(s)] = deployed && deployed !== target ? { target, deployed } : { target };
    }
    const revisions: Snapshot['revisions'] = {};
    // The revision git wants and, when it differs, the one that runs (the stack screen's Deployed row),
    // and the commits that last changed each.
    for (const s of stacks) {
      const changed = changedIn[stackKey(s)];
      for (const id of [s.revision, s.deployed, changed?.target, changed?.deployed]) {
        if (!id || revisions[id]) continue;
        const c = commits.get(s.source, id);
        if (c) revisions[id] = { message: c.message, time: c.time };
      }
    }
    return { revisions, changedIn };
  }

  private async commits(q: Input<'history:commits'>): Promise<CommitWithDeploys[]> {
    const commits = await this.engine.log({
      ...(q.source ? { source: q.source } : {}),
      limit: q.limit ?? 100,
    });
    return commits.map((c) => ({
      ...c,
      deploys: c.deploys.map((d) => ({
        host: d.host,
        runId: d.runId,
        stack: d.stack,
        result: d.result,
        at: d.time,
        trigger: d.trigger,
        images: d.images,
      })),
    }));
  }

  private settings(): UiSettings {
    const webhook = this.engine.notify.webhook();
    const s = this.engine.settings;
    return {
      pollIntervalSec: s.pollIntervalSec ?? DEFAULT_POLL_INTERVAL_SEC,
      controllerEnabled: s.controllerEnabled ?? true,
      dockerHost: s.dockerHost ?? null,
      safety: s.safety,
      trust: this.engine.trustList(),
      home: this.engine.home,
      canStoreTokens: this.options.secrets !== undefined,
      webhook: webhook ? { ...webhook, urlSet: this.engine.notify.urlSet() } : null,
      deliveries: this.engine.notify.deliveries(5),
    };
  }

  /**
   * The webhook from Settings. A URL typed in is kept in the OS keychain under WEBHOOK_URL_ENV (the
   * desktop); browser mode cannot keep it, so it takes the name of a variable of `mooring serve` instead.
   */
  private async setWebhook(q: Input<'settings:webhook'>): Promise<UiSettings> {
    if ('off' in q) {
      await this.engine.notify.setWebhook(null);
      return this.settings();
    }
    let urlEnv = q.urlEnv ?? this.engine.notify.webhook()?.urlEnv;
    if (q.url !== undefined) {
      if (!this.options.secrets) {
        throw new MooringError(
          'usage',
          "Browser mode cannot keep the webhook's URL safely: put it in an environment variable of `mooring serve` (e.g. MOORING_WEBHOOK_URL=… mooring serve) and give the variable's name.",
        );
      }
      urlEnv = WEBHOOK_URL_ENV;
      await this.options.secrets.saveVariable(urlEnv, q.url);
    }
    if (!urlEnv) {
      throw new MooringError('usage', "Give the webhook's URL (or the variable that holds it).");
    }
    await this.engine.notify.setWebhook({ urlEnv, format: q.format, events: q.events });
    return this.settings();
  }

  private async updateSettings(q: Input<'settings:update'>): Promise<UiSettings> {
    const s = this.engine.settings;
    const before = { ...s };
    if (q.pollIntervalSec !== undefined) s.pollIntervalSec = q.pollIntervalSec;
    if (q.controllerEnabled !== undefined) s.controllerEnabled = q.controllerEnabled;
    if (q.dockerHost !== undefined) s.dockerHost = q.dockerHost ?? undefined;
    if (q.safety) s.safety = { ...s.safety, ...q.safety };
    // Read, changed and written again: trust granted from the CLI meanwhile is kept.
    const written = await updateSettingsFile(this.engine.home, (fresh) => {
      Object.assign(fresh, { ...s, sources: fresh.sources });
    });
    s.sources = written.sources;
    if (s.dockerHost !== before.dockerHost) this.engine.setDockerHost(s.dockerHost);
    const enabled = s.controllerEnabled ?? true;
    const restart = s.pollIntervalSec !== before.pollIntervalSec || s.dockerHost !== before.dockerHost;
    if (this.controller && (!enabled || restart)) await this.stopController();
    if (!this.controller && enabled) await this.startController();
    // New allowances change which stacks are valid: read them again.
    if (q.safety) await this.refresh();
    else this.schedulePush();
    return this.settings();
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof MooringError) return { code: err.code, message: err.message };
  return { code: 'internal', message: errorMessage(err) };
}
