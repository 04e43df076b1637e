// How a drift's values read (issue 13, item 7): commands as a shell would show them, lists one item
// per line, and the words that differ between git and the engine marked, computed with jsdiff.
import { diffWordsWithSpace } from 'diff';

export interface Segment {
  text: string;
  /** Not in the other side's value. */
  changed: boolean;
}

/** Fields whose value is an argv (JSON array): shown as one shell-like line. */
const ARGV_FIELDS = new Set(['command', 'entrypoint']);
/** Fields the engine's side joins with ", " (docker/fields.ts): shown one item per line. */
const JOINED_LISTS = new Set([
  'ports',
  'networks',
  'extra_hosts',
  'cap_add',
  'cap_drop',
  'devices',
  'security_opt',
  'expose',
  'links',
  'external_links',
  'volumes_from',
  'mounts',
  'volumes',
  'dns',
  'dns_search',
  'tmpfs',
]);

/** A value as a person reads it; `null` stays null (absent on that side). */
export function prettyValue(path: string, value: string | null): string | null {
  if (value === null) return null;
  const parsed = parseJson(value);
  if (Array.isArray(parsed) && parsed.every(isScalar)) {
    const args = parsed.map(String);
    return ARGV_FIELDS.has(path) ? shellJoin(args) : args.join('\n');
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
    // A healthcheck and other small objects: one `key: value` per line, argv values shell-joined.
    return Object.entries(parsed as Record<string, unknown>)
      .map(
        ([k, v]) =>
          `${k}: ${Array.isArray(v) && v.every(isScalar) ? shellJoin(v.map(String)) : scalarText(v)}`,
      )
      .join('\n');
  }
  if (JOINED_LISTS.has(path) && value.includes(', ')) return value.split(', ').join('\n');
  return value;
}

/** Arguments as a POSIX shell would need them typed: quoted only where a character needs it. */
export function shellJoin(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/**
 * Each side's value cut into what the two share and what only it has, word by word (whitespace kept,
 * so that line breaks of pretty values stay where they are).
 */
export function wordDiff(desired: string, live: string): { desired: Segment[]; live: Segment[] } {
  const out = { desired: [] as Segment[], live: [] as Segment[] };
  for (const part of diffWordsWithSpace(desired, live)) {
    if (part.removed) push(out.desired, part.value, true);
    else if (part.added) push(out.live, part.value, true);
    else {
      push(out.desired, part.value, false);
      push(out.live, part.value, false);
    }
  }
  return out;
}

/** Adds a segment, merged with the last one when both are (un)changed: fewer, longer marks. */
function push(list: Segment[], text: string, changed: boolean): void {
  const last = list.at(-1);
  if (last && last.changed === changed) last.text += text;
  else list.push({ text, changed });
}

function parseJson(value: string): unknown {
  if (!/^[[{]/.test(value)) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function scalarText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
