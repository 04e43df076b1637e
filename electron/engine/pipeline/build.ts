// The build stage of a two-stage pipeline: an image built from an app repo at a revision, read from git
// objects (no work tree, so uncommitted files never leak into an image), through the engine's build API,
// tagged with the app commit so that the tag alone says what is in the image.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as git from 'isomorphic-git';
import type Docker from 'dockerode';
import type {
  BuildEvent,
  BuildResult,
  BuildStep,
  DesiredBuild,
  DesiredService,
  SourceConfig,
} from '../../shared/model.ts';
import type { DockerAdapter } from '../docker/docker-adapter.ts';
import { isConnectionError } from '../docker/docker-adapter.ts';
import { MooringError, errorMessage } from '../errors.ts';
import type { GitSource, TreeFile } from '../source/index.ts';
import { UnsafeTreeError } from '../source/git-source.ts';
import { COMPOSE_BUILD_LABELS } from '../manifest/build.ts';
import { parseDockerignore } from './dockerignore.ts';
import { tarEnd, tarEntry } from './tar.ts';
import { withoutUserinfo } from '../source/url-credentials.ts';

export interface BuildOptions {
  /** Local path or http(s) URL of the app repo. */
  appRepo: string;
  /** Commit, branch or tag; default: HEAD of a local repo, the default branch of a remote one. */
  rev?: string | null;
  /** Repo-relative folder sent as the build context; default the repo root. */
  context?: string | null;
  /** Repo-relative Dockerfile; default `Dockerfile` in the context folder. */
  dockerfile?: string | null;
  /** Image name (`NAME`, tagged `NAME:<short commit>`), or a full `NAME:TAG`; default the repo's name. */
  tag?: string | null;
  /** Environment variable holding a token for an http app repo (read when needed, never stored). */
  tokenEnv?: string | null;
  /** Stops the build (the engine cancels it). */
  signal?: AbortSignal;
}

/** Where builds are recorded; the history database in the engine. */
export interface BuildRecorder {
  start(input: { appRepo: string; rev: string | null; context: string; dockerfile: string }): number;
  target(id: number, commit: string, tag: string): void;
  finish(
    id: number,
    outcome: {
      result: 'succeeded' | 'failed';
      imageId: string | null;
      error: string | null;
      failedStep: BuildStep | null;
      log: string;
    },
  ): void;
}

export type { BuildEvent, BuildResult, BuildStep };

export interface BuildDeps {
  /** Makes the GitSource that mirrors (http) or reads (local path) the app repo. */
  source: (config: SourceConfig) => GitSource;
  docker: DockerAdapter;
  recorder: BuildRecorder;
}

/** Labels on every image Mooring builds: the OCI ones say where it came from to any tool. */
export const BUILD_LABELS = {
  revision: 'org.opencontainers.image.revision',
  source: 'org.opencontainers.image.source',
  appRepo: 'dev.mooring.app-repo',
  appCommit: 'dev.mooring.app-commit',
} as const;

const SHORT = 12;
const MAX_LOG = 2 * 1024 * 1024;

export async function buildImage(
  deps: BuildDeps,
  opts: BuildOptions,
  onEvent: (e: BuildEvent) => void = () => undefined,
): Promise<BuildResult> {
  const appRepo = normalizeRepo(opts.appRepo);
  const context = cleanRepoPath(opts.context ?? '', '--context');
  const dockerfile = cleanRepoPath(opts.dockerfile ?? joinRepo(context, 'Dockerfile'), '--dockerfile');
  const buildId = deps.recorder.start({
    appRepo: appRepo.display,
    rev: opts.rev ?? null,
    context,
    dockerfile,
  });
  const run = new RecordedBuild(deps.recorder, buildId, appRepo.display, onEvent);
  try {
    const source = deps.source({ ...appRepo.config, tokenEnv: opts.tokenEnv ?? null });
    if (appRepo.config.kind === 'http') run.say(`fetching ${appRepo.display}`);
    await source.fetch();
    const commit = await source.resolve(opts.rev ?? (appRepo.config.kind === 'local' ? 'HEAD' : null));
    const tag = imageTag(opts.tag ?? defaultImageName(appRepo.config.url), commit);
    run.target(commit, tag);
    run.say(
      `building ${tag} from ${appRepo.display} at ${commit} (context: ${context || '.'}, Dockerfile: ${dockerfile})`,
    );
    const packed = await packContext(source, commit, context, dockerfile);
    const built = await run.engineBuild(deps.docker, packed, {
      labels: {
        [BUILD_LABELS.revision]: commit,
        [BUILD_LABELS.source]: appRepo.display,
        [BUILD_LABELS.appRepo]: appRepo.display,
        [BUILD_LABELS.appCommit]: commit,
      },
      ...(opts.signal ? { abortSignal: opts.signal } : {}),
    });
    return built.ok ? run.finish('succeeded', built.imageId, null) : run.finish('failed', null, built.error);
  } catch (err) {
    return run.fail(deps.docker, err);
  }
}

export interface ComposeBuildInput {
  /** The config repo, read at `commit`. */
  git: GitSource;
  commit: string;
  /** The source's URL (without credentials) or path: the builds table's "app repo". */
  sourceDisplay: string;
  stack: string;
  /** The deterministic tag (DesiredService.image of the services that run it). */
  tag: string;
  build: DesiredBuild;
  /** The services that run it, for the log. */
  services: string[];
  signal?: AbortSignal;
}

/**
 * Builds a compose service's image from the config repo at the revision (`build:`), recorded in the
 * builds table like `mooring build`, tagged with its deterministic tag, then with the names compose
 * gives it (`image:` or `<project>-<service>`, and `tags:`) where that takes no name from an image
 * Mooring did not build for this stack.
 */
export async function buildComposeImage(
  deps: { docker: DockerAdapter; recorder: BuildRecorder },
  input: ComposeBuildInput,
  onEvent: (e: BuildEvent) => void = () => undefined,
): Promise<BuildResult> {
  const { build, tag, commit } = input;
  const inline = 'inline' in build.dockerfile ? build.dockerfile.inline : undefined;
  const dockerfile = 'inline' in build.dockerfile ? '(dockerfile_inline)' : build.dockerfile.path;
  const buildId = deps.recorder.start({
    appRepo: input.sourceDisplay,
    rev: commit,
    context: build.context,
    dockerfile,
  });
  const run = new RecordedBuild(deps.recorder, buildId, input.sourceDisplay, onEvent);
  run.target(commit, tag);
  try {
    run.say(
      `building ${tag} for ${input.services.join(', ')} from ${input.sourceDisplay} at ${commit.slice(0, 12)} (context: ${build.context || '.'}, Dockerfile: ${dockerfile})`,
    );
    const network = await buildNetwork(deps.docker, build.network);
    const packed = await packContext(
      input.git,
      commit,
      build.context,
      inline === undefined ? dockerfile : '',
      inline,
    );
    const built = await run.engineBuild(deps.docker, packed, {
      labels: {
        ...build.labels,
        [BUILD_LABELS.revision]: commit,
        [COMPOSE_BUILD_LABELS.hash]: build.hash,
        [COMPOSE_BUILD_LABELS.stack]: input.stack,
      },
      ...(Object.keys(build.args).length > 0 ? { buildargs: build.args } : {}),
      ...(build.target !== undefined ? { target: build.target } : {}),
      ...(network !== undefined ? { networkmode: network } : {}),
      ...(build.shmSize !== undefined ? { shmsize: build.shmSize } : {}),
      ...(build.extraHosts !== undefined ? { extrahosts: build.extraHosts } : {}),
      ...(build.ulimits !== undefined
        ? {
            ulimits: JSON.stringify(build.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard }))),
          }
        : {}),
      ...(build.platform !== undefined ? { platform: build.platform } : {}),
      ...(build.isolation !== undefined ? { isolation: build.isolation } : {}),
      ...(build.cacheFrom !== undefined ? { cachefrom: JSON.stringify(build.cacheFrom) } : {}),
      ...(build.noCache ? { nocache: true } : {}),
      ...(build.pull ? { pull: true } : {}),
      ...(input.signal ? { abortSignal: input.signal } : {}),
    });
    if (!built.ok) return run.finish('failed', null, built.error);
    const { imageId } = built;
    for (const name of build.tags) {
      const taken = await nameTakenBy(deps.docker, name, imageId, input);
      if (taken !== null) {
        run.say(`not tagged ${name}: ${taken}; the services run ${tag} all the same`);
        continue;
      }
      const { repo, tag: version } = splitName(name);
      await deps.docker.tagImage(imageId, repo, version);
      run.say(`tagged ${name}`);
    }
    return run.finish('succeeded', imageId, null);
  } catch (err) {
    return run.fail(deps.docker, err);
  }
}

/**
 * The `build` action of a sync: builds the tag for every service of the stack that runs it, and throws
 * with the failed step (and the build's number, whose log history keeps) when it fails.
 */
export async function buildPlannedImage(
  deps: { docker: DockerAdapter; recorder: BuildRecorder },
  input: Omit<ComposeBuildInput, 'build' | 'services'> & { services: DesiredService[] },
  onLine: (line: string) => void,
): Promise<BuildResult> {
  const users = input.services.filter((s) => s.image === input.tag);
  const first = users.find((s) => s.build !== undefined)?.build;
  if (first === undefined) throw new MooringError('failed', `no service of the stack builds ${input.tag}`);
  // Equal inputs, one image: it gets the names of every service that builds it.
  const build = { ...first, tags: [...new Set(users.flatMap((s) => s.build?.tags ?? []))] };
  const result = await buildComposeImage(
    deps,
    { ...input, build, services: users.map((s) => s.name) },
    (e) => {
      if (e.type === 'build-output') onLine(e.line);
    },
  );
  if (result.result !== 'succeeded') {
    throw new MooringError('failed', `build ${result.buildId} failed: ${result.error ?? 'see its log'}`);
  }
  return result;
}

/**
 * The network mode of the build's RUN steps. Docker takes any other word for a network's name or the
 * start of its id, so a name must be a network's whole name, and not a host network's (which `network:
 * host`, guarded by the safety policy, is for).
 */
async function buildNetwork(docker: DockerAdapter, network: string | undefined): Promise<string | undefined> {
  if (
    network === undefined ||
    ['bridge', 'none', 'host'].includes(network) ||
    network.startsWith('container:')
  )
    return network;
  const found = await docker.network(network);
  if (found === null || found.name !== network) {
    throw new MooringError(
      'failed',
      `build.network: there is no network named "${network}" on the engine; create it first (docker network create ${network}), or use default or none`,
    );
  }
  if (found.driver === 'host') {
    throw new MooringError(
      'failed',
      `build.network: "${network}" is a host network; write network: host instead, which the safety policy checks (settings.json safety.allowHostNamespaces)`,
    );
  }
  return network;
}

/**
 * Why `name` must not be moved to the new image, or null when it may: it is free, already this image's,
 * or on an image this home built for this stack. Anything else (an image pulled or built by someone
 * else, another stack's build) keeps its name: a config repo must not be able to replace an image that
 * other stacks run under a name like `postgres:16`.
 */
async function nameTakenBy(
  docker: DockerAdapter,
  name: string,
  imageId: string,
  input: ComposeBuildInput,
): Promise<string | null> {
  const held = await docker.imageDefaults(name);
  if (held === undefined || held.id === imageId) return null;
  return held.labels[COMPOSE_BUILD_LABELS.stack] === input.stack
    ? null
    : `that name holds an image (${held.id.slice(0, 19)}) that Mooring did not build for stack "${input.stack}"; remove or rename that image if this build should take the name`;
}

function splitName(name: string): { repo: string; tag: string } {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash
    ? { repo: name.slice(0, colon), tag: name.slice(colon + 1) }
    : { repo: name, tag: 'latest' };
}

/** `NAME:<short commit>`, or NAME as given when it already has a tag. */
export function imageTag(name: string, commit: string): string {
  const lastSlash = name.lastIndexOf('/');
  const hasTag = name.slice(lastSlash + 1).includes(':') || name.includes('@');
  const ref = hasTag ? name : `${name}:${commit.slice(0, SHORT)}`;
  if (!/^[a-z0-9][a-z0-9._\-/:]*(@sha256:[0-9a-f]{64})?$/i.test(ref) || /[A-Z]/.test(ref.split(':')[0]!)) {
    throw new MooringError(
      'usage',
      `"${name}" is not an image name: use lowercase letters, digits, ".", "_", "-" and "/" (like registry.example/team/app).`,
    );
  }
  return ref;
}

/** The repo's name as an image name: the last path segment without `.git`, lowercased. */
export function defaultImageName(repo: string): string {
  let last = repo;
  try {
    if (/^https?:\/\//i.test(repo)) last = new URL(repo).pathname;
  } catch {
    // not a URL after all: a path
  }
  const base = last.replace(/\/+$/, '').split(/[/\\]/).pop() ?? '';
  const name = base
    .replace(/\.git$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '');
  return name || 'app';
}

interface Repo {
  config: SourceConfig;
  /** For messages and labels: the URL without credentials, or the absolute path. */
  display: string;
}

function normalizeRepo(input: string): Repo & { config: SourceConfig } {
  if (/^https?:\/\//i.test(input)) {
    let display: string;
    try {
      const u = new URL(input);
      u.username = '';
      u.password = '';
      display = u.toString();
    } catch {
      throw new MooringError('usage', `"${withoutUserinfo(input)}" is not a valid URL.`);
    }
    // One mirror per URL, named so a person can tell which it is.
    const hash = createHash('sha256').update(display).digest('hex').slice(0, 10);
    const name = `app-${defaultImageName(display)}-${hash}`;
    return {
      display,
      config: { name, url: input, kind: 'http', branch: null, path: '', tokenEnv: null },
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input) || /^[^/]+@[^:]+:/.test(input)) {
    throw new MooringError(
      'usage',
      `Only http(s) URLs and local paths are supported for the app repo (not "${withoutUserinfo(input)}").`,
    );
  }
  const abs = path.resolve(input);
  const gitdir = fs.existsSync(path.join(abs, '.git')) ? path.join(abs, '.git') : abs;
  if (!fs.existsSync(path.join(gitdir, 'HEAD')) || !fs.existsSync(path.join(gitdir, 'objects'))) {
    throw new MooringError(
      'usage',
      `${abs} is not a git repository: give the path of an app repo (or its http(s) URL).`,
    );
  }
  return {
    display: abs,
    config: { name: 'app', url: abs, kind: 'local', branch: null, path: '', tokenEnv: null },
  };
}

function cleanRepoPath(p: string, flag: string): string {
  const normalized = path.posix.normalize(p.replace(/\\/g, '/').replace(/^\/+/, '')).replace(/\/+$/, '');
  if (normalized === '..' || normalized.startsWith('../')) {
    throw new MooringError('usage', `${flag} must stay inside the app repo (got "${p}").`);
  }
  return normalized === '.' ? '' : normalized;
}

function joinRepo(a: string, b: string): string {
  return a === '' ? b : `${a}/${b}`;
}

/**
 * The build context as a tar stream of git objects, with the Dockerfile's name inside it. `inline` is a
 * Dockerfile's text given instead of a file of the repo (compose's `dockerfile_inline`); `dockerfile` is
 * then not read.
 */
export async function packContext(
  source: GitSource,
  commit: string,
  context: string,
  dockerfile: string,
  inline?: string,
): Promise<{ stream: Readable; dockerfile: string; files: number; ignored: number }> {
  const reader = source.reader(commit);
  const dir = await reader.stat(context);
  if (dir?.type !== 'tree') {
    throw new MooringError(
      'not-found',
      `Folder "${context || '.'}" does not exist at ${commit.slice(0, 12)}; check --context.`,
    );
  }
  const inlineBytes = inline === undefined ? null : new TextEncoder().encode(inline);
  const df =
    inlineBytes === null
      ? await reader.stat(dockerfile)
      : { type: 'blob' as const, oid: createHash('sha256').update(inlineBytes).digest('hex') };
  if (df?.type !== 'blob') {
    throw new MooringError(
      'not-found',
      `There is no ${dockerfile} at ${commit.slice(0, 12)}; give the Dockerfile's repo-relative path with --dockerfile.`,
    );
  }
  let all: TreeFile[];
  try {
    all = await source.listTree(dir.oid);
  } catch (err) {
    // Two entries of one path (a link and a folder of one name, written by hand) would have the
    // daemon's unpacker write the folder's files through the link: refused before a byte is sent.
    if (!(err instanceof UnsafeTreeError)) throw err;
    throw new MooringError(
      'failed',
      `The build context "${context || '.'}" at ${commit.slice(0, 12)} cannot be packed: ${joinRepo(context, err.entry)}: ${err.why}.`,
      { cause: err },
    );
  }
  const ignoreFile = all.find((f) => f.path === '.dockerignore');
  const ignore = ignoreFile
    ? parseDockerignore(new TextDecoder().decode(await source.readBlob(ignoreFile.oid)))
    : null;
  const prefix = context === '' ? '' : `${context}/`;
  const inContext =
    inlineBytes === null && dockerfile.startsWith(prefix) ? dockerfile.slice(prefix.length) : null;
  // Like the docker CLI: the Dockerfile and .dockerignore are always sent, whatever .dockerignore says.
  const keep = (f: TreeFile): boolean =>
    f.path === inContext || f.path === '.dockerignore' || ignore === null || !ignore.ignores(f.path);
  const files = all.filter(keep);
  // A link travels as a link (as `docker build` sends one; the daemon unpacks the context confined to
  // its folder), but one whose target is no path would only fail half-way through the stream.
  for (const f of files) {
    if (f.mode !== '120000') continue;
    const target = await source.readBlob(f.oid);
    if (target.length === 0 || target.length > 4096 || target.includes(0)) {
      throw new MooringError(
        'failed',
        `The build context "${context || '.'}" at ${commit.slice(0, 12)} cannot be packed: ${joinRepo(context, f.path)} is a symbolic link whose target is no path (empty, too long, or with a NUL).`,
      );
    }
  }
  // A Dockerfile outside the context travels under a name of its own, as `docker build -f` does.
  const extra = inContext === null ? `.mooring-dockerfile-${df.oid.slice(0, 12)}` : null;
  // The commit's time, not now: the same commit packs to the same bytes.
  const { commit: commitObject } = await git.readCommit({ fs, gitdir: source.gitdir, oid: commit });
  const mtime = commitObject.committer.timestamp;
  async function* entries(): AsyncGenerator<Buffer> {
    for (const f of files) {
      const bytes = await source.readBlob(f.oid);
      if (f.mode === '120000') {
        yield tarEntry({ path: f.path, mode: 0o777, mtime, linkTarget: new TextDecoder().decode(bytes) });
      } else {
        yield tarEntry({ path: f.path, mode: f.mode === '100755' ? 0o755 : 0o644, mtime, data: bytes });
      }
    }
    if (extra !== null) {
      const data = inlineBytes ?? (await source.readBlob(df!.oid));
      yield tarEntry({ path: extra, mode: 0o644, mtime, data });
    }
    yield tarEnd();
  }
  return {
    stream: Readable.from(entries()),
    dockerfile: inContext ?? extra!,
    files: files.length + (extra === null ? 0 : 1),
    ignored: all.length - files.length,
  };
}

/**
 * One build through the engine's classic builder, its output kept in `log` and passed on as events:
 * whole lines, and each `Step N/M` as it starts, so that a failure names its step.
 */
async function loggedEngineBuild(
  adapter: DockerAdapter,
  context: Readable,
  options: BuildApiOptions,
  out: { buildId: number; log: LogBuffer; onEvent: (e: BuildEvent) => void },
): Promise<EngineBuildOutcome & { failedStep: BuildStep | null }> {
  const { buildId, log, onEvent } = out;
  const parser = new BuildOutputParser();
  const line = (text: string): void => {
    log.add(text);
    onEvent({ type: 'build-output', buildId, line: text });
  };
  const outcome = await runEngineBuild(
    adapter,
    context,
    {
      rm: true,
      forcerm: true,
      // The classic builder: its "Step N/M" lines say which step failed; BuildKit over the raw API
      // needs a session the engine API alone does not give.
      version: '1',
      ...options,
    },
    (chunk) => {
      for (const item of parser.feed(chunk)) {
        if (item.kind === 'step') onEvent({ type: 'build-step', buildId, ...item.step });
        else line(item.line);
      }
    },
  );
  for (const item of parser.flush()) line(item.line);
  return { ...outcome, failedStep: outcome.error !== null && !outcome.beforeSteps ? parser.current : null };
}

/**
 * The build API's query as the engine reads it (API 1.41): dockerode sends an array as repeated
 * parameters (`t`, `extrahosts`) and an object as JSON (`buildargs`, `labels`); `cachefrom` and
 * `ulimits` are JSON text.
 */
type BuildApiOptions = Omit<Docker.ImageBuildOptions, 't' | 'extrahosts'> & {
  t?: string | string[];
  extrahosts?: string[];
  ulimits?: string;
  isolation?: string;
};

interface EngineBuildOutcome {
  imageId: string | null;
  error: string | null;
  /** The engine refused before any step ran (a Dockerfile it cannot parse, a bad option). */
  beforeSteps: boolean;
}

async function runEngineBuild(
  adapter: DockerAdapter,
  context: Readable,
  options: BuildApiOptions,
  onChunk: (msg: EngineMessage) => void,
): Promise<EngineBuildOutcome> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await adapter.buildImage(context, options as Docker.ImageBuildOptions);
  } catch (err) {
    if (isConnectionError(err)) throw err;
    const json = (err as { json?: { message?: unknown } }).json;
    const message = typeof json?.message === 'string' ? json.message : errorMessage(err);
    return { imageId: null, error: message.trim(), beforeSteps: true };
  }
  return new Promise<EngineBuildOutcome>((resolve, reject) => {
    let buf = '';
    let imageId: string | null = null;
    let error: string | null = null;
    const handle = (line: string): void => {
      if (line.trim() === '') return;
      let msg: EngineMessage;
      try {
        msg = JSON.parse(line) as EngineMessage;
      } catch {
        msg = { stream: `${line}\n` };
      }
      if (typeof msg.aux?.ID === 'string') imageId = msg.aux.ID;
      if (msg.error !== undefined || msg.errorDetail !== undefined) {
        error = msg.errorDetail?.message ?? msg.error ?? 'the build failed';
      }
      onChunk(msg);
    };
    stream.on('data', (chunk: Buffer | string) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        handle(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('error', (err: Error) => {
      reject(err);
    });
    stream.on('end', () => {
      handle(buf);
      resolve({ imageId, error, beforeSteps: false });
    });
  });
}

export interface EngineMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string };
}

/** Turns the engine's build messages into whole lines and the steps they announce. */
export class BuildOutputParser {
  current: BuildStep | null = null;
  private pending = '';

  feed(msg: EngineMessage): ({ kind: 'line'; line: string } | { kind: 'step'; step: BuildStep })[] {
    const out: ({ kind: 'line'; line: string } | { kind: 'step'; step: BuildStep })[] = [];
    const text = msg.stream ?? (msg.status !== undefined ? `${msg.status}\n` : '');
    this.pending += text;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) !== -1) {
      const line = this.pending.slice(0, nl).replace(/\r$/, '');
      this.pending = this.pending.slice(nl + 1);
      out.push(...this.line(line));
    }
    if (msg.error !== undefined || msg.errorDetail !== undefined) {
      out.push(...this.flush());
      const message = msg.errorDetail?.message ?? msg.error ?? '';
      out.push({ kind: 'line', line: `ERROR: ${message}` });
    }
    return out;
  }

  flush(): { kind: 'line'; line: string }[] {
    if (this.pending === '') return [];
    const line = this.pending;
    this.pending = '';
    return this.line(line).filter((x): x is { kind: 'line'; line: string } => x.kind === 'line');
  }

  private line(line: string): ({ kind: 'line'; line: string } | { kind: 'step'; step: BuildStep })[] {
    const m = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
    if (!m) return [{ kind: 'line', line }];
    this.current = { step: Number(m[1]), total: Number(m[2]), instruction: m[3]!.trim() };
    return [
      { kind: 'step', step: this.current },
      { kind: 'line', line },
    ];
  }
}

/** The error as a person wants it: which step, what it ran, what the engine said. */
export function describeFailure(error: string, step: BuildStep | null, beforeSteps: boolean): string {
  const detail = error.trim();
  if (beforeSteps)
    return `The engine refused the build before any step ran: ${detail}. Fix the Dockerfile and build again.`;
  if (step === null) return `The build failed: ${detail}`;
  return `Step ${step.step}/${step.total} (${step.instruction}) failed: ${detail}`;
}

/**
 * One build as the builds table and the live output see it, whichever command started it (`mooring
 * build`, or a sync's `build:`): its log, Mooring's own lines in it, the engine's build, and its end.
 */
class RecordedBuild {
  readonly log = new LogBuffer();
  private commit: string | null = null;
  private tag: string | null = null;
  private failedStep: BuildStep | null = null;

  constructor(
    private readonly recorder: BuildRecorder,
    readonly buildId: number,
    private readonly appRepo: string,
    readonly onEvent: (e: BuildEvent) => void,
  ) {}

  /** What is built and under which tag, once known: recorded, and the build is said to start. */
  target(commit: string, tag: string): void {
    this.commit = commit;
    this.tag = tag;
    this.recorder.target(this.buildId, commit, tag);
    this.onEvent({ type: 'build-started', buildId: this.buildId, appRepo: this.appRepo, commit, tag });
  }

  say(line: string): void {
    this.log.add(`mooring: ${line}`);
    this.onEvent({ type: 'build-output', buildId: this.buildId, line: `mooring: ${line}` });
  }

  /** The packed context built under the target's tag; a failure is described with its step. */
  async engineBuild(
    docker: DockerAdapter,
    packed: { stream: Readable; dockerfile: string; files: number; ignored: number },
    options: Omit<BuildApiOptions, 't' | 'dockerfile'>,
  ): Promise<{ ok: true; imageId: string } | { ok: false; error: string }> {
    const tag = this.tag!;
    this.say(
      `build context: ${packed.files} file(s) from git${packed.ignored > 0 ? `, ${packed.ignored} left out by .dockerignore` : ''}`,
    );
    const outcome = await loggedEngineBuild(
      docker,
      packed.stream,
      { t: tag, dockerfile: packed.dockerfile, ...options },
      this,
    );
    if (outcome.error !== null) {
      this.failedStep = outcome.failedStep;
      return { ok: false, error: describeFailure(outcome.error, outcome.failedStep, outcome.beforeSteps) };
    }
    const imageId = outcome.imageId ?? (await docker.imageInfo(tag))?.id;
    if (!imageId)
      return { ok: false, error: `the engine said the build of ${tag} succeeded, but has no such image` };
    this.say(`built ${tag} (${imageId})`);
    return { ok: true, imageId };
  }

  finish(result: BuildResult['result'], imageId: string | null, error: string | null): BuildResult {
    if (error) this.say(error);
    const { buildId, commit, tag, failedStep } = this;
    this.recorder.finish(buildId, { result, imageId, error, failedStep, log: this.log.text() });
    this.onEvent({ type: 'build-finished', buildId, result, tag, imageId, error });
    return { buildId, appRepo: this.appRepo, commit, tag, imageId, result, error, failedStep };
  }

  /** A build that threw: an engine gone away says so plainly. */
  fail(docker: DockerAdapter, err: unknown): BuildResult {
    return this.finish(
      'failed',
      null,
      isConnectionError(err) ? docker.unreachable(err).message : errorMessage(err),
    );
  }
}

class LogBuffer {
  private parts: string[] = [];
  private size = 0;

  add(line: string): void {
    this.parts.push(line);
    this.size += line.length + 1;
    // Keep the end, where a failure is.
    while (this.size > MAX_LOG && this.parts.length > 1) this.size -= this.parts.shift()!.length + 1;
  }

  text(): string {
    return this.parts.join('\n');
  }
}
