// The data model shared by the engine, the CLI, the IPC bridge and the renderer.
// Plain types only: nothing here may import Node or Electron, so the renderer can use it too.

export type SyncStatus = 'Synced' | 'OutOfSync' | 'Missing' | 'Orphaned' | 'Unknown';
export type Health = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
/**
 * What started a run; `out-of-band`: a person's restart, stop or start of a service, recorded as such;
 * `worktree`: a deploy of a local source's uncommitted files, asked for by a person (`sync --worktree`).
 */
export const TRIGGERS = [
  'manual',
  'auto',
  'self-heal',
  'rollback',
  'cli',
  'out-of-band',
  'worktree',
] as const;
export type Trigger = (typeof TRIGGERS)[number];
/** The revision that means a local source's work tree, uncommitted files included (issue 17, item 1). */
export const WORKTREE = 'worktree';

/** A local source's work tree as a revision of its own: what differs from HEAD, and the id it deploys as. */
export interface WorktreeInfo {
  source: string;
  /** The repository's folder on this machine. */
  dir: string;
  /** The synthesized commit: the work tree's files on top of HEAD. Same files, same id. */
  commit: string;
  /** HEAD's commit, or null in a repository with no commit yet. */
  head: string | null;
  /** The branch checked out, or null for a detached HEAD. */
  branch: string | null;
  /** Paths that differ from HEAD: added (`A`, untracked or staged), changed (`M`) or gone (`D`). */
  changed: { path: string; change: 'A' | 'M' | 'D' }[];
}
/** What a person may do to a service's containers from Mooring (issue 13, item 12). */
export const CONTAINER_ACTIONS = ['restart', 'stop', 'start'] as const;
export type ContainerAction = (typeof CONTAINER_ACTIONS)[number];
export type RunResult = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** A config repo. `url` is an http(s) URL or an absolute local path. */
export interface SourceConfig {
  name: string;
  url: string;
  kind: 'http' | 'local';
  /** Branch to follow; null means the remote's default branch (or the local repo's HEAD). */
  branch: string | null;
  /** Sub-folder of the repo that holds the stacks; '' for the root. */
  path: string;
  /** Name of the environment variable that holds an HTTP token; the token itself is never stored. */
  tokenEnv: string | null;
  /** Commits must be signed by one of these keys to be deployed (issue 17, item 3); null: not asked. */
  verify?: CommitVerify | null;
}

/** Keys a source's commits must be signed by: an allowed_signers file's text, or an armored keyring. */
export interface CommitVerify {
  format: 'ssh' | 'openpgp';
  keys: string;
}

/** Where a manifest problem is, 1-based line and column, file relative to the repo root. */
export interface ManifestError {
  file: string;
  line: number;
  column: number;
  message: string;
  /** For a refusal of the safety policy: what would allow it (`mooring source trust`, the app's button). */
  grant?: TrustGrant;
  /** The commit is not signed by a key its source allows (issue 17, item 3): who signed it, if anyone. */
  unverified?: { signer: string | null };
}

/**
 * One allowance of the safety policy: a setting of SafetySettings, with the value added to it for a
 * list (a host folder for bindRoots, a capability for allowCapAdd, an option for allowSecurityOpt).
 */
export interface TrustGrant {
  setting: TrustSetting;
  value?: string;
}

/** The settings a source can be trusted with: every SafetySettings key but the size limit. */
export type TrustSetting = Exclude<keyof SafetySettings, 'maxManifestBytes'>;

export type SyncPolicyMode = 'manual' | 'auto';
export interface StackPolicy {
  sync: SyncPolicyMode;
  selfHeal: boolean;
  prune: boolean;
  /**
   * Compose profiles active for the stack (`docker compose --profile`): a service that lists profiles
   * runs only when one of them is here (`*`: all). Absent: the stack's .env COMPOSE_PROFILES, else none.
   */
  profiles?: string[];
  /**
   * How the stack runs on an engine that is a Swarm manager (issue 15): `swarm` (services) or
   * `containers`. Absent: Swarm services on a manager, containers elsewhere.
   */
  mode?: 'containers' | 'swarm';
  /**
   * The engines the stack goes to, by the names each machine maps to endpoints (issue 15). Absent:
   * `local`. A machine acts on a stack only on engines it names.
   */
  engines?: string[];
}

export interface PortBinding {
  hostIp: string; // '' means all interfaces
  hostPort: string; // '' means an ephemeral port
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

// Every option below the first four fields is optional and absent when the compose file does not use
// it, so that a mount written before it existed hashes the same (issue 11).
export type DesiredMount =
  | {
      type: 'volume';
      /** Full volume name (project_name), or '' for an anonymous volume. */
      source: string;
      target: string;
      readOnly: boolean;
      /** `volume.nocopy` (short syntax `:nocopy`): the image's content is not copied into a new volume. */
      nocopy?: true;
      /** `volume.subpath`: a folder inside the volume (Docker Engine 26, API 1.45, or later). */
      subpath?: string;
    }
  /** A bind mount of a host path (absolute, allowed by the local policy). */
  | {
      type: 'bind';
      source: string;
      target: string;
      readOnly: boolean;
      /**
       * A missing host folder is made at create time (the short syntax always, the long syntax with
       * `bind.create_host_path: true`, as compose does); only under an allowed host folder. Not part of
       * the spec hash: the container is the same either way (spec-hash.ts).
       */
      createHostPath?: true;
      /** SELinux relabeling of the host path: `z` shared between containers, `Z` private to this one. */
      selinux?: 'z' | 'Z';
      /** `bind.propagation`; absent means the engine's default, rprivate. */
      propagation?: BindPropagation;
      /** `bind.recursive`: mounts below the source are left out, or made (non-)writable; absent: enabled. */
      recursive?: 'disabled' | 'writable' | 'readonly';
    }
  /**
   * A bind mount of a file or folder from the config repo itself (a relative path in the manifest).
   * `oid` is the git blob or tree id: a content hash, so it feeds the spec hash for free, and the
   * materialized copy lives in a content-addressed folder that a new revision never changes.
   */
  | {
      type: 'repo';
      repoPath: string;
      oid: string;
      objectType: 'blob' | 'tree';
      target: string;
      readOnly: boolean;
      selinux?: 'z' | 'Z';
      propagation?: BindPropagation;
    }
  /** `type: tmpfs` in the long syntax: a memory file system, optionally sized and with a mode. */
  | { type: 'tmpfs'; target: string; readOnly: boolean; sizeBytes?: number; mode?: number }
  /** `type: image`: the file system of an image, read-only (Docker Engine 28, API 1.48, or later). */
  | { type: 'image'; source: string; target: string; readOnly: true; subpath?: string };

export type BindPropagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

/**
 * A secret or config as one service mounts it (service `secrets:` / `configs:`), read-only at `target`.
 * Its content is never part of the desired state: only `digest`, a content hash (the git blob id of a
 * repo file; a keyed hash of content written inline or taken from a variable, so that a short secret
 * cannot be guessed from it), which feeds the spec hash and names the materialized copy.
 */
export interface DesiredFileMount {
  /** The top-level key (`secrets.NAME`, `configs.NAME`). */
  name: string;
  /** Absolute path in the container. */
  target: string;
  /**
   * Where the content comes from: a file of the config repo (`file:`), the compose file itself
   * (`content:`), a variable of the stack's interpolation environment (`environment:`), or a host file
   * (`file:` with an absolute path, allowed by the local policy), which is bind-mounted as it is; or a
   * Swarm's own secret or config, made there out of band (`external: true`), which git never holds.
   */
  from: 'repo' | 'content' | 'environment' | 'host' | 'external';
  /**
   * Git blob id ('repo'), keyed content hash ('content', 'environment'), the host path ('host'), or the
   * name of the object on the Swarm ('external').
   */
  digest: string;
  /** Permission bits of the file in the container (compose's default 0444). */
  mode: number;
  uid?: string;
  gid?: string;
}

export interface Healthcheck {
  test: string[]; // e.g. ['CMD-SHELL', 'wget -q localhost'] or ['NONE']
  intervalNs: number;
  timeoutNs: number;
  retries: number;
  startPeriodNs: number;
}

export type DependsCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Create-call fields that compose keys map onto one-to-one (manifest/passthrough.ts), by target. Absent
 * when the compose file uses none of them, so that specs written before they existed hash the same.
 */
export interface Passthrough {
  config?: Record<string, JsonValue>;
  hostConfig?: Record<string, JsonValue>;
}

/** A command compose runs in a service's container at a point of its life (`post_start`, `pre_stop`). */
export interface ServiceHook {
  command: string[];
  user?: string;
  privileged?: true;
  workingDir?: string;
  environment?: Record<string, string>;
}

/** One compose service, normalized: every default filled in so two equal specs compare equal. */
export interface DesiredService {
  name: string;
  image: string;
  command: string[] | null; // null: the image's default
  entrypoint: string[] | null; // null: the image's default
  environment: Record<string, string>;
  ports: PortBinding[];
  mounts: DesiredMount[];
  /** Full network names (project_default, project_name or external names) with aliases. */
  networks: ServiceNetwork[];
  labels: Record<string, string>;
  restart: 'no' | 'always' | 'on-failure' | 'unless-stopped';
  healthcheck: Healthcheck | null;
  dependsOn: { service: string; condition: DependsCondition }[];
  init: boolean;
  workingDir: string | null;
  user: string | null;
  hostname: string | null;
  stopGracePeriodSec: number;
  containerName: string; // compose-style default: <stack>-<service>-1
  extraHosts: string[]; // 'host:ip', sorted
  /** Options that the safety policy guards; only present when the local settings allow them. */
  privileged: boolean;
  networkMode: string | null;
  pid: string | null;
  ipc: string | null;
  capAdd: string[];
  capDrop: string[];
  devices: string[];
  securityOpt: string[];
  /** Keys with a one-to-one create field (mem_limit, tty, sysctls, …); see Passthrough. */
  passthrough?: Passthrough;
  /** Service `secrets:` (default target /run/secrets/NAME); absent when the service has none. */
  secrets?: DesiredFileMount[];
  /** Service `configs:` (default target /NAME); absent when the service has none. */
  configs?: DesiredFileMount[];
  /**
   * How many containers run the service (`deploy.replicas`, `scale`): `<stack>-<service>-1` … `-N`.
   * Absent means one.
   */
  replicas?: number;
  /** `restart: on-failure:N` / `deploy.restart_policy.max_attempts`: the engine's MaximumRetryCount. */
  restartMaxRetries?: number;
  /** `expose`: ports the container exposes beyond the published ones, `N/proto`, sorted. */
  expose?: string[];
  /** `links`: `SERVICE:ALIAS`, each an alias of that service's containers on the networks they share. */
  links?: string[];
  /** `external_links`: `CONTAINER:ALIAS` of containers outside the stack. */
  externalLinks?: string[];
  /** `volumes_from`: `SERVICE[:ro]` or `container:NAME[:ro]` (`:rw` is the default, left out). */
  volumesFrom?: string[];
  /** `post_start` hooks: run in the container once it has started. */
  postStart?: ServiceHook[];
  /** `pre_stop` hooks: run in the container before Mooring stops it. */
  preStop?: ServiceHook[];
  /** `use_api_socket`: the engine's socket bind-mounted at /var/run/docker.sock. */
  useApiSocket?: true;
  /** `platform`: os/arch[/variant] the image must be for; pulled for it, created for it. */
  platform?: string;
  /**
   * `pull_policy` as written (refresh with its pull_refresh_after as every_DURATION): when the plan
   * pulls the image. Not part of the spec hash: it changes no container.
   */
  pullPolicy?: string;
  /** Keys kept from the compose file that only Swarm acts on (`deploy.placement`, …): said in the plan. */
  swarmOnly?: string[];
  /** What of `deploy` only Swarm acts on, in the Engine API's shapes; absent when the file sets none. */
  swarm?: SwarmDeploy;
  /**
   * `build:`: the image is built from the config repo at the revision, and `image` is then the
   * deterministic tag of that build (`mooring-build/<stack>:<hash>`). Absent for a service that only
   * names an image. Not part of the spec hash: what the build makes is in `image` already.
   */
  build?: DesiredBuild;
}

/** An update or rollback policy of a Swarm service (the Engine API's UpdateConfig; durations in ns). */
export interface SwarmUpdateConfig {
  Parallelism?: number;
  Delay?: number;
  FailureAction?: 'continue' | 'pause' | 'rollback';
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: 'stop-first' | 'start-first';
}

/** `deploy:` as Swarm reads it, beyond what one engine applies to containers (replicas, limits). */
export interface SwarmDeploy {
  /** `mode: global`: a task on every node; absent means replicated. */
  global?: true;
  /** `placement`: Constraints, Preferences, MaxReplicas, as the API's Placement. */
  placement?: {
    Constraints?: string[];
    Preferences?: { Spread: { SpreadDescriptor: string } }[];
    MaxReplicas?: number;
  };
  update?: SwarmUpdateConfig;
  rollback?: SwarmUpdateConfig;
  endpointMode?: 'vip' | 'dnsrr';
  /** `deploy.labels`: on the service, not its containers. */
  labels?: Record<string, string>;
  /** `restart_policy` delay and window (ns). */
  restartDelay?: number;
  restartWindow?: number;
  /** `resources.reservations.cpus` in nano CPUs: Swarm schedules by it. */
  cpuReservation?: number;
}

/**
 * What a service's `build:` asks of the engine's (classic) builder, read from git: every input of the
 * image is a git object id or a value from the compose file, so equal inputs make an equal tag and an
 * unchanged context is never built again.
 */
export interface DesiredBuild {
  /** sha256 of the inputs below that shape the image (not `tags`, cache or pull options): the tag's. */
  hash: string;
  /** Repo-relative folder sent as the context ('' for the repo root), and its git tree id. */
  context: string;
  contextOid: string;
  /** `dockerfile` (repo-relative, with its blob id) or `dockerfile_inline` (its text). */
  dockerfile: { path: string; oid: string } | { inline: string };
  /** `args` as given, a bare name with its value from the stack's .env (never this machine's shell). */
  args: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  /** The network of RUN steps: default, bridge, none, host (allowed locally) or a network's name. */
  network?: string;
  shmSize?: number;
  extraHosts?: string[];
  ulimits?: { name: string; soft: number; hard: number }[];
  platform?: string;
  isolation?: string;
  cacheFrom?: string[];
  noCache?: true;
  pull?: true;
  /**
   * The names the image also gets: `image:` (else compose's `<project>-<service>`), then `tags:`. A name
   * that another image holds is moved only when Mooring built that image for this stack.
   */
  tags: string[];
}

/**
 * One network a service joins, and what its container asks of it (service `networks:` long syntax).
 * Every field after `aliases` is absent when the compose file does not set it, so that a service written
 * before they existed hashes the same (issue 11).
 */
export interface ServiceNetwork {
  /** The engine's name of the network. */
  name: string;
  /** The service name first, then the file's own aliases. */
  aliases: string[];
  ipv4Address?: string;
  ipv6Address?: string;
  linkLocalIps?: string[];
  macAddress?: string;
  /** The endpoint's driver options (`interface_name` is one of them, as compose sends it). */
  driverOpts?: Record<string, string>;
  /** Order of connection: the highest first (compose's `priority`); ties by name. */
  priority?: number;
  /** Which network gives the default gateway (Docker Engine 28, API 1.48, or later). */
  gwPriority?: number;
}

/** One `ipam.config` entry of a network. */
export interface IpamPool {
  subnet?: string;
  ipRange?: string;
  gateway?: string;
  auxAddresses?: Record<string, string>;
}

/**
 * A top-level network. The fields after `labels` are absent when the compose file does not set them
 * (so that a stack written before they existed reads the same), and then the engine's defaults apply.
 */
export interface DesiredNetwork {
  key: string; // name in the compose file
  name: string; // engine name
  external: boolean;
  driver: string;
  labels: Record<string, string>;
  driverOpts?: Record<string, string>;
  ipam?: { driver?: string; config?: IpamPool[]; options?: Record<string, string> };
  internal?: boolean;
  attachable?: boolean;
  enableIpv6?: boolean;
  enableIpv4?: boolean;
}

export interface DesiredVolume {
  key: string;
  name: string;
  external: boolean;
  driver: string;
  labels: Record<string, string>;
  /** Absent when the compose file sets none (see DesiredNetwork). */
  driverOpts?: Record<string, string>;
}

/**
 * A declared network or volume as the engine has it. Neither can be changed in place: a network that
 * differs is made again (its containers reconnected, as compose does); a volume that differs is only
 * shown, because making it again would lose its data.
 */
export interface ResourceStatus {
  kind: 'network' | 'volume';
  /** The key in the compose file. */
  key: string;
  /** The engine's name. */
  name: string;
  sync: 'OutOfSync' | 'Missing';
  /** Declared `external: true`: made outside Mooring, which a sync does not create. */
  external?: true;
  reasons: DriftReason[];
}

export interface DesiredStack {
  name: string;
  /** Repo-relative path of the compose file. */
  file: string;
  services: DesiredService[];
  networks: DesiredNetwork[];
  volumes: DesiredVolume[];
  /**
   * Keys kept but without (full) effect on an engine (Windows-only, compose-CLI-only, …), each at its
   * place in the file. Absent when there are none.
   */
  warnings?: ManifestError[];
  /**
   * Every compose file the stack was read from, repo-relative, in merge order (the main file, its
   * override, included and extended files), when there is more than `file`.
   */
  files?: string[];
  /**
   * The bytes of secrets and configs written inline or taken from a variable, by digest: what the
   * materializer writes. A Map, so that JSON (API replies, CLI --json, logs) and the spec hash never
   * carry it: `JSON.stringify(new Map(...))` is `{}`. Absent when there are none.
   */
  fileContents?: ReadonlyMap<string, Uint8Array>;
}

/** One line of a container's output, as a log stream pushes it. */
export interface LogLine {
  /** When the engine received it: RFC 3339 with nine fraction digits (times compare as strings); '' if unknown. */
  time: string;
  stderr: boolean;
  /** As the container wrote it, ANSI escapes included; without the newline. */
  text: string;
}

/** A service's drift as the history keeps it: first seen, and which run or look found it back in line. */
/** What a webhook is told about (issue 13, item 9); `test` is the one Settings sends on request. */
export type WebhookEvent = 'drift' | 'failed' | 'healed' | 'test';
export const WEBHOOK_FORMATS = ['json', 'ntfy', 'slack'] as const;
/** An environment variable's name, as a shell takes it. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** The webhook of a home: where the URL is (an environment variable: it holds a secret), how, what. */
export interface WebhookSettings {
  /** The environment variable holding the URL (a Slack or ntfy URL is itself the secret). */
  urlEnv: string;
  format: WebhookFormat;
  /** Which events are sent; each defaults to true. */
  events: { drift: boolean; failed: boolean; healed: boolean };
}

/** One notice sent (or tried): the HTTP status, or the error in words. */
export interface WebhookDelivery {
  id: number;
  at: string;
  event: WebhookEvent;
  stack: string | null;
  /** The format it was sent in (a name from an older version is kept as it was). */
  format: string;
  status: number | null;
  error: string | null;
}

export interface DriftRecord {
  id: number;
  source: string;
  stack: string;
  service: string;
  firstSeen: string;
  resolvedAt: string | null;
  /** `run 12` when a run resolved it, else what saw it resolved. */
  resolution: string | null;
  fields: DriftReason[];
}

/** A field that differs between git and the engine. `path` is compose-like: `environment.X`, `image`, `state`. */
export interface DriftReason {
  path: string;
  desired: string | null;
  live: string | null;
}

export interface ServiceStatus {
  name: string;
  sync: SyncStatus;
  health: Health;
  container: string | null; // container name
  containerId: string | null;
  image: { desired: string | null; live: string | null };
  state: string | null; // engine state: running, exited…
  ports: string[];
  startedAt: string | null;
  reasons: DriftReason[];
  /** With more than one replica: how many git asks for, and how many of ours run. */
  replicas?: { desired: number; running: number };
  /** On a Swarm manager: the service's name there (its tasks' containers are Swarm's, not listed). */
  swarmService?: string;
}

export interface StackStatus {
  source: string;
  name: string;
  revision: string | null;
  sync: SyncStatus;
  health: Health;
  services: ServiceStatus[];
  errors: ManifestError[];
  /** Why the status is Unknown or stale (engine or source unreachable), in words a person can act on. */
  warnings: string[];
  policy: StackPolicy;
  /** Suspended on this machine (`mooring suspend`): the controller leaves the stack alone. */
  suspended: boolean;
  /**
   * The revision its containers run: the revision label most of this home's containers of the stack
   * carry. Absent when none runs (or none was made by this home).
   */
  deployed?: string;
  /**
   * The target revision is invalid, so the services are compared with this one, the revision that runs
   * (when it can still be read), instead of being shown as orphans.
   */
  comparedWith?: string;
  /**
   * What the controller will do by itself, and when: a self-heal waiting for quiet, or a retry after a
   * failure (attempt `attempt` of `of`). Absent when nothing is due.
   */
  pending?: { what: 'self-heal' | 'retry'; at: string; attempt?: number; of?: number };
  /** Mooring deployed it, and its source no longer declares it (folder deleted in git). */
  deletedInGit?: boolean;
  /** Why removing this deleted stack waits for a person (a commit that deletes most of a source). */
  pruneHold?: string;
  /**
   * The declared networks and volumes that are missing or differ from git (issue 11, item 8); absent
   * when all of them are as declared, or when none is declared.
   */
  resources?: ResourceStatus[];
}

export type ActionKind =
  | 'pull'
  | 'create-network'
  | 'create-volume'
  | 'create'
  | 'recreate'
  | 'start'
  | 'stop'
  | 'remove'
  | 'remove-network'
  /** A network made again with the settings of git, its containers disconnected and reconnected. */
  | 'recreate-network'
  /** Containers added or removed to match `replicas`; the others are left as they are. */
  | 'scale'
  /** A container compose made from the same file, matching git: taken over without recreating it. */
  | 'adopt'
  /** An image built from the config repo (`build:`), before anything of the stack changes. */
  | 'build'
  /** A person's restart of a service's containers (an `out-of-band` run). */
  | 'restart'
  /** A Swarm secret or config made for a content the swarm does not hold yet (issue 15). */
  | 'create-secret'
  | 'create-config'
  /** An older copy of a Swarm secret or config that no service uses any more. */
  | 'remove-secret'
  | 'remove-config';

export interface PlanAction {
  kind: ActionKind;
  /** Service, network or volume name the action is about. */
  target: string;
  reason: string;
  diff: DriftReason[];
  /** Index of the dependency level: actions of one level may run in parallel. */
  level: number;
}

export interface Plan {
  source: string;
  stack: string;
  revision: string;
  actions: PlanAction[];
  /** What the plan takes as it finds it and a person should know (an existing volume it did not create). */
  notes?: string[];
}

export interface RunRecord {
  id: number;
  source: string;
  stack: string;
  revision: string;
  /** Who signed the deployed commit, verified, for a source that asks for signatures; else null. */
  signer?: string | null;
  /** The named engine the run acted on (issue 15); `local` for runs before engines had names. */
  engine?: string;
  trigger: Trigger;
  startedAt: string;
  finishedAt: string | null;
  result: RunResult;
  error: string | null;
  plan: PlanAction[];
}

export interface ActionRecord {
  id: number;
  runId: number;
  kind: ActionKind;
  target: string;
  reason: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
  error: string | null;
}

export interface CommitRecord {
  source: string;
  id: string;
  parents: string[];
  author: string;
  email: string;
  time: string; // ISO
  message: string;
  stacks: string[]; // stacks whose folder changed against the first parent
}

/**
 * A stack that mooring.yaml sends to other engines than the one in use (issue 15), each engine named
 * with whether this machine maps the name to an endpoint.
 */
export interface ElsewhereView {
  source: string;
  stack: string;
  engines: { name: string; configured: boolean }[];
}

/** A named engine's name: a docker context's name fits (letters, digits, '.', '_', '-'). */
export const ENGINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** The engine a home drives unless told otherwise: settings' dockerHost, else DOCKER_HOST, else the socket. */
export const LOCAL_ENGINE = 'local';

/** An engine's part in a Docker Swarm (issue 15). */
export type SwarmRole = 'manager' | 'worker' | 'none';

/** A named engine as `mooring engine list` shows it: where, and what answered there. */
export interface EngineProbe {
  name: string;
  endpoint: string;
  /** How it is reached: `tls`, `ssh`, or plain (a socket, loopback tcp). */
  transport: 'socket' | 'tcp' | 'tls' | 'ssh';
  reachable: boolean;
  /** The daemon's ID: two names reaching one daemon share it. */
  id: string | null;
  version: string | null;
  swarm: SwarmRole | null;
  /** One ping's round trip. */
  latencyMs: number | null;
  error: string | null;
  /** The Docker Engine API it speaks, when it answered. */
  apiVersion?: string;
}

/** One stack on one engine it goes to, in the fleet (issue 15). */
export interface FleetCell {
  engine: string;
  /** This machine maps the engine's name to an endpoint; when not, nothing else is known. */
  configured: boolean;
  /** Null when the engine is not configured here. */
  sync: SyncStatus | null;
  health: Health | null;
  /** The revision git wants there. */
  revision: string | null;
  /** The revision its containers or services run there. */
  deployed: string | null;
  suspended: boolean;
  /** Why the cell is Unknown (the engine does not answer), in words. */
  warning: string | null;
}

/** Every stack of every source × every engine it names, and each engine's own health (issue 15). */
export interface FleetView {
  /** The engine this process acts on (`--engine`). */
  current: string;
  /** The engines this machine names, each as it answered. */
  engines: EngineProbe[];
  /** Engine names the repo uses that this machine does not map. */
  unconfigured: string[];
  /** The matrix's columns: the engines some stack goes to, those this machine names first. */
  columns: string[];
  rows: { source: string; stack: string; cells: FleetCell[] }[];
}

export interface SourceState extends SourceConfig {
  head: string | null;
  lastFetchAt: string | null; // last attempt
  lastSuccessAt: string | null;
  lastError: string | null;
  /** First failed fetch since the last success: "unreachable since". */
  failingSince: string | null;
}

/**
 * What the local machine allows beyond the safety policy. Lives in the home folder's settings file,
 * never in the config repo: whoever can push to the repo must not be able to widen it.
 */
export interface SafetySettings {
  allowPrivileged: boolean;
  /**
   * network_mode: host, pid: host, ipc: host, uts: host, userns_mode: host, cgroup: host, and a
   * network whose name is `host`.
   */
  allowHostNamespaces: boolean;
  /**
   * Reaching a container outside the stack: network_mode, pid or ipc `container:NAME`, and
   * `volumes_from: container:NAME` (its volumes and bind mounts).
   */
  allowContainerNamespaces: boolean;
  /** Capabilities that cap_add may name; ['ALL'] allows any. */
  allowCapAdd: string[];
  allowDevices: boolean;
  /**
   * Every security_opt, known or not: seccomp, apparmor and label profiles (unconfined or replaced),
   * systempaths, no-new-privileges:false. Only `no-new-privileges` passes without it.
   */
  allowUnconfined: boolean;
  /** security_opt entries allowed one by one, each matched exactly (after interpolation). */
  allowSecurityOpt: string[];
  /** The Docker socket: a bind mount of it (or of a folder holding it), `use_api_socket: true`. */
  allowDockerSocket: boolean;
  /** Runtimes `runtime:` may name (the engine's default runtime is used where a service names none). */
  allowRuntimes: string[];
  /** `cgroup_parent:`, which places the container in a cgroup of the host's outside the engine's own. */
  allowCgroupParent: boolean;
  /**
   * Networks on the host's own interfaces: drivers macvlan and ipvlan, and a bridge that names its
   * interface (com.docker.network.bridge.name), which takes over a host interface of that name.
   */
  allowHostInterfaces: boolean;
  /** Network drivers besides bridge and overlay (plugins); ['ALL'] allows any. */
  allowNetworkDrivers: string[];
  /** Volume drivers besides local (plugins); ['ALL'] allows any. */
  allowVolumeDrivers: string[];
  /**
   * File system types the local volume driver may mount besides tmpfs (nfs, cifs, ext4…); ['ALL']
   * allows any. A `bind` volume is a bind mount, and needs bindRoots instead.
   */
  allowVolumeTypes: string[];
  /**
   * External secrets and configs (`external: true`: made on the Swarm by hand) a stack may use, by their
   * name there; ['ALL'] allows any. Such a secret holds what someone put on the swarm for other uses.
   */
  allowExternalSecrets: string[];
  /** Absolute host folders under which a bind mount may point. */
  bindRoots: string[];
  /**
   * `bind.propagation: shared` or `rshared`: mounts made inside the container appear on the host (and a
   * privileged or CAP_SYS_ADMIN container could mount over host folders).
   */
  allowSharedPropagation: boolean;
  /**
   * The largest compose file, .env, env_file or mooring.yaml read from a config repo, in bytes; also the
   * most a stack's env files may add up to. Checked before parsing, so a huge file costs nothing.
   */
  maxManifestBytes: number;
}

export const DEFAULT_SAFETY: SafetySettings = {
  allowPrivileged: false,
  allowHostNamespaces: false,
  allowContainerNamespaces: false,
  allowCapAdd: [],
  allowDevices: false,
  allowUnconfined: false,
  allowSecurityOpt: [],
  allowDockerSocket: false,
  allowRuntimes: ['runc'],
  allowCgroupParent: false,
  allowHostInterfaces: false,
  allowNetworkDrivers: [],
  allowVolumeDrivers: [],
  allowVolumeTypes: [],
  allowExternalSecrets: [],
  bindRoots: [],
  allowSharedPropagation: false,
  maxManifestBytes: 1_000_000,
};

// ---- pipeline stages (issue 5): builds, promote, revert, deploy notes ----

/** A Dockerfile step, from the classic builder's `Step N/M : INSTRUCTION` line. */
export interface BuildStep {
  step: number;
  total: number;
  instruction: string;
}

/** What a build reports while it runs (CLI and UI show the output live). */
export type BuildEvent =
  | { type: 'build-started'; buildId: number; appRepo: string; commit: string; tag: string }
  | ({ type: 'build-step'; buildId: number } & BuildStep)
  /** One line of output (the engine's, or Mooring's own, prefixed "mooring: "), without the newline. */
  | { type: 'build-output'; buildId: number; line: string }
  | {
      type: 'build-finished';
      buildId: number;
      result: 'succeeded' | 'failed';
      tag: string | null;
      imageId: string | null;
      error: string | null;
    };

/** How a build ended (`mooring build --json`, Engine.build). */
export interface BuildResult {
  buildId: number;
  appRepo: string;
  commit: string | null;
  tag: string | null;
  imageId: string | null;
  result: 'succeeded' | 'failed';
  error: string | null;
  /** The Dockerfile step that failed, when the failure was in one. */
  failedStep: BuildStep | null;
}

/** A build as history keeps it (Engine.listBuilds; Engine.getBuild adds its log). */
export interface BuildRecord {
  id: number;
  appRepo: string;
  /** The revision asked for (null: the default). */
  rev: string | null;
  commit: string | null;
  tag: string | null;
  context: string;
  dockerfile: string;
  imageId: string | null;
  startedAt: string;
  finishedAt: string | null;
  result: 'running' | 'succeeded' | 'failed' | 'interrupted';
  error: string | null;
  failedStep: BuildStep | null;
  host: string;
}

/** What one service's container ran after a deploy: the image as named, its id, and its digest when it has one. */
export interface RanImage {
  service: string;
  /** The reference the container was created from (`nginx:1.27`). */
  image: string;
  /** The image id (`sha256:…`): what ran, whatever the tag points to later. */
  id: string;
  /** `name@sha256:…` of a registry image (RepoDigests): pullable by content on any machine. */
  digest?: string;
}

/** A service a rollback deploys from the image that ran then, because its tag has moved since. */
export interface ImagePin {
  service: string;
  /** The reference in the compose file at that revision. */
  tag: string;
  /** What is deployed instead: the digest reference (`name@sha256:…`) or the image id. */
  image: string;
  /** The image id that ran. */
  id: string;
  /** The image is pulled by its digest (it is no longer on this engine). */
  pull: boolean;
  /** What the tag does now (`web:1 now points to 3f2a…`). */
  moved: string;
}

/** A deploy of a commit, from a git note (this machine's or another's) or this machine's run history. */
export interface DeployRecord {
  source: string;
  commit: string;
  host: string;
  stack: string;
  runId: number;
  startedAt: string;
  /** When the run finished. */
  time: string;
  trigger: string;
  result: string;
  images: RanImage[];
  error: string | null;
  /** The named engine deployed to (`local` for deploys noted before engines had names). */
  engine?: string;
  /** Made by this home folder (its own run history), as opposed to only known from a note. */
  local: boolean;
}

/** What `mooring promote` (Engine.promote) did to the config repo. */
export interface PromoteResult {
  source: string;
  stack: string;
  service: string;
  /** Repo-relative compose file. */
  file: string;
  line: number;
  oldImage: string;
  newImage: string;
  /** The new commit; null when nothing was committed (already that image, or a dry run). */
  commit: string | null;
  /** The commit the change was made on. */
  parent: string;
  branch: string;
  pushed: boolean;
  /** True when the change was only worked out (an http source without --push). */
  dryRun: boolean;
  message: string;
  /** Publish tries: more than 1 when a concurrent commit had to be built upon. */
  attempts: number;
}

/** The commit `mooring rollback --revert` made. */
export interface RevertResult {
  source: string;
  stack: string;
  /** Repo-relative stack folder. */
  dir: string;
  /** The revision restored. */
  revision: string;
  /** The new commit, or null when the folder already was as at REV. */
  commit: string | null;
  parent: string;
  branch: string;
  pushed: boolean;
  /** The commits since REV that changed the stack, newest first: what the revert undoes. */
  undone: { id: string; subject: string }[];
  message: string;
  attempts: number;
}

/** The deploy note written after a run (SyncResult.note). */
export interface NoteOutcome {
  /** The commit the note is on. */
  commit: string;
  written: boolean;
  /** Pushed to the remote; null where there is nothing to push to (a local source) or it was not tried. */
  pushed: boolean | null;
  /** What went wrong, in words a person can act on; the run's own result is not affected. */
  error: string | null;
}
