// Which compose files make a stack, and how they make one model, as docker compose v2 does it
// (issue 11, item 1): the stack's compose file and its compose.override.yaml (or the files COMPOSE_FILE
// in the stack's .env names), each interpolated, with its `include`s imported and its `extends`
// resolved, merged in order by compose's rules (compose-merge.ts).
//
// Every file is read from the config repo at the revision: an include, an extended file, an include's
// env_file outside the repo is refused, as is one on another machine (a URL). The merged tree is made of
// the files' own nodes, so that each message points into the file a value was written in.
import { posix } from 'node:path';
import { isMap, isScalar, Pair } from 'yaml';
import type { Node } from 'yaml';
import type { ManifestError, SafetySettings } from '../../shared/model.ts';
import { Merger } from './compose-merge.ts';
import { parseDotenv } from './dotenv.ts';
import { interpolate, interpolateDocument } from './interpolate.ts';
import { checkFileSize, formatBytes } from './limits.ts';
import { resolveRepoPath } from './mounts.ts';
import { projectName } from './project-name.ts';
import type { RepoReader } from './types.ts';
import { YamlFile } from './yaml-file.ts';
import type { Entry } from './yaml-file.ts';

/** The override files compose looks for beside the stack's compose file, in its order of preference. */
export const OVERRIDE_FILE_NAMES = [
  'compose.override.yml',
  'compose.override.yaml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
];

/** What `include` imports from an included project; the rest of it (its name, x- keys) stays there. */
const IMPORTED = ['services', 'volumes', 'networks', 'secrets', 'configs', 'models'];
/** Compose files one stack may read in all (each include and extended file counts once per use). */
export const MAX_COMPOSE_FILES = 100;
/** How long a chain of `extends` may be. */
export const MAX_EXTENDS_DEPTH = 64;

export interface ComposeOptions {
  reader: RepoReader;
  stackDir: string;
  /** The stack's compose file (the one that makes the folder a stack). */
  composeFile: string;
  safety: SafetySettings;
  /** The stack's .env, parsed (without COMPOSE_PROJECT_NAME, which depends on the name). */
  vars: Readonly<Record<string, string>>;
  /** What env files may still add up to (shared with the services' env_file). */
  budget: { envBytes: number };
}

export type Composed =
  | {
      ok: true;
      /** Its root is the stack's merged model; every file of the stack is adopted into it. */
      yaml: YamlFile;
      name: string;
      /** The stack's variables with COMPOSE_PROJECT_NAME. */
      vars: Record<string, string>;
      /** Every compose file read, in order. */
      files: string[];
    }
  | { ok: false; name: string; errors: ManifestError[] };

export async function composeStack(opts: ComposeOptions): Promise<Composed> {
  const folder = posix.basename(opts.stackDir);
  const fallbackName = projectName(folder) || folder;
  const fail = (errors: ManifestError[]): Composed => ({ ok: false, name: fallbackName, errors });
  const reading = new Reading(opts);

  const paths = await reading.stackFiles();
  if (paths === null) return fail(reading.errors);
  const files: YamlFile[] = [];
  for (const path of paths) {
    const file = await reading.parse(path, null);
    if (file !== null) files.push(file);
  }
  if (reading.errors.length > 0 || files.length === 0) return fail(reading.errors);

  const name = readName(files, opts.vars, folder, reading.errors);
  if (name === null) return fail(reading.errors);
  const vars: Record<string, string> = { ...opts.vars, COMPOSE_PROJECT_NAME: name };
  const main = files[0]!;

  const envName = opts.vars.COMPOSE_PROJECT_NAME;
  if (envName !== undefined && envName !== '' && envName !== name) {
    main.warnAt(
      null,
      `COMPOSE_PROJECT_NAME=${envName} in ${posix.join(opts.stackDir, '.env')} names the project for docker compose, but Mooring names a stack by its compose name: or its folder ("${name}"); write name: ${envName} in ${main.file} to use that name`,
    );
  }

  // Most stacks are one file without include, extends or merge tags: read as it is, as before.
  if (files.length === 1 && !needsComposition(main)) {
    main.context = { dir: opts.stackDir, vars };
    if (main.text.includes('$')) interpolateDocument(main, vars);
    main.warnings.push(...reading.warnings);
    main.errors.push(...reading.errors);
    main.reportUnset(posix.join(opts.stackDir, '.env'));
    return { ok: true, yaml: main, name, vars, files: paths };
  }

  const composer = new Composer(reading, main);
  let model: Node | null = null;
  for (const file of files) {
    const own = await composer.model(file, { dir: opts.stackDir, vars }, [file.file]);
    if (own !== null) model = composer.merger.merge(model, own, []);
  }
  main.setRoot(composer.merger.finish(model));
  main.warnings.push(...reading.warnings);
  main.errors.push(...reading.errors);
  main.reportUnset(posix.join(opts.stackDir, '.env'));
  return { ok: true, yaml: main, name, vars, files: reading.read };
}

/** Whether the single file needs the merge machinery: include, extends, or compose's merge tags. */
function needsComposition(file: YamlFile): boolean {
  const root = file.root;
  if (!isMap(root)) return false;
  if (file.hasTags(root)) return true;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? pair.key.value : null;
    if (key === 'include') return true;
    if (key !== 'services') continue;
    const services = file.resolve(pair.value as Node | null);
    if (!isMap(services)) continue;
    for (const service of services.items) {
      const s = file.resolve(service.value as Node | null);
      if (isMap(s) && s.items.some((p) => isScalar(p.key) && p.key.value === 'extends')) return true;
    }
  }
  return false;
}

/**
 * The project name: the last `name:` of the stack's files (interpolated), else the folder's, as
 * compose finds it. (COMPOSE_PROJECT_NAME in .env is not taken: see the warning in composeStack.)
 */
function readName(
  files: YamlFile[],
  vars: Readonly<Record<string, string>>,
  folder: string,
  errors: ManifestError[],
): string | null {
  let raw: string | null = null;
  let at: { file: YamlFile; node: Node | null } | null = null;
  for (const file of files) {
    const root = file.root;
    if (!isMap(root)) continue;
    const pair = root.items.find((p) => isScalar(p.key) && p.key.value === 'name');
    if (pair === undefined) continue;
    const node = file.resolve(pair.value as Node | null);
    const value = file.scalar(node);
    if (typeof value !== 'string' && typeof value !== 'number') {
      file.errorAt(node ?? (pair.key as Node), 'name must be a string');
      errors.push(...file.errors.splice(0));
      return null;
    }
    const result = interpolate(String(value), vars);
    if (!result.ok) {
      file.errorAt(node, `name: ${result.error}`);
      errors.push(...file.errors.splice(0));
      return null;
    }
    if (result.value !== '') {
      raw = result.value;
      at = { file, node };
    }
  }
  if (raw === null || at === null) {
    const name = projectName(folder);
    if (name !== '') return name;
    files[0]!.errorAt(null, `the folder name "${folder}" has no letters or digits; set a top-level name:`);
    errors.push(...files[0]!.errors.splice(0));
    return null;
  }
  const name = projectName(raw);
  if (name !== '') return name;
  at.file.errorAt(at.node, `name: "${raw}" has no letters or digits`);
  errors.push(...at.file.errors.splice(0));
  return null;
}

/** Reads the stack's files from the repo, within the stack's budget, and keeps what went wrong. */
class Reading {
  readonly errors: ManifestError[] = [];
  readonly warnings: ManifestError[] = [];
  /** Every compose file read, in order, once each. */
  readonly read: string[] = [];
  private files = 0;
  private bytes: number;
  private readonly texts = new Map<string, string | null>();

  constructor(readonly opts: ComposeOptions) {
    this.bytes = 4 * opts.safety.maxManifestBytes;
  }

  /** The stack's own files: COMPOSE_FILE of its .env, else its compose file and the override beside it. */
  async stackFiles(): Promise<string[] | null> {
    const { stackDir, composeFile, vars } = this.opts;
    const envFile = posix.join(stackDir, '.env');
    const listed = vars.COMPOSE_FILE;
    if (listed !== undefined && listed !== '') {
      const separator = vars.COMPOSE_PATH_SEPARATOR || ':';
      const paths: string[] = [];
      for (const entry of listed.split(separator)) {
        if (entry === '') continue;
        const path = repoPath(stackDir, entry);
        if (path === null) {
          this.errors.push({
            file: envFile,
            line: 1,
            column: 1,
            message: `COMPOSE_FILE names ${entry}, which is not a path inside the config repo; name the stack's compose files relative to its folder`,
          });
          return null;
        }
        paths.push(path);
      }
      if (paths.length > 0) return paths;
    }
    const overrides: string[] = [];
    for (const name of OVERRIDE_FILE_NAMES) {
      const path = posix.join(stackDir, name);
      if ((await this.text(path)) !== null) overrides.push(path);
    }
    if (overrides.length > 1) {
      this.warnings.push({
        file: overrides[1]!,
        line: 1,
        column: 1,
        message: `${overrides.length} override files are in ${stackDir || 'the repo root'}; like docker compose, Mooring merges only ${posix.basename(overrides[0]!)}, so this one is not read`,
      });
    }
    return overrides.length > 0 ? [composeFile, overrides[0]!] : [composeFile];
  }

  /** A file of the repo, read once. */
  async text(path: string): Promise<string | null> {
    if (!this.texts.has(path)) this.texts.set(path, await this.opts.reader.readFile(path));
    return this.texts.get(path)!;
  }

  /**
   * Reads and parses a compose file, counting it against the stack's budget; null after reporting.
   * `from` is where it is named (an include or extends entry), for the error when it is missing.
   */
  async parse(path: string, from: { yaml: YamlFile; node: Node | null } | null): Promise<YamlFile | null> {
    const report = (message: string): null => {
      if (from === null) this.errors.push({ file: path, line: 1, column: 1, message });
      else from.yaml.errorAt(from.node, message);
      return null;
    };
    if (++this.files > MAX_COMPOSE_FILES) {
      if (this.files === MAX_COMPOSE_FILES + 1) {
        report(
          `this stack reads more than ${MAX_COMPOSE_FILES} compose files (include and extends included); a file that includes another many times is the usual cause`,
        );
      }
      return null;
    }
    const text = await this.text(path);
    if (text === null) return report(`${path} does not exist in the config repo at this revision`);
    const tooLarge = checkFileSize(text, path, this.opts.safety.maxManifestBytes);
    if (tooLarge !== null) {
      this.errors.push(tooLarge);
      return null;
    }
    this.bytes -= text.length;
    if (this.bytes < 0) {
      return report(
        `the compose files of this stack add up to more than ${formatBytes(4 * this.opts.safety.maxManifestBytes)} (include and extends counted each time); raise safety.maxManifestBytes in settings.json if this is meant`,
      );
    }
    const file = YamlFile.parse(text, path);
    if (!this.read.includes(path)) this.read.push(path);
    if (file.errors.length > 0) {
      this.errors.push(...file.errors.splice(0));
      return null;
    }
    return file;
  }

  /** An env file for an include: its variables, looked up after `vars`, or null after reporting. */
  async env(
    path: string,
    vars: Readonly<Record<string, string>>,
    initial: Record<string, string>,
  ): Promise<Record<string, string> | null> {
    const text = await this.text(path);
    if (text === null) return null;
    const tooLarge = checkFileSize(text, path, this.opts.safety.maxManifestBytes);
    if (tooLarge !== null) {
      this.errors.push(tooLarge);
      return {};
    }
    this.opts.budget.envBytes -= text.length;
    if (this.opts.budget.envBytes < 0) {
      this.errors.push({
        file: path,
        line: 1,
        column: 1,
        message: `${path} brings the env files of this stack past ${formatBytes(this.opts.safety.maxManifestBytes)} in all, the limit of safety.maxManifestBytes in settings.json`,
      });
      return {};
    }
    const parsed = parseDotenv(text, path, { lookup: (k) => own(vars, k), initial });
    this.errors.push(...parsed.errors);
    this.warnings.push(...parsed.warnings);
    return parsed.vars;
  }
}

interface Load {
  file: YamlFile;
  /** The model's services after include, by name: each resolved at most once. */
  services: Map<string, { keyNode: Node; value: Node | null; resolved?: Node | null }>;
  dir: string;
  vars: Readonly<Record<string, string>>;
}

interface Context {
  dir: string;
  vars: Readonly<Record<string, string>>;
}

interface IncludeItem {
  node: Node | null;
  paths: { path: string; node: Node | null }[];
  projectDirectory?: { path: string; node: Node | null };
  envFiles?: { path: string; node: Node | null }[];
}

/** One file's model: interpolated, its includes imported, its extends resolved. */
class Composer {
  readonly merger: Merger;
  /** Files loaded for `extends: file:`, by path and variables (the same file may be read twice). */
  private readonly extendsLoads = new Map<
    string,
    { vars: Readonly<Record<string, string>>; load: Load | null }[]
  >();

  constructor(
    private readonly reading: Reading,
    private readonly yaml: YamlFile,
  ) {
    this.merger = new Merger(yaml);
  }

  /**
   * The model of one file of a project, read in `context`; `chain` holds the files whose includes led
   * here, this one last (an include cycle is an error, as in compose).
   */
  async model(file: YamlFile, context: Context, chain: string[]): Promise<Node | null> {
    const root = this.take(file, context);
    if (root === null) return null;
    let entries = this.yaml.map(root, '') ?? [];
    const include = entries.find((e) => e.key === 'include');
    if (include !== undefined) entries = await this.importIncludes(entries, include, context, chain);
    const load: Load = { file, services: servicesOf(this.yaml, entries), ...context };
    let changed = include !== undefined;
    if ([...load.services.values()].some((s) => this.extendsEntry(s.value) !== undefined)) {
      const pairs: Pair<Node, Node | null>[] = [];
      for (const [name, service] of load.services) {
        pairs.push(new Pair(service.keyNode, await this.resolveService(load, name, [])));
      }
      const at = entries.find((e) => e.key === 'services')!;
      const services = this.merger.map(pairs, this.yaml.resolve(at.value) ?? at.keyNode);
      entries = entries.map((e) => (e === at ? { ...e, value: services } : e));
      changed = true;
    }
    // Without include or extends, the file's own tree is its model (its tags still in it).
    if (!changed) return root;
    return this.merger.map(
      entries.map((e) => new Pair(e.keyNode, e.value)),
      root,
    );
  }

  /** Interpolates `file` in `context` and takes it into the stack's tree; its root if a map, else null. */
  private take(file: YamlFile, context: Context): Node | null {
    file.context = context;
    if (file.text.includes('$')) interpolateDocument(file, context.vars);
    this.yaml.adopt(file);
    const root = file.root;
    // An empty file adds nothing (compose reads no document from it).
    if (root === null || (isScalar(root) && root.value == null)) return null;
    if (!isMap(root)) {
      this.yaml.errorAt(root, 'a compose file must be a map with a `services` key');
      return null;
    }
    return root;
  }

  // ---- include ----

  /**
   * The file's top level with what its includes define imported: services, networks, volumes, secrets
   * and configs of the included projects are added; one the file defines too is merged, the file's own
   * definition over the included one (compose since v5; v2 refused it), and an earlier include over a
   * later one.
   */
  private async importIncludes(
    entries: Entry[],
    include: Entry,
    context: Context,
    chain: string[],
  ): Promise<Entry[]> {
    const models: Node[] = [];
    for (const item of this.includeItems(include)) {
      const model = await this.loadIncluded(item, context, chain);
      if (model !== null) models.push(model);
    }
    let imported: Node | null = null;
    for (let k = models.length - 1; k >= 0; k--) imported = this.merger.merge(imported, models[k]!, []);
    const out = entries.filter((e) => e.key !== 'include');
    if (imported === null) return out;
    const from = new Map((this.yaml.map(imported, '') ?? []).map((e) => [e.key, e]));
    const merged = out.map((e) => {
      const theirs = from.get(e.key);
      if (theirs === undefined || !IMPORTED.includes(e.key)) return e;
      return { ...e, value: this.merger.merge(theirs.value, e.value, [e.key]) };
    });
    for (const key of IMPORTED) {
      const theirs = from.get(key);
      if (theirs !== undefined && !out.some((e) => e.key === key)) merged.push(theirs);
    }
    return merged;
  }

  private includeItems(include: Entry): IncludeItem[] {
    const { yaml } = this;
    if (yaml.isNull(include.value)) return [];
    const out: IncludeItem[] = [];
    for (const item of yaml.seq(include.value, include.path) ?? []) {
      if (!yaml.isMap(item.node)) {
        const path = yaml.string(item.node, item.path);
        if (path !== undefined) out.push({ node: item.node, paths: [{ path, node: item.node }] });
        continue;
      }
      const fields = yaml.map(item.node, item.path) ?? [];
      yaml.rejectUnknown(fields, ['path', 'project_directory', 'env_file']);
      const entry: IncludeItem = { node: item.node, paths: [] };
      for (const f of fields) {
        if (f.key === 'path') entry.paths = this.stringOrList(f);
        else if (f.key === 'env_file') entry.envFiles = this.stringOrList(f);
        else if (f.key === 'project_directory') {
          const path = yaml.string(f.value, f.path);
          if (path !== undefined) entry.projectDirectory = { path, node: f.value };
        }
      }
      if (!fields.some((f) => f.key === 'path')) yaml.errorAt(item.node, `${item.path}.path is required`);
      else if (entry.paths.length > 0) out.push(entry);
    }
    return out;
  }

  private stringOrList(e: Entry): { path: string; node: Node | null }[] {
    const { yaml } = this;
    if (!yaml.isSeq(e.value)) {
      const path = yaml.string(e.value, e.path);
      return path === undefined ? [] : [{ path, node: e.value }];
    }
    const out: { path: string; node: Node | null }[] = [];
    for (const item of yaml.seq(e.value, e.path) ?? []) {
      const path = yaml.string(item.node, item.path);
      if (path !== undefined) out.push({ path, node: item.node });
    }
    return out;
  }

  /** An included project: its files merged, read in its own folder with its own variables. */
  private async loadIncluded(item: IncludeItem, context: Context, chain: string[]): Promise<Node | null> {
    const { yaml } = this;
    const where = context.dir === '' ? 'the repo root' : context.dir;
    const inRepo = (p: { path: string; node: Node | null }, what: string): string | null => {
      const path = repoPath(context.dir, p.path);
      if (path === null) {
        yaml.errorAt(
          p.node,
          `include: ${what} ${p.path} must be a path inside the config repo, relative to ${where}; Mooring reads every compose file from the repo at the revision`,
        );
      }
      return path;
    };
    const paths: string[] = [];
    for (const p of item.paths) {
      const path = inRepo(p, 'path');
      if (path === null) return null;
      paths.push(path);
    }
    const first = paths[0]!;
    if (chain.includes(first)) {
      yaml.errorAt(item.paths[0]!.node, `include cycle: ${[...chain, first].join(' includes ')}`);
      return null;
    }
    let projectDir = posix.dirname(first) === '.' ? '' : posix.dirname(first);
    if (item.projectDirectory !== undefined) {
      const dir = inRepo(item.projectDirectory, 'project_directory');
      if (dir === null) return null;
      projectDir = dir;
    }
    // Its variables: its env files (by default its project folder's .env), under the including
    // project's own, which win (compose: "the local project's environment has precedence").
    let envVars: Record<string, string> = {};
    const envFiles = item.envFiles ?? [
      { path: posix.join(projectDir, '.env'), node: item.node, implicit: true },
    ];
    for (const f of envFiles) {
      if (f.path === '/dev/null') continue;
      const implicit = 'implicit' in f;
      const path = implicit ? f.path : inRepo(f, 'env_file');
      if (path === null) return null;
      const vars = await this.reading.env(path, context.vars, envVars);
      if (vars === null) {
        if (implicit) continue;
        yaml.errorAt(f.node, `include: env_file ${path} does not exist in the config repo at this revision`);
        return null;
      }
      envVars = vars;
    }
    const included: Context = { dir: projectDir, vars: { ...envVars, ...context.vars } };
    let model: Node | null = null;
    for (const [i, path] of paths.entries()) {
      const file = await this.reading.parse(path, { yaml, node: item.paths[i]!.node });
      if (file === null) return null;
      const own = await this.model(file, included, [...chain, first]);
      if (own !== null) model = this.merger.merge(model, own, []);
    }
    return model;
  }

  // ---- extends ----

  private extendsEntry(service: Node | null): Entry | undefined {
    const s = this.yaml.resolve(service);
    if (!isMap(s)) return undefined;
    return s.items.some((p) => isScalar(p.key) && p.key.value === 'extends')
      ? (this.yaml.map(s, '') ?? []).find((e) => e.key === 'extends')
      : undefined;
  }

  /**
   * A service with its `extends` applied: the service it names (itself extended first) with this one
   * merged onto it by compose's rules, `extends` removed. `chain` holds the services that led here.
   */
  private async resolveService(load: Load, name: string, chain: string[]): Promise<Node | null> {
    const record = load.services.get(name)!;
    if (record.resolved !== undefined) return record.resolved;
    const ext = this.extendsEntry(record.value);
    if (ext === undefined) {
      record.resolved = record.value;
      return record.value;
    }
    const { yaml } = this;
    const path = `services.${name}.extends`;
    const own = this.merger.map(
      (yaml.map(record.value, `services.${name}`) ?? [])
        .filter((e) => e.key !== 'extends')
        .map((e) => new Pair(e.keyNode, e.value)),
      yaml.resolve(record.value)!,
    );
    record.resolved = own;
    const ref = this.readExtends(ext, path);
    if (ref === null) return own;
    let base = load;
    let file = load.file.file;
    if (ref.file !== undefined) {
      const target = repoPath(load.dir, ref.file.path);
      if (target === null) {
        yaml.errorAt(
          ref.file.node,
          `${path}.file: ${ref.file.path} must be a path inside the config repo, relative to ${load.dir === '' ? 'the repo root' : load.dir}`,
        );
        return own;
      }
      const other = await this.extendsLoad(target, load.vars, ref.file.node);
      if (other === null) return own;
      base = other;
      file = target;
    }
    const me = `${load.file.file}: ${name}`;
    const them = `${file}: ${ref.service}`;
    if (chain.includes(them) || them === me) {
      yaml.errorAt(ext.value ?? ext.keyNode, `${path}: extends cycle: ${[...chain, me, them].join(' → ')}`);
      return own;
    }
    if (chain.length >= MAX_EXTENDS_DEPTH) {
      yaml.errorAt(
        ext.value ?? ext.keyNode,
        `${path}: more than ${MAX_EXTENDS_DEPTH} services extend one another in a chain`,
      );
      return own;
    }
    if (!base.services.has(ref.service)) {
      yaml.errorAt(ext.value ?? ext.keyNode, `${path}: service "${ref.service}" is not defined in ${file}`);
      return own;
    }
    const resolved = await this.resolveService(base, ref.service, [...chain, me]);
    const merged = this.merger.merge(resolved, own, ['services', name]);
    record.resolved = merged;
    return merged;
  }

  private readExtends(
    ext: Entry,
    path: string,
  ): { service: string; file?: { path: string; node: Node | null } } | null {
    const { yaml } = this;
    if (!yaml.isMap(ext.value)) {
      const service = yaml.string(ext.value, path);
      return service === undefined ? null : { service };
    }
    const fields = yaml.map(ext.value, path) ?? [];
    yaml.rejectUnknown(fields, ['service', 'file']);
    const service = fields.find((f) => f.key === 'service');
    if (service === undefined) {
      yaml.errorAt(ext.value, `${path}.service is required`);
      return null;
    }
    const name = yaml.string(service.value, service.path);
    if (name === undefined) return null;
    const file = fields.find((f) => f.key === 'file');
    if (file === undefined) return { service: name };
    const filePath = yaml.string(file.value, file.path);
    return filePath === undefined ? null : { service: name, file: { path: filePath, node: file.value } };
  }

  /** A file read for `extends: file:`, in its own folder with the variables of the file that names it. */
  private async extendsLoad(
    path: string,
    vars: Readonly<Record<string, string>>,
    node: Node | null,
  ): Promise<Load | null> {
    const known = this.extendsLoads.get(path) ?? [];
    const hit = known.find((k) => k.vars === vars);
    if (hit !== undefined) return hit.load;
    const entry: { vars: Readonly<Record<string, string>>; load: Load | null } = { vars, load: null };
    this.extendsLoads.set(path, [...known, entry]);
    const file = await this.reading.parse(path, { yaml: this.yaml, node });
    if (file === null) return null;
    const context = { dir: posix.dirname(path) === '.' ? '' : posix.dirname(path), vars };
    const root = this.take(file, context);
    const entries = root === null ? [] : (this.yaml.map(root, '') ?? []);
    entry.load = { file, services: servicesOf(this.yaml, entries), ...context };
    return entry.load;
  }
}

function servicesOf(yaml: YamlFile, entries: Entry[]): Load['services'] {
  const out: Load['services'] = new Map();
  const services = entries.find((e) => e.key === 'services');
  if (services === undefined || yaml.isNull(services.value) || !yaml.isMap(services.value)) return out;
  for (const e of yaml.map(services.value, 'services') ?? [])
    out.set(e.key, { keyNode: e.keyNode, value: e.value });
  return out;
}

/** `path` written in a file whose relative paths start at `dir`, as a repo path; null if not in the repo. */
function repoPath(dir: string, path: string): string | null {
  if (path.startsWith('/') || path.startsWith('~') || /^[a-z][a-z0-9+.-]*:/i.test(path)) return null;
  return resolveRepoPath(dir, path);
}

function own(vars: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.hasOwn(vars, name) ? vars[name] : undefined;
}
