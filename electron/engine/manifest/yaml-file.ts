// A parsed YAML file that remembers where every node is, so that each problem in untrusted input can be
// reported with file, line and column. The loaders read the node tree rather than plain JS values for
// that reason, and this class gives them small typed readers that report instead of throwing.
import { posix } from 'node:path';
import { CST, isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, parseDocument } from 'yaml';
import type { Alias, Document, Node, Scalar, YAMLMap } from 'yaml';
import type { ManifestError, TrustGrant } from '../../shared/model.ts';

export interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
  /** Dotted path for messages, e.g. `services.web.ports`. */
  path: string;
}

export interface Item {
  node: Node | null;
  path: string;
}

// Merge keys can reference maps that merge other maps: bound the work so that a hostile file cannot
// make the loader expand an exponential number of entries.
const MAX_MERGE_DEPTH = 8;
const MERGE_BUDGET = 10_000;
// Bounds on the node tree of untrusted input (issue 10). Compose files nest about six levels; the limit
// keeps every walk of the tree (the library's composer and `visit` recurse) far from the call stack's
// end. Aliases are never copied, but the loaders read through them, so a billion-laughs file could make
// them read one big map again and again: the nodes aliases stand for, counted as if expanded, are
// bounded too.
export const MAX_NESTING = 100;
export const MAX_ALIAS_EXPANSION = 1_000_000;
const NESTING_MESSAGE = `YAML: collections are nested too deeply; the limit is ${MAX_NESTING} levels`;

/**
 * What a file is read in: the repo folder its relative paths (bind mounts, env_file, extends, include)
 * start from, and the variables it was interpolated with. A stack's own files start from the stack
 * folder; an included file from its project_directory; an extended file from its own folder.
 */
export interface SourceContext {
  dir: string;
  vars: Readonly<Record<string, string>>;
}

/** The two YAML tags compose gives a meaning to when files are merged (compose's merge rules). */
export type MergeTag = 'reset' | 'override';

/** A value that read variables which are not set (issue 11, item 9). */
interface Unset {
  names: string[];
  /** The value as written, before interpolation. */
  template: string;
}

export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export class YamlFile {
  readonly errors: ManifestError[] = [];
  /**
   * What is kept but has no effect on this engine, or only in part (a Windows-only key, a key for the
   * compose CLI): the stack is applied, and these are shown beside its plan and status.
   */
  readonly warnings: ManifestError[] = [];
  private mergeBudget = MERGE_BUDGET;
  private mergeGaveUp = false;

  /** What each alias stands for, found in one pass by `checkTree` (see there for why not `Alias.resolve`). */
  private readonly aliases = new Map<Alias, Node>();

  context: SourceContext;
  /** The text the file was parsed from. */
  text = '';
  /**
   * For a stack made of several files (override, include, extends), the file each node of the merged
   * tree comes from, so that every message points into the file the value was written in. Nodes of
   * this file itself are not listed.
   */
  private readonly origins = new Map<Node, YamlFile>();
  /** Nodes tagged `!reset` or `!override`, and the collections that hold one somewhere below. */
  private readonly tags = new Map<Node, MergeTag>();
  private readonly holdsTags = new Set<Node>();
  /** Values that read a variable that is not set, and each such variable where it is first read. */
  private readonly unsetValues = new Map<Node, Unset>();
  private readonly unsetFirst = new Map<string, { node: Node; count: number }>();
  /** Values whose interpolation failed, already reported: later checks say nothing more about them. */
  private readonly failed = new Set<Node>();
  private mergedRoot: Node | null | undefined = undefined;

  private constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {
    this.context = { dir: posix.dirname(file) === '.' ? '' : posix.dirname(file), vars: {} };
  }

  /**
   * Parses `text`; syntax errors (duplicate keys, unknown tags, several documents, too deep a tree too)
   * land in `errors`. Linear in the size of `text`: the caller bounds that size (limits.ts) first.
   */
  static parse(text: string, file: string): YamlFile {
    const lines = new LineCounter();
    const deep = nestingEstimate(text, 2 * MAX_NESTING).offset;
    const doc = parseDocument(deep === null ? text : '', {
      lineCounter: lines,
      merge: true,
      prettyErrors: false,
      // The library's duplicate-key check compares each key with every earlier key of its map: 79 s for a
      // 5 MB file (issue 10, item 11). `checkTree` does the same check with a Set per map.
      uniqueKeys: false,
      // Compose is YAML 1.2: a `%YAML 1.1` directive must not switch to the 1.1 schema (yes/no booleans,
      // sexagesimal numbers), and the explicit tags !!omap, !!set, !!pairs, !!binary and !!timestamp
      // mean nothing to compose (and !!omap's own duplicate check is quadratic), so they stay
      // unresolved and are reported below.
      schema: 'core',
      resolveKnownTags: false,
    });
    const yaml = new YamlFile(file, doc, lines);
    yaml.text = text;
    if (deep !== null) {
      // The lines of the file were never counted; the position is found the slow way, once.
      const before = text.slice(0, deep).split('\n');
      const line = before.length;
      yaml.errors.push({ file, line, column: before[line - 1]!.length + 1, message: NESTING_MESSAGE });
      return yaml;
    }
    // Warnings are errors here: an unresolved tag would otherwise be read as a plain string and silently
    // change the meaning of the file. Compose's own `!reset` and `!override` are the exception: the
    // merge of a stack's files gives them their meaning (compose-merge.ts).
    for (const problem of [...doc.errors, ...doc.warnings]) {
      if (
        problem.code === 'TAG_RESOLVE_FAILED' &&
        /^Unresolved tag: !(reset|override)\b/.test(problem.message)
      ) {
        continue;
      }
      // The library turns a stack overflow while composing a deeply nested collection into this code.
      const message =
        problem.code === 'RESOURCE_EXHAUSTION' ? NESTING_MESSAGE : `YAML: ${yamlMessage(problem.message)}`;
      yaml.errorAtOffset(problem.pos[0], message);
    }
    // A tree with syntax errors is not reliable enough to check further; the loaders stop at them anyway.
    if (doc.errors.length === 0) yaml.checkTree();
    return yaml;
  }

  /** The document's root, or the merged tree of a stack's files once `setRoot` gave one. */
  get root(): Node | null {
    return this.mergedRoot === undefined ? this.doc.contents : this.mergedRoot;
  }

  setRoot(node: Node | null): void {
    this.mergedRoot = node;
  }

  errorAtOffset(offset: number, message: string, grant?: TrustGrant): void {
    const { line, col } = this.lines.linePos(offset);
    this.errors.push({ file: this.file, line, column: col, message, ...(grant ? { grant } : {}) });
  }

  /**
   * Reports at `node`, or at the start of the file when there is no node (an empty document), in the
   * file the node was written in. A refusal of the safety policy passes what would allow it (safety.ts
   * `refuse`). A value whose interpolation failed was reported already and is not reported again; a
   * value that read an unset variable gets the variable named as the cause, in the same message.
   */
  errorAt(node: Node | null | undefined, message: string, grant?: TrustGrant): void {
    if (node != null && this.failed.has(node)) return;
    const cause = node == null ? null : this.unsetCause(node);
    const text = cause === null ? message : `${message} (${cause})`;
    this.errors.push({ ...this.place(node), message: text, ...(grant ? { grant } : {}) });
  }

  /** A warning at `node` (see `warnings`), in the file the node was written in. */
  warnAt(node: Node | null | undefined, message: string): void {
    this.warnings.push({ ...this.place(node), message });
  }

  private place(node: Node | null | undefined): { file: string; line: number; column: number } {
    const source = node == null ? this : (this.origins.get(node) ?? this);
    const { line, col } = source.lines.linePos(node?.range?.[0] ?? 0);
    return { file: source.file, line, column: col };
  }

  // ---- what the merge of a stack's files needs (compose-merge.ts, composition.ts) ----

  /** The folder relative paths in `node` start from (see SourceContext). */
  dirOf(node: Node | null | undefined): string {
    return (node == null ? this : (this.origins.get(node) ?? this)).context.dir;
  }

  /** The variables `node` was interpolated with. */
  varsOf(node: Node | null | undefined): Readonly<Record<string, string>> {
    return (node == null ? this : (this.origins.get(node) ?? this)).context.vars;
  }

  /** The file `node` was written in. */
  fileOf(node: Node | null | undefined): string {
    return (node == null ? this : (this.origins.get(node) ?? this)).file;
  }

  /** Compose's merge tag on `node` (not through an alias: YAML puts no tag on an alias). */
  tagOf(node: Node | null | undefined): MergeTag | undefined {
    return node == null ? undefined : this.tags.get(node);
  }

  /** Whether `node` or anything below it carries a merge tag. */
  hasTags(node: Node | null | undefined): boolean {
    const n = this.resolve(node);
    return n != null && (this.tags.has(n) || this.holdsTags.has(n));
  }

  /**
   * Takes in another file of the stack: its nodes may now appear in this file's tree (a merged root),
   * and every message about them still points into it. Its errors and warnings become this file's.
   */
  adopt(other: YamlFile): void {
    if (other === this) return;
    for (const [alias, target] of other.aliases) this.aliases.set(alias, target);
    for (const [node, tag] of other.tags) this.tags.set(node, tag);
    for (const node of other.holdsTags) this.holdsTags.add(node);
    for (const [node, unset] of other.unsetValues) this.unsetValues.set(node, unset);
    for (const node of other.failed) this.failed.add(node);
    for (const [name, first] of other.unsetFirst) {
      const mine = this.unsetFirst.get(name);
      if (mine === undefined) this.unsetFirst.set(name, { ...first });
      else mine.count += first.count;
    }
    for (const [node, source] of other.origins) this.origins.set(node, source);
    this.errors.push(...other.errors.splice(0));
    this.warnings.push(...other.warnings.splice(0));
    // Without recursion: a file may nest as deep as MAX_NESTING, and be large.
    const stack: (Node | null | undefined)[] = [other.doc.contents];
    while (stack.length > 0) {
      const node = stack.pop();
      if (node == null || this.origins.has(node)) continue;
      this.origins.set(node, other);
      if (isMap(node)) for (const pair of node.items) stack.push(pair.key as Node, pair.value as Node);
      else if (isSeq(node)) for (const item of node.items) stack.push(item as Node);
    }
  }

  /**
   * A node the merge makes in place of `from` (a merged map, an `environment` map item turned into
   * `KEY=value`): it is reported where `from` is, and shares what `from` read of unset variables.
   */
  derive<T extends Node>(node: T, from: Node | null | undefined): T {
    const source = from == null ? null : this.resolve(from);
    if (source == null) return node;
    node.range = source.range;
    const origin = this.origins.get(source);
    if (origin !== undefined) this.origins.set(node, origin);
    const unset = this.unsetValues.get(source);
    if (unset !== undefined) this.unsetValues.set(node, unset);
    if (this.failed.has(source)) this.failed.add(node);
    return node;
  }

  // ---- unset variables (interpolate.ts) ----

  /** `node` read `names` while they were not set (each read as an empty string). */
  noteUnset(node: Scalar, names: string[], template: string): void {
    this.unsetValues.set(node, { names, template });
    for (const name of names) {
      const first = this.unsetFirst.get(name);
      if (first === undefined) this.unsetFirst.set(name, { node, count: 1 });
      else first.count++;
    }
  }

  markFailed(node: Node): void {
    this.failed.add(node);
  }

  /**
   * One warning per unset variable, where it is first read: compose reads it as an empty string and
   * goes on, and so does Mooring, but a person should know (issue 11, item 9). `where` names the file
   * that would define it.
   */
  reportUnset(where: string): void {
    for (const [name, { node, count }] of this.unsetFirst) {
      const more = count > 1 ? ` (and at ${count - 1} more place${count > 2 ? 's' : ''})` : '';
      if (name === 'PWD') {
        // docker compose takes PWD from the shell it runs in: a folder of that machine.
        this.warnAt(
          node,
          `variable PWD is not set, so it reads as an empty string here${more}: docker compose takes it from the folder it runs in, and Mooring reads the stack from git, not from a folder; write ./ instead of \${PWD}/ for a file of the stack`,
        );
        continue;
      }
      this.warnAt(
        node,
        `variable ${name} is not set, so it reads as an empty string here${more}; define it in ${where}, or write \${${name}:-} where an empty value is meant`,
      );
    }
  }

  /** Why `node` (or a value right in it) may be wrong: the unset variables it read, or null. */
  private unsetCause(node: Node): string | null {
    let unset = this.unsetValues.get(node);
    if (unset === undefined && (isMap(node) || isSeq(node))) {
      for (const child of isMap(node) ? node.items.map((p) => p.value as Node | null) : node.items) {
        unset = child == null ? undefined : this.unsetValues.get(child as Node);
        if (unset !== undefined) break;
      }
    }
    if (unset === undefined) return null;
    const names = unset.names.join(', ');
    const verb = unset.names.length > 1 ? 'are' : 'is';
    const value = isScalar(node) ? JSON.stringify(String(node.value)) : 'empty';
    return isScalar(node)
      ? `${names} ${verb} not set, so ${JSON.stringify(unset.template)} reads as ${value}`
      : `${names} ${verb} not set, so ${JSON.stringify(unset.template)} reads as an empty string`;
  }

  /** Follows an alias to the node it names. */
  resolve(node: Node | null | undefined): Node | null {
    if (node == null) return null;
    if (isAlias(node)) return this.aliases.get(node) ?? null;
    return node;
  }

  isNull(node: Node | null | undefined): boolean {
    const n = this.resolve(node);
    return n == null || (isScalar(n) && n.value == null);
  }

  isMap(node: Node | null | undefined): boolean {
    return isMap(this.resolve(node));
  }

  isSeq(node: Node | null | undefined): boolean {
    return isSeq(this.resolve(node));
  }

  /** The plain value of a scalar node, or undefined for collections. */
  scalar(node: Node | null | undefined): unknown {
    const n = this.resolve(node);
    if (n == null) return null;
    return isScalar(n) ? n.value : undefined;
  }

  /** Entries of a map with `<<` merge keys applied (the map's own keys win), or null after reporting. */
  map(node: Node | null | undefined, path: string): Entry[] | null {
    const n = this.resolve(node);
    if (!isMap(n)) {
      this.errorAt(node, `${path} must be a map`);
      return null;
    }
    return this.entries(n, path, 0);
  }

  /** Items of a sequence, or null after reporting. */
  seq(node: Node | null | undefined, path: string): Item[] | null {
    const n = this.resolve(node);
    if (!isSeq(n)) {
      this.errorAt(node, `${path} must be a list`);
      return null;
    }
    return n.items.map((item, i) => ({ node: item as Node | null, path: `${path}[${i}]` }));
  }

  /** A string; numbers are accepted and stringified, as compose does for fields like `user: 1000`. */
  string(node: Node | null | undefined, path: string): string | undefined {
    const v = this.scalar(node);
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    this.errorAt(node, `${path} must be a string`);
    return undefined;
  }

  /** A boolean; `"true"`/`"false"` strings are accepted because interpolation always yields strings. */
  bool(node: Node | null | undefined, path: string): boolean | undefined {
    const v = this.scalar(node);
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
    this.errorAt(node, `${path} must be true or false`);
    return undefined;
  }

  /** An integer in [min, max]; numeric strings are accepted for the same reason as in `bool`. */
  int(node: Node | null | undefined, path: string, min: number, max: number): number | undefined {
    const v = this.scalar(node);
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      this.errorAt(node, `${path} must be a whole number`);
      return undefined;
    }
    if (n < min || n > max) {
      this.errorAt(node, `${path} must be between ${min} and ${max}, not ${n}`);
      return undefined;
    }
    return n;
  }

  /** A list of strings (numbers stringified), or undefined after reporting. */
  stringList(node: Node | null | undefined, path: string): string[] | undefined {
    const items = this.seq(node, path);
    if (items == null) return undefined;
    const out: string[] = [];
    let ok = true;
    for (const item of items) {
      const s = this.string(item.node, item.path);
      if (s === undefined) ok = false;
      else out.push(s);
    }
    return ok ? out : undefined;
  }

  /** Reports every key of `entries` that is not in `known`; keys starting `x-` are extensions and pass. */
  rejectUnknown(entries: Entry[], known: readonly string[]): void {
    for (const e of entries) {
      if (!known.includes(e.key) && !e.key.startsWith('x-')) {
        this.errorAt(e.keyNode, `${e.path}: Mooring does not support \`${e.key}\``);
      }
    }
  }

  /**
   * One pass over the tree in document order, without recursion (a hostile file may nest deeply), that
   * checks what the parser is not asked to check, each in linear time:
   * - nesting deeper than MAX_NESTING;
   * - aliases: the anchor each one names, kept in `aliases` (the library's `Alias.resolve` walks the whole
   *   document for every alias, quadratic in a file of many aliases), and what they would expand to;
   * - duplicate keys, with a Set per map: two keys are one if the loaders would read them as one
   *   (`1` and `"1"`, a key and an alias of it); merge keys `<<` may repeat, as before.
   */
  private checkTree(): void {
    const root = this.doc.contents;
    // A scalar document has nothing below it to check.
    if (!isMap(root) && !isSeq(root)) return;
    interface Frame {
      node: Node;
      children: (Node | null)[];
      next: number;
      /** The node's size with aliases expanded, children included as they finish. */
      size: number;
      /** For a map: each key seen so far and where it is. */
      keys: Map<string, Node> | null;
    }
    const anchors = new Map<string, { node: Node; size: number }>();
    let expansion = 0;
    let reportedExpansion = false;
    const frameOf = (node: Node): Frame => {
      const children: (Node | null)[] = [];
      if (isMap(node))
        for (const pair of node.items) children.push(pair.key as Node | null, pair.value as Node | null);
      else if (isSeq(node)) for (const item of node.items) children.push(item as Node | null);
      return { node, children, next: 0, size: 1, keys: isMap(node) ? new Map() : null };
    };
    const stack: Frame[] = [frameOf(root)];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next === frame.children.length) {
        // The node is complete: only now may an alias name it, so no alias can stand for a node that
        // contains it (which would make the loaders loop).
        stack.pop();
        if (frame.node.anchor) anchors.set(frame.node.anchor, { node: frame.node, size: frame.size });
        if (stack.length > 0) stack[stack.length - 1]!.size += frame.size;
        continue;
      }
      const index = frame.next++;
      const child = frame.children[index] ?? null;
      if (child === null) continue;
      // Compose's merge tags on values (a tag on a key means nothing to compose either).
      if ((child.tag === '!reset' || child.tag === '!override') && (frame.keys === null || index % 2 === 1)) {
        this.tags.set(child, child.tag === '!reset' ? 'reset' : 'override');
        for (const open of stack) this.holdsTags.add(open.node);
        // An unresolved tag leaves a plain scalar a string; `!override 8080` means the number.
        if (isScalar(child) && child.type === 'PLAIN' && typeof child.value === 'string') {
          child.value = coreScalar(child.value);
        }
      }
      let size = 1;
      if (isAlias(child)) {
        const target = anchors.get(child.source);
        if (target === undefined) {
          this.errorAt(child, `YAML: alias *${child.source} names no anchor`);
        } else {
          this.aliases.set(child, target.node);
          size = target.size;
          expansion += target.size;
          if (expansion > MAX_ALIAS_EXPANSION && !reportedExpansion) {
            reportedExpansion = true;
            this.errorAt(
              child,
              `YAML: aliases stand for more than ${MAX_ALIAS_EXPANSION.toLocaleString('en-US')} nodes in all; write the content out instead of repeating aliases of large anchors`,
            );
          }
        }
      }
      // Keys sit at the even places of a map's children; they are complete here (a scalar or an alias).
      if (frame.keys !== null && index % 2 === 0) this.checkDuplicate(frame.keys, child);
      if (isMap(child) || isSeq(child)) {
        // `nestingEstimate` already refused anything near the call stack's end; this is the exact count.
        if (stack.length >= MAX_NESTING) {
          this.errorAt(child, NESTING_MESSAGE);
          return;
        }
        stack.push(frameOf(child));
        continue;
      }
      if (child.anchor) anchors.set(child.anchor, { node: child, size });
      frame.size += size;
    }
  }

  private checkDuplicate(keys: Map<string, Node>, keyNode: Node): void {
    const key = this.keyOf(keyNode);
    // A collection or null key is reported where a loader reads the map; merge keys may repeat.
    if (key === null || key === MERGE) return;
    const first = keys.get(key);
    if (first === undefined) {
      keys.set(key, keyNode);
      return;
    }
    const { line, col } = this.lines.linePos(first.range?.[0] ?? 0);
    this.errorAt(
      keyNode,
      `YAML: Map keys must be unique; ${quoteKey(key)} is already at line ${line}, column ${col}`,
    );
  }

  private entries(map: YAMLMap, path: string, depth: number): Entry[] {
    const own = new Set<string>();
    for (const pair of map.items) {
      const key = this.keyOf(pair.key as Node | null);
      if (key !== null && key !== MERGE) own.add(key);
    }
    const seen = new Set<string>();
    const out: Entry[] = [];
    for (const pair of map.items) {
      const keyNode = pair.key as Node;
      const key = this.keyOf(keyNode);
      if (key === null) {
        this.errorAt(keyNode, `${path}: keys must be plain strings`);
        continue;
      }
      if (key !== MERGE) {
        seen.add(key);
        out.push({ key, keyNode, value: (pair.value as Node | null) ?? null, path: joinPath(path, key) });
        continue;
      }
      for (const merged of this.mergeSources(pair.value as Node | null, path, depth)) {
        // Earlier sources win over later ones, and the map's own keys over all of them.
        if (own.has(merged.key) || seen.has(merged.key)) continue;
        seen.add(merged.key);
        out.push(merged);
      }
    }
    return out;
  }

  private mergeSources(value: Node | null, path: string, depth: number): Entry[] {
    if (this.mergeGaveUp) return [];
    const target = this.resolve(value);
    const sources = isSeq(target) ? (target.items as (Node | null)[]) : [value];
    const out: Entry[] = [];
    for (const source of sources) {
      const m = this.resolve(source);
      if (!isMap(m)) {
        this.errorAt(source ?? value, `${path}: a merge key \`<<\` must point to a map or a list of maps`);
        continue;
      }
      if (depth >= MAX_MERGE_DEPTH || (this.mergeBudget -= m.items.length) < 0) {
        this.mergeGaveUp = true;
        this.errorAt(source, `${path}: merge keys are nested too deeply or too many`);
        return [];
      }
      out.push(...this.entries(m, path, depth + 1));
    }
    return out;
  }

  private keyOf(node: Node | null): string | null {
    const n = this.resolve(node);
    if (!isScalar(n)) return null;
    const v = n.value;
    if (typeof v === 'symbol' || v === '<<') return MERGE;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return null;
  }
}

const MERGE = '<<';

/** A plain scalar as YAML 1.2's core schema reads it (null, booleans, numbers), else the string. */
function coreScalar(text: string): unknown {
  if (/^(?:~|null|Null|NULL)?$/.test(text)) return null;
  if (/^(?:true|True|TRUE)$/.test(text)) return true;
  if (/^(?:false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(text)) return NaN;
  return text;
}

/**
 * Where `text` might nest collections more than twice MAX_NESTING deep, or null. Read from the lexer's
 * tokens, linearly and without recursion, before the composer recurses into the tree: a file of 100,000
 * `[` makes it overflow the call stack, and an overflow at the wrong moment (V8 compiling a regular
 * expression) ends the whole process instead of throwing.
 *
 * The count never falls short of the real depth: a line's content is at most one level deeper than the
 * deepest point of the nearest less indented lines, each indicator (`-`, `?`, `:`) on a line may open one
 * more level, and each open bracket one more. It may count about twice the real depth (every `:` counts,
 * and so does each indentation step), hence the margin: the exact MAX_NESTING is checked on the tree
 * (`checkTree`). test/unit/manifest-limits.test.ts checks the bound on random documents.
 */
export function nestingEstimate(text: string, limit: number): { depth: number; offset: number | null } {
  /** Block indentation levels open above the current line: each with its first and deepest count. */
  const levels: { indent: number; base: number; deepest: number }[] = [];
  let flow = 0;
  let indicators = 0;
  let offset = 0;
  let lineStart = true;
  let indent = 0;
  let scalarNext = false;
  let depth = 0;
  for (const token of new Lexer().lex(text)) {
    const at = offset;
    // The lexer's markers for a document, a scalar and a flow error are not part of the text.
    if (token !== DOCUMENT && token !== SCALAR && token !== FLOW_ERROR_END) offset += token.length;
    if (scalarNext) {
      // A scalar's content (which may hold anything, brackets too) follows its marker; a block scalar's
      // ends with its last newline.
      scalarNext = false;
      lineStart = token.endsWith('\n');
      indent = 0;
      continue;
    }
    const type = CST.tokenType(token);
    if (type === 'newline') {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (type === 'space') {
      if (lineStart) indent = token.length - token.trimStart().length;
      continue;
    }
    if (
      type === 'comment' ||
      type === 'doc-mode' ||
      type === 'byte-order-mark' ||
      type === 'flow-error-end'
    ) {
      continue;
    }
    if (lineStart && flow === 0) {
      // A line's first content sets the block indentation; blank and comment lines do not.
      while (levels.length > 0 && levels[levels.length - 1]!.indent > indent) levels.pop();
      const top = levels[levels.length - 1];
      if (top === undefined || top.indent < indent) {
        const base = (top?.deepest ?? 0) + 1;
        levels.push({ indent, base, deepest: base });
      }
      indicators = 0;
    }
    lineStart = false;
    if (type === 'scalar') scalarNext = true;
    else if (type === 'flow-seq-start' || type === 'flow-map-start') flow++;
    else if (type === 'flow-seq-end' || type === 'flow-map-end') flow = Math.max(0, flow - 1);
    else if (
      flow === 0 &&
      (type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind')
    ) {
      indicators++;
    }
    const level = levels[levels.length - 1];
    const here = (level?.base ?? 1) + indicators + flow;
    if (level !== undefined) level.deepest = Math.max(level.deepest, here);
    depth = Math.max(depth, here);
    if (here > limit) return { depth, offset: at };
  }
  return { depth, offset: null };
}

const DOCUMENT = '\x02';
const SCALAR = '\x1f';
const FLOW_ERROR_END = '\x18';

/** A key for a message: quoted, and cut short (a key may be as long as the file). */
function quoteKey(key: string): string {
  return JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key);
}

function yamlMessage(message: string): string {
  // The library's messages sometimes carry a trailing code excerpt; the position is reported separately.
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
