// Top-level `secrets:` and `configs:`, and a service's use of them (issue 11, item 4). On one engine,
// compose bind-mounts a `file:` read-only at /run/secrets/NAME (a config at /NAME) and copies `content:`
// and `environment:` values into the container after create. Mooring writes every one of them as a file
// into the home folder (reconcile/materialize.ts, content-addressed like repo bind mounts) and mounts it
// read-only: the service may be `read_only`, the file cannot be changed from inside, `mode`, `uid` and
// `gid` are honoured for every kind (compose ignores them for `file:`), and the copy in use can be read
// back from the container's mounts, so that a changed secret is drift.
//
// An `external` one is an object of a Swarm, made there out of band: services on a Swarm refer to it
// by its name there (swarm/spec.ts); a stack run as containers is refused it (services/sync.ts).
//
// A secret's content is never part of the desired state: only a keyed hash of it (`digest`), which
// names its copy and feeds the spec hash; the bytes travel beside the stack in `DesiredStack.fileContents`,
// a Map, which JSON, the spec hash and every message leave out.
import { createHmac } from 'node:crypto';
import { posix } from 'node:path';
import type { Node } from 'yaml';
import type { DesiredFileMount, DesiredStack } from '../../shared/model.ts';
import { hostPathOf, normalizeTarget, readFileMode, resolveRepoPath } from './mounts.ts';
import { exposesDockerSocket, listed, refuse, safetyMessages, underBindRoots } from './safety.ts';
import type { FileDefinition, StackContext } from './types.ts';
import type { Entry, YamlFile } from './yaml-file.ts';

export type FileKind = 'secrets' | 'configs';

/** What compose accepts as a name (compose-spec.json): also a safe file name, bar `.` and `..`. */
const NAME = /^[a-zA-Z0-9._-]+$/;
const SINGULAR: Record<FileKind, string> = { secrets: 'secret', configs: 'config' };
/** What content mode compose gives a copied secret or config (and Swarm every one). */
const DEFAULT_MODE = 0o444;
/** Swarm's longest object name. */
const MAX_OBJECT_NAME = 64;
/** What Swarm takes as a secret's or config's name (its API refuses others). */
const SWARM_NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;
/** A Swarm secret holds at most 500 KB, a config 1000 KB; one engine has no limit, this one does. */
const MAX_CONTENT_BYTES = 1_000_000;

/**
 * The keyed hash of content written inline or taken from a variable. Keyed by a random secret of the
 * home folder (`content-key`), so that a short secret cannot be found from its hash by trying
 * candidates, wherever the hash is shown (drift, the copy's folder name, the spec hash).
 */
export function contentDigest(key: string | Uint8Array, content: Uint8Array): string {
  return createHmac('sha256', key).update(content).digest('hex');
}

export interface FileContext extends StackContext {
  /** Keys the hash of inline and variable content (see contentDigest). */
  contentKey: string | Uint8Array;
  /** Bytes of inline and variable content, by digest: DesiredStack.fileContents. */
  fileContents: Map<string, Uint8Array>;
}

/** The top-level `secrets:` or `configs:` of a stack. */
export async function readFileDefinitions(
  ctx: FileContext,
  entry: Entry | undefined,
  kind: FileKind,
): Promise<Map<string, FileDefinition>> {
  const { yaml } = ctx;
  const out = new Map<string, FileDefinition>();
  if (entry === undefined || yaml.isNull(entry.value)) return out;
  for (const e of yaml.map(entry.value, entry.path) ?? []) {
    if (!NAME.test(e.key) || e.key === '.' || e.key === '..') {
      yaml.errorAt(
        e.keyNode,
        `${e.path}: "${e.key}" is not a valid ${SINGULAR[kind]} name (letters, digits, . _ -)`,
      );
      continue;
    }
    out.set(e.key, await readDefinition(ctx, e, kind));
  }
  return out;
}

async function readDefinition(ctx: FileContext, e: Entry, kind: FileKind): Promise<FileDefinition> {
  const { yaml } = ctx;
  const what = `${SINGULAR[kind]} "${e.key}"`;
  const failed: FileDefinition = { usable: false, why: null };
  const fields = yaml.map(e.value, e.path);
  if (fields === null) return failed;
  const sources = kind === 'secrets' ? ['file', 'environment'] : ['file', 'environment', 'content'];
  yaml.rejectUnknown(fields, [
    ...sources,
    'external',
    'name',
    'labels',
    'driver',
    'driver_opts',
    'template_driver',
  ]);
  const get = (key: string): Entry | undefined => fields.find((f) => f.key === key);
  const external = get('external');
  const externalName = external !== undefined ? readExternal(yaml, external) : null;
  for (const key of ['name', 'labels', 'driver_opts']) {
    const f = get(key);
    // An external one's `name` is the name it has on the Swarm.
    if (key === 'name' && externalName !== null) continue;
    // Kept, but only a Swarm creates secret and config objects with names, labels and driver options.
    if (f !== undefined)
      yaml.warnAt(
        f.keyNode,
        `${f.path} applies on Swarm only: a single engine has no ${SINGULAR[kind]} objects`,
      );
  }
  if (externalName !== null) {
    const given = sources.map(get).find((f) => f !== undefined);
    if (given !== undefined) {
      yaml.errorAt(
        given.keyNode,
        `${e.path}: an external ${SINGULAR[kind]} is not defined here; remove ${given.key} or external`,
      );
      return failed;
    }
    // Made on the Swarm out of band (`docker secret create`), so its content never is in git: by the
    // name it has there, `name:` (or the legacy `external: {name: …}`), else its key.
    const named = get('name');
    const nameField = named ? yaml.string(named.value, named.path) : undefined;
    if (externalName && nameField !== undefined && nameField !== externalName) {
      yaml.errorAt(
        named!.value ?? named!.keyNode,
        `${e.path}: name "${nameField}" and external.name "${externalName}" differ; keep one`,
      );
      return failed;
    }
    const name = externalName || nameField || e.key;
    if (!SWARM_NAME.test(name) || name.length > MAX_OBJECT_NAME) {
      yaml.errorAt(
        (named ?? external)!.value ?? e.keyNode,
        `${e.path}: "${name}" is not a name a Swarm ${SINGULAR[kind]} can have (letters and digits, with . _ - between them; at most ${MAX_OBJECT_NAME})`,
      );
      return failed;
    }
    // What someone put on the swarm for other uses: read into a container only where this machine says.
    if (!listed(ctx.safety.allowExternalSecrets, name)) {
      refuse(ctx, external!.keyNode, `${e.path}.external`, safetyMessages.externalSecret(what, name), {
        setting: 'allowExternalSecrets',
        value: name,
      });
      return failed;
    }
    return { usable: true, from: 'external', digest: name, defaultMode: DEFAULT_MODE };
  }
  for (const key of ['driver', 'template_driver']) {
    const f = get(key);
    if (f !== undefined) {
      yaml.warnAt(f.keyNode, `${f.path} applies on Swarm only`);
      return {
        usable: false,
        why: `${what} sets ${key}, which only a Swarm acts on (docker compose refuses it too); give it a file: or environment: instead`,
      };
    }
  }
  const given = sources.flatMap((key) => {
    const f = get(key);
    return f === undefined ? [] : [f];
  });
  if (given.length !== 1) {
    yaml.errorAt(
      given[1]?.keyNode ?? e.keyNode,
      given.length === 0
        ? `${e.path}: a ${SINGULAR[kind]} needs one of ${sources.join(', ')} (or external: true on a Swarm)`
        : `${e.path}: ${sources.join(', ')} are mutually exclusive; keep one`,
    );
    return failed;
  }
  const source = given[0]!;
  const node = source.value ?? source.keyNode;
  const text = yaml.string(source.value, source.path);
  if (text === undefined) return failed;
  switch (source.key) {
    case 'content':
      return inline(ctx, source, new TextEncoder().encode(text));
    case 'environment': {
      if (!Object.hasOwn(ctx.vars, text)) {
        yaml.errorAt(
          node,
          `${source.path}: variable ${text} is not set in the stack's .env (docker compose refuses a ${SINGULAR[kind]} whose variable is unset); set it there`,
        );
        return failed;
      }
      return inline(ctx, source, new TextEncoder().encode(ctx.vars[text]));
    }
    default:
      return fileDefinition(ctx, source, text, what);
  }
}

/**
 * compose accepts `external: true`, the string "true", and the legacy `external: {name: …}`. Null: not
 * external; the name the legacy form gives, else ''.
 */
function readExternal(yaml: YamlFile, e: Entry): string | null {
  if (yaml.isMap(e.value)) {
    const fields = yaml.map(e.value, e.path) ?? [];
    yaml.rejectUnknown(fields, ['name']);
    const name = fields.find((f) => f.key === 'name');
    return (name && yaml.string(name.value, name.path)) ?? '';
  }
  return yaml.bool(e.value, e.path) ? '' : null;
}

function inline(ctx: FileContext, source: Entry, bytes: Uint8Array): FileDefinition {
  if (bytes.length > MAX_CONTENT_BYTES) {
    ctx.yaml.errorAt(
      source.value ?? source.keyNode,
      `${source.path}: more than ${MAX_CONTENT_BYTES.toLocaleString('en-US')} bytes; commit it as a file`,
    );
    return { usable: false, why: null };
  }
  const digest = contentDigest(ctx.contentKey, bytes);
  ctx.fileContents.set(digest, bytes);
  return {
    usable: true,
    from: source.key === 'content' ? 'content' : 'environment',
    digest,
    defaultMode: DEFAULT_MODE,
  };
}

async function fileDefinition(
  ctx: FileContext,
  source: Entry,
  file: string,
  what: string,
): Promise<FileDefinition> {
  const { yaml, safety } = ctx;
  const at = { node: source.value ?? source.keyNode, path: source.path };
  const failed: FileDefinition = { usable: false, why: null };
  if (file.startsWith('/') || file.startsWith('~')) {
    // A host file, mounted as it is (as compose does): the same policy as a bind mount of it.
    const path = hostPathOf(ctx, at, file);
    if (path === null) return failed;
    if (exposesDockerSocket(path) !== null && !safety.allowDockerSocket) {
      refuse(ctx, at.node, at.path, safetyMessages.dockerSocket(path), { setting: 'allowDockerSocket' });
      return failed;
    }
    if (!underBindRoots(path, safety)) {
      refuse(ctx, at.node, at.path, safetyMessages.hostFile(what, path, safety.bindRoots), {
        setting: 'bindRoots',
        value: path,
      });
      return failed;
    }
    return { usable: true, from: 'host', digest: path, defaultMode: DEFAULT_MODE };
  }
  const repoPath = resolveRepoPath(ctx.yaml.dirOf(at.node), file);
  if (repoPath === null) {
    yaml.errorAt(
      at.node,
      `${at.path}: ${file} points outside the config repo; commit the file to the repo, or name a host file by its absolute path (allowed by settings.json safety.bindRoots)`,
    );
    return failed;
  }
  const object = await ctx.reader.stat(repoPath);
  if (object === null) {
    yaml.errorAt(
      at.node,
      `${at.path}: ${file} (${repoPath}) does not exist in the config repo at this revision; commit it, or use environment: for a value kept out of git`,
    );
    return failed;
  }
  if (object.type !== 'blob') {
    yaml.errorAt(
      at.node,
      `${at.path}: ${repoPath} is a folder; a ${what.split(' ')[0]} is one file. Name a file, or mount the folder with volumes: ./${posix.relative(ctx.stackDir, repoPath)}:TARGET:ro`,
    );
    return failed;
  }
  // As on disk after a checkout: an executable file stays executable (a config used as a script).
  return {
    usable: true,
    from: 'repo',
    digest: object.oid,
    defaultMode: object.mode === '100755' ? 0o755 : 0o644,
  };
}

/** A service's `secrets:` or `configs:`, each a name or {source, target, uid, gid, mode}. */
export function readServiceFiles(
  ctx: StackContext,
  entry: Entry,
  kind: FileKind,
  definitions: ReadonlyMap<string, FileDefinition>,
): DesiredFileMount[] {
  const { yaml } = ctx;
  const out: DesiredFileMount[] = [];
  const targets = new Set<string>();
  for (const item of yaml.seq(entry.value, entry.path) ?? []) {
    const ref = readReference(ctx, item.node, item.path, kind);
    if (ref === null) continue;
    const at = item.node;
    const definition = definitions.get(ref.source);
    if (definition === undefined) {
      yaml.errorAt(
        ref.sourceNode ?? at,
        `${item.path}: ${SINGULAR[kind]} "${ref.source}" is not declared; add it under the top-level ${kind}`,
      );
      continue;
    }
    if (!definition.usable) {
      if (definition.why !== null) yaml.errorAt(ref.sourceNode ?? at, `${item.path}: ${definition.why}`);
      continue;
    }
    const target = normalizeTarget(
      ref.target === undefined
        ? kind === 'secrets'
          ? `/run/secrets/${ref.source}`
          : `/${ref.source}`
        : ref.target.startsWith('/')
          ? ref.target
          : kind === 'secrets'
            ? `/run/secrets/${ref.target}`
            : `/${ref.target}`,
    );
    if (targets.has(target)) {
      yaml.errorAt(at, `${item.path}: ${target} is mounted twice`);
      continue;
    }
    targets.add(target);
    if (
      definition.from === 'host' &&
      (ref.mode !== undefined || ref.uid !== undefined || ref.gid !== undefined)
    ) {
      yaml.warnAt(
        at,
        `${item.path}: mode, uid and gid cannot be given to a host file mounted as it is (docker compose ignores them too); commit the file to the repo to have them applied`,
      );
    }
    const honoured = definition.from !== 'host';
    out.push({
      name: ref.source,
      target,
      from: definition.from,
      digest: definition.digest,
      mode: (honoured ? ref.mode : undefined) ?? definition.defaultMode,
      ...(honoured && ref.uid !== undefined ? { uid: ref.uid } : {}),
      ...(honoured && ref.gid !== undefined ? { gid: ref.gid } : {}),
    });
  }
  return out.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

interface Reference {
  source: string;
  sourceNode: Node | null;
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

function readReference(ctx: StackContext, node: Node | null, path: string, kind: FileKind): Reference | null {
  const { yaml } = ctx;
  if (!yaml.isMap(node)) {
    const source = yaml.string(node, path);
    return source === undefined ? null : { source, sourceNode: node };
  }
  const fields = yaml.map(node, path) ?? [];
  yaml.rejectUnknown(fields, ['source', 'target', 'uid', 'gid', 'mode']);
  const ref: Partial<Reference> = {};
  let ok = true;
  for (const f of fields) {
    const at = f.value ?? f.keyNode;
    switch (f.key) {
      case 'source':
        ref.source = yaml.string(f.value, f.path);
        ref.sourceNode = at;
        if (ref.source === undefined) ok = false;
        break;
      case 'target': {
        const target = yaml.string(f.value, f.path);
        if (target === undefined || target === '') {
          if (target === '') yaml.errorAt(at, `${f.path} is empty`);
          ok = false;
        } else if (!target.startsWith('/') && target.split('/').includes('..')) {
          yaml.errorAt(
            at,
            `${f.path}: "${target}" must stay inside ${kind === 'secrets' ? '/run/secrets' : '/'}; write an absolute path`,
          );
          ok = false;
        } else ref.target = target;
        break;
      }
      case 'uid':
      case 'gid': {
        // compose converts them with Atoi: a number, not a user name.
        const v = yaml.string(f.value, f.path);
        if (v !== undefined && /^\d{1,10}$/.test(v) && Number(v) <= 0xffffffff)
          ref[f.key] = String(Number(v));
        else {
          if (v !== undefined) yaml.errorAt(at, `${f.path} must be a numeric id such as 1000, not "${v}"`);
          ok = false;
        }
        break;
      }
      case 'mode': {
        const mode = readFileMode(ctx, f);
        if (mode === undefined) ok = false;
        else ref.mode = mode;
        break;
      }
    }
  }
  if (ref.source === undefined) {
    if (!fields.some((f) => f.key === 'source')) yaml.errorAt(node, `${path}.source is required`);
    return null;
  }
  return ok ? (ref as Reference) : null;
}

/**
 * Each external secret or config the services of `desired` use, as a sentence: run as containers, the
 * stack has nothing to mount for it (status says so; a sync is refused).
 */
export function externalAsContainers(desired: DesiredStack): string[] {
  return desired.services.flatMap((s) =>
    (['secrets', 'configs'] as const).flatMap((kind) =>
      (s[kind] ?? [])
        .filter((f) => f.from === 'external')
        .map(
          (f) =>
            `${kind}.${f.name} of service "${s.name}" is external: it lives in a Swarm, and the stack runs as containers here, which have no ${SINGULAR[kind]} objects (docker compose refuses it too). Run it as Swarm services (on a Swarm manager; \`mode: swarm\` in mooring.yaml where it says containers), or give it file: or environment: instead.`,
        ),
    ),
  );
}
