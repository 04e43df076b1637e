// A parsed YAML file that remembers where every node is, so that each problem in untrusted input can be
// reported with file, line and column. The loaders read the node tree rather than plain JS values for
// that reason, and this class gives them small typed readers that report instead of throwing.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document, Node, YAMLMap } from 'yaml';
import type { ManifestError } from '../../shared/model.ts';

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

export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export class YamlFile {
  readonly errors: ManifestError[] = [];
  private mergeBudget = MERGE_BUDGET;
  private mergeGaveUp = false;

  private constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** Parses `text`; syntax errors (duplicate keys, unknown tags, several documents too) land in `errors`. */
  static parse(text: string, file: string): YamlFile {
    const lines = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lines,
      merge: true,
      prettyErrors: false,
      uniqueKeys: true,
    });
    const yaml = new YamlFile(file, doc, lines);
    // Warnings are errors here: an unresolved tag such as compose's `!reset` would otherwise be read as
    // a plain string and silently change the meaning of the file.
    for (const problem of [...doc.errors, ...doc.warnings]) {
      yaml.errorAtOffset(problem.pos[0], `YAML: ${yamlMessage(problem.message)}`);
    }
    visit(doc, {
      Alias(_, alias) {
        if (alias.resolve(doc) === undefined) {
          yaml.errorAt(alias, `YAML: alias *${alias.source} names no anchor`);
        }
      },
    });
    return yaml;
  }

  get root(): Node | null {
    return this.doc.contents;
  }

  errorAtOffset(offset: number, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.errors.push({ file: this.file, line, column: col, message });
  }

  /** Reports at `node`, or at the start of the file when there is no node (an empty document). */
  errorAt(node: Node | null | undefined, message: string): void {
    this.errorAtOffset(node?.range?.[0] ?? 0, message);
  }

  /** Follows an alias to the node it names. */
  resolve(node: Node | null | undefined): Node | null {
    if (node == null) return null;
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
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

function yamlMessage(message: string): string {
  // The library's messages sometimes carry a trailing code excerpt; the position is reported separately.
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
