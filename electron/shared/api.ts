// The API contract: declared once, used by three transports (Electron IPC, the browser-mode
// WebSocket, and — through the same engine calls — the CLI). Every input is parsed with these
// schemas at the boundary, in the process that holds the engine, before it reaches a service.
import { z } from 'zod';
import type {
  EngineProbe,
  FleetView,
  ElsewhereView,
  ActionRecord,
  BuildEvent,
  BuildRecord,
  BuildResult,
  CommitRecord,
  DriftRecord,
  ImagePin,
  LogLine,
  Plan,
  PlanAction,
  RanImage,
  RunRecord,
  SafetySettings,
  SourceState,
  TrustGrant,
  TrustSetting,
  StackStatus,
  WebhookDelivery,
  WebhookSettings,
  WorktreeInfo,
} from './model.ts';
import { CONTAINER_ACTIONS, ENGINE_NAME, ENV_NAME, TRIGGERS, WEBHOOK_FORMATS } from './model.ts';
import type { Method } from './methods.ts';
import { TRUST_SETTINGS } from './trust.ts';

export type { Method } from './methods.ts';

const requestId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'letters, digits and -, at most 64');
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _');
const containerName = z.string().regex(/^[\w.-]{1,128}$/, 'a container name or id');
/** A Compose service name: letters, digits, `.`, `_` and `-`. */
const serviceName = z.string().regex(/^[A-Za-z0-9][\w.-]{0,127}$/, 'a service name');
/** A named engine (issue 15); absent: the window's. */
const engineName = z.string().regex(ENGINE_NAME, "letters, digits, '.', '_' and '-'");
const onEngine = engineName.optional();
const revision = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w./-]+$/, 'a commit id, branch or tag');

export const schemas = {
  'app:snapshot': z.object({}).strict(),
  'stacks:plan': z
    .object({
      stack: name,
      revision: revision.optional(),
      prune: z.boolean().optional(),
      engine: onEngine,
    })
    .strict(),
  /** One stack on a named engine (its stack screen, issue 15); null: neither declared nor running there. */
  'stacks:status': z.object({ stack: name, engine: engineName }).strict(),
  'stacks:sync': z
    .object({
      stacks: z.array(name).min(1).max(500),
      revision: revision.optional(),
      prune: z.boolean().optional(),
      trigger: z.enum(['manual', 'rollback']).optional(),
      engine: onEngine,
      /** Chosen by the window that asks: its runs' progress pushes carry it, so it knows them at once. */
      requestId: requestId.optional(),
    })
    .strict(),
  'stacks:suspend': z.object({ stack: name, suspended: z.boolean(), engine: onEngine }).strict(),
  'stacks:rollback': z
    .object({
      stack: name,
      revision,
      revert: z.boolean().optional(),
      byTag: z.boolean().optional(),
      run: z.number().int().positive().optional(),
    })
    .strict(),
  /** What the uncommitted files of the stack's local source would change in it (issue 17, item 1). */
  'stacks:worktree': z.object({ stack: name, engine: onEngine }).strict(),
  'containers:logs': z
    .object({ container: containerName, tail: z.number().int().min(1).max(5000), engine: onEngine })
    .strict(),
  /** A person's restart, stop or start of one service's containers, recorded as an out-of-band run. */
  'containers:action': z
    .object({ stack: name, service: serviceName, action: z.enum(CONTAINER_ACTIONS), engine: onEngine })
    .strict(),
  /**
   * Follows containers' output: lines come as `logs` pushes to this window alone, tagged with `stream`
   * (an id the window chose), until `logs:stop`, another follow under the same id, or the window goes.
   */
  'logs:follow': z
    .object({
      stream: requestId,
      containers: z.array(containerName).min(1).max(50),
      tail: z.number().int().min(0).max(5000),
      engine: onEngine,
    })
    .strict(),
  'logs:stop': z.object({ stream: requestId }).strict(),
  'history:runs': z
    .object({
      stack: name.optional(),
      source: name.optional(),
      trigger: z.enum(TRIGGERS).optional(),
      result: z.enum(['running', 'succeeded', 'failed', 'interrupted']).optional(),
      from: z.iso.datetime().optional(),
      to: z.iso.datetime().optional(),
      before: z.number().int().positive().optional(),
      limit: z.number().int().min(1).max(500).optional(),
    })
    .strict(),
  'history:run': z.object({ id: z.number().int().positive() }).strict(),
  /** A stack's drift records, newest first: when each service started to differ, and what resolved it. */
  'history:drifts': z
    .object({ stack: name, limit: z.number().int().min(1).max(500).optional(), engine: onEngine })
    .strict(),
  'history:commits': z
    .object({ source: name.optional(), limit: z.number().int().min(1).max(1000).optional() })
    .strict(),
  'builds:list': z
    .object({
      limit: z.number().int().min(1).max(500).optional(),
      before: z.number().int().positive().optional(),
    })
    .strict(),
  'builds:get': z.object({ id: z.number().int().positive() }).strict(),
  'builds:start': z
    .object({
      appRepo: z.string().min(1).max(2000),
      rev: revision.optional(),
      dockerfile: z.string().max(500).optional(),
      context: z.string().max(500).optional(),
      tag: z
        .string()
        .max(300)
        .regex(/^[a-z0-9][a-z0-9._/:-]*$/, 'an image name, optionally with :tag')
        .optional(),
      promote: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]*\/[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'STACK/SERVICE')
        .optional(),
    })
    .strict(),
  'sources:add': z
    .object({
      name,
      url: z.string().min(1).max(2000),
      branch: z.string().max(200).optional(),
      path: z.string().max(500).optional(),
      token: z.string().max(4000).optional(),
    })
    .strict(),
  'sources:update': z
    .object({
      name,
      branch: z.string().max(200).nullable().optional(),
      path: z.string().max(500).optional(),
      token: z.string().max(4000).nullable().optional(),
    })
    .strict(),
  'sources:remove': z.object({ name }).strict(),
  'sources:fetch': z.object({ name: name.optional() }).strict(),
  /** Confirms the prune of a source's stacks deleted in git, which a commit deleting most of them holds. */
  'sources:prune': z.object({ name }).strict(),
  /** Trust per source: grants (or revokes) one allowance of the safety policy for one source. */
  'sources:trust': z
    .object({
      name,
      grant: z
        .object({
          setting: z.enum(TRUST_SETTINGS as [TrustSetting, ...TrustSetting[]]),
          value: z.string().min(1).max(10_000).optional(),
        })
        .strict(),
      revoke: z.boolean().optional(),
    })
    .strict(),
  'engines:list': z.object({}).strict(),
  'engines:fleet': z.object({}).strict(),
  'engines:add': z
    .object({
      name: engineName,
      endpoint: z.string().min(1).max(500),
      tls: z
        .object({
          ca: z.string().min(1).max(4096),
          cert: z.string().min(1).max(4096),
          key: z.string().min(1).max(4096),
        })
        .strict()
        .optional(),
      sshKey: z.string().min(1).max(4096).optional(),
      knownHosts: z.string().min(1).max(4096).optional(),
    })
    .strict(),
  'engines:remove': z.object({ name: engineName }).strict(),
  'settings:get': z.object({}).strict(),
  'settings:update': z
    .object({
      pollIntervalSec: z.number().int().min(5).max(86_400).optional(),
      controllerEnabled: z.boolean().optional(),
      dockerHost: z.string().max(500).nullable().optional(),
      safety: z
        .object({
          allowPrivileged: z.boolean(),
          allowHostNamespaces: z.boolean(),
          allowContainerNamespaces: z.boolean(),
          allowCapAdd: z.array(z.string().regex(/^[A-Z_]+$/)),
          allowDevices: z.boolean(),
          allowUnconfined: z.boolean(),
          allowSecurityOpt: z.array(z.string().min(1).max(10_000)).max(100),
          allowDockerSocket: z.boolean(),
          allowRuntimes: z.array(z.string().min(1).max(200)).max(100),
          allowCgroupParent: z.boolean(),
          allowHostInterfaces: z.boolean(),
          allowNetworkDrivers: z.array(z.string().min(1).max(200)).max(100),
          allowVolumeDrivers: z.array(z.string().min(1).max(200)).max(100),
          allowVolumeTypes: z.array(z.string().min(1).max(200)).max(100),
          allowExternalSecrets: z.array(z.string().min(1).max(200)).max(100),
          bindRoots: z.array(z.string().startsWith('/')),
          allowSharedPropagation: z.boolean(),
          maxManifestBytes: z.number().int().min(1_000).max(100_000_000),
        })
        .partial()
        .optional(),
    })
    .strict(),
  /**
   * Sets the webhook (or `off`). The URL itself only where it can be kept safely (the desktop's keychain,
   * `canStoreTokens`); elsewhere the name of the variable that holds it in the server's environment.
   */
  'settings:webhook': z.union([
    z.object({ off: z.literal(true) }).strict(),
    z
      .object({
        format: z.enum(WEBHOOK_FORMATS),
        events: z.object({ drift: z.boolean(), failed: z.boolean(), healed: z.boolean() }).strict(),
        url: z
          .string()
          .max(2_000)
          .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
          .optional(),
        urlEnv: z.string().regex(ENV_NAME, 'must be a variable name: letters, digits and _').optional(),
      })
      .strict(),
  ]),
  'settings:webhook-test': z.object({}).strict(),
} as const satisfies Record<Method, z.ZodType>;

export type Params<M extends Method> = z.input<(typeof schemas)[M]>;

export interface EngineState {
  reachable: boolean;
  endpoint: string;
  error: string | null;
  /** The named engine (issue 15): `local` unless another was chosen. */
  name?: string;
}

export interface Snapshot {
  /** Counts the service's published snapshots: a push applies to the version it names as its base. */
  version: number;
  /** This machine's name, as deploy notes record it. */
  host: string;
  stacks: StackStatus[];
  sources: SourceState[];
  engine: EngineState;
  /**
   * `alsoOn`: the other named engines a controller of this process keeps equal to git (issue 15): those
   * the repo sends stacks to that this machine maps.
   */
  controller: { enabled: boolean; running: boolean; alsoOn?: string[] };
  /** Last run per stack, for the overview. */
  lastRuns: Record<string, RunRecord>;
  /** Commit message and time per revision shown in the overview. */
  revisions: Record<string, { message: string; time: string }>;
  /**
   * By stack key (`source/name`): the last commit that changed the stack's folder at its target
   * revision, and at the revision that runs when that is another one. A commit to one stack moves every
   * stack's target revision; this says which commit each stack's content is from. Absent for a stack
   * whose history is not cached (older than the commits a fetch reads).
   */
  changedIn: Record<string, { target: string; deployed?: string }>;
  /** The stacks mooring.yaml sends to other engines than this one (issue 15). */
  elsewhere: ElsewhereView[];
}

/**
 * What changed since the snapshot of version `base` (electron/shared/snapshot-delta.ts): stacks whole
 * but only those that changed; the other parts whole when they changed at all (each is small).
 */
export interface SnapshotDelta {
  base: number;
  version: number;
  host?: string;
  /** Stacks added or changed. */
  stacks?: StackStatus[];
  /** Every stack's key (`source/name`) in order, when one was added, removed or moved. */
  stackOrder?: string[];
  sources?: SourceState[];
  engine?: EngineState;
  controller?: Snapshot['controller'];
  /** Last runs that changed, by stack. */
  lastRuns?: Record<string, RunRecord>;
  revisions?: Snapshot['revisions'];
  changedIn?: Snapshot['changedIn'];
  elsewhere?: ElsewhereView[];
}

/**
 * One stack on a named engine other than the window's (issue 15): what the stack screen shows of it,
 * as the snapshot holds it for the window's engine.
 */
export interface StackOnEngine {
  stack: StackStatus;
  /** The engine: its endpoint (for the `docker exec` line) and whether a controller here keeps it. */
  engine: { name: string; endpoint: string; controlled: boolean };
  revisions: Snapshot['revisions'];
  /** The commits that last changed the stack (`Snapshot['changedIn']` of its key), when cached. */
  changedIn: { target: string; deployed?: string } | null;
}

export interface SyncOutcome {
  stack: string;
  runId: number | null;
  result: 'succeeded' | 'failed' | 'invalid' | 'planned' | 'locked';
  error: string | null;
}

export interface CommitWithDeploys extends CommitRecord {
  /** This machine's runs and other machines' deploy notes. */
  deploys: {
    host: string;
    runId: number;
    stack: string;
    result: string;
    at: string;
    trigger: string;
    images: RanImage[];
  }[];
}

/** One source's allowances of the safety policy (trust per source, settings.json `sources`). */
export interface SourceTrustView {
  source: string;
  /** The URL the trust was granted for; null: any. */
  url: string | null;
  /** A source of this name exists. */
  known: boolean;
  /** It applies: the source exists and has that URL. */
  applies: boolean;
  grants: TrustGrant[];
}

export interface UiSettings {
  pollIntervalSec: number;
  controllerEnabled: boolean;
  dockerHost: string | null;
  safety: SafetySettings;
  /** Allowances per source, added to `safety` for that source's stacks. */
  trust: SourceTrustView[];
  home: string;
  /** Whether source tokens can be stored encrypted (Electron safeStorage); false in browser mode. */
  canStoreTokens: boolean;
  /** The webhook (issue 13, item 9); `urlSet`: its variable has a value in the engine's process. */
  webhook: (WebhookSettings & { urlSet: boolean }) | null;
  /** Its last deliveries, newest first. */
  deliveries: WebhookDelivery[];
}

export interface Results {
  'app:snapshot': Snapshot;
  'stacks:plan': Plan;
  'stacks:status': StackOnEngine | null;
  'stacks:sync': SyncOutcome[];
  'stacks:suspend': null;
  'stacks:rollback': {
    stack: string;
    mode: 'deploy' | 'revert';
    revision: string;
    runId: number | null;
    error: string | null;
    /** Services deployed from the image that ran then, their tag having moved since. */
    pinned: ImagePin[];
  };
  /**
   * Null when the stack's source has no work tree here, or its uncommitted changes leave the stack's
   * plan as the branch tip's. `error`: the work tree's files do not load (with positions), or no longer
   * declare the stack.
   */
  'stacks:worktree': { worktree: WorktreeInfo; actions: PlanAction[]; error: string | null } | null;
  'containers:logs': string;
  'containers:action': { runId: number; containers: string[]; error: string | null };
  'logs:follow': null;
  'logs:stop': null;
  'history:drifts': DriftRecord[];
  'history:runs': RunRecord[];
  /** `images`: what the stack's containers ran after the run, from its deploy note (none before it is written). */
  'history:run': { run: RunRecord; actions: ActionRecord[]; images: RanImage[] };
  'history:commits': CommitWithDeploys[];
  'builds:list': BuildRecord[];
  'builds:get': BuildRecord & { log: string };
  'builds:start': { build: BuildResult; promoted: { commit: string; pushed: boolean } | null };
  'sources:add': SourceState;
  'sources:update': SourceState;
  'sources:remove': null;
  'sources:fetch': SourceState[];
  'sources:prune': SyncOutcome[];
  'sources:trust': UiSettings;
  'engines:list': EngineProbe[];
  'engines:fleet': FleetView;
  'engines:add': EngineProbe;
  'engines:remove': null;
  'settings:get': UiSettings;
  'settings:update': UiSettings;
  'settings:webhook': UiSettings;
  'settings:webhook-test': WebhookDelivery;
}

/** An action of a run, as it goes: started (pulling, creating…), waiting (for health, a dependency), done. */
export type ActionState = 'started' | 'waiting' | 'succeeded' | 'failed';

/**
 * Pushed from the engine to every window: the renderer never polls. The snapshot itself is fetched
 * (`app:snapshot`) on connect and when a delta does not follow the one held; pushes carry changes.
 */
export type PushEvent =
  | ({ type: 'delta' } & SnapshotDelta)
  | {
      type: 'run-started';
      runId: number;
      stack: string;
      revision: string;
      /** The `requestId` of the sync that started it; absent for the controller's own runs. */
      requestId?: string;
      /** The named engine it runs on, when not the window's (a sync asked from the Fleet or a stack screen). */
      engine?: string;
    }
  | {
      type: 'progress';
      runId: number;
      stack: string;
      index: number;
      kind: string;
      target: string;
      state: ActionState;
      error: string | null;
      ms: number | null;
      /** While `waiting`: what for ("db to be healthy") and the healthcheck's last output. */
      waitingFor: string | null;
      detail: string | null;
    }
  | {
      type: 'run-finished';
      runId: number;
      stack: string;
      result: string;
      error: string | null;
      engine?: string;
    }
  /**
   * The controller of another engine than the window's saw its stacks change (status, engine, timers):
   * a screen showing a stack on it (`stacks:status`) reads it again.
   */
  | { type: 'engine-changed'; engine: string }
  /** `engine`: from the controller of another engine than the window's (issue 15). */
  | { type: 'notice'; level: 'info' | 'warn' | 'error'; message: string; engine?: string }
  | { type: 'build'; event: BuildEvent }
  /** New lines of a log stream this window follows (`logs:follow`); `skipped`: lines of a burst dropped. */
  | { type: 'logs'; stream: string; lines: (LogLine & { container: string })[]; skipped?: number }
  /** One container's stream of a log stream ended: it stopped or went (null), or could not be followed. */
  | { type: 'logs-end'; stream: string; container: string; error: string | null };

/** Errors cross every transport as data, with a code and a message a person can act on. */
export interface ApiError {
  code:
    'usage' | 'unreachable' | 'manifest' | 'conflict' | 'not-found' | 'failed' | 'invalid-input' | 'internal';
  message: string;
}

export type Reply<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** What the preload exposes as `window.mooring` and the WebSocket client implements too. */
export interface MooringApi {
  invoke<M extends Method>(method: M, params: Params<M>): Promise<Reply<Results[M]>>;
  subscribe(listener: (event: PushEvent) => void): () => void;
  /** 'electron' or 'browser': the UI shows what only one of them can do. */
  readonly transport: 'electron' | 'browser';
}
