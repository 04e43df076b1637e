// The dotenv format of compose's `.env` and `env_file`, read as compose-go reads it (issue 11):
// - `KEY=value` or `KEY: value`, an optional `export ` prefix, `#` comment lines; keys of letters,
//   digits and `_ . - [ ]`;
// - unquoted values end at the line's end or at ` #`, and are trimmed on the right;
// - double-quoted values may span lines, take the escapes \n \t \r \\ \" \$ (and \a \b \f \v \0NNN);
// - single-quoted values are literal, but for \';
// - unquoted and double-quoted values are interpolated, and see the file's earlier values: `B=${A}x`;
// - a key with nothing after it (`KEY` alone on its line) takes the value the lookup has, else is unset.
// Nothing is read from process.env: what compose takes from the shell is the machine's, not the repo's.
import type { ManifestError } from '../../shared/model.ts';
import { interpolate } from './interpolate.ts';

export interface DotenvResult {
  vars: Record<string, string>;
  errors: ManifestError[];
  /** Variables that values read while they were not set (each read as an empty string). */
  warnings: ManifestError[];
}

export interface DotenvOptions {
  /**
   * Looked up before the file's own earlier values, for `${VAR}` and bare keys: nothing for a stack's
   * `.env` (compose would read the shell), the stack's variables for a service's env_file.
   */
  lookup?: (name: string) => string | undefined;
  /** What the file starts from and writes over (compose reads an env_file into the service's environment). */
  initial?: Readonly<Record<string, string>>;
}

/** Characters compose-go takes for blanks inside a line (not newlines). */
const BLANK = new Set(['\t', '\v', '\f', '\r', ' ', '\u0085', '\u00a0']);
/** Go's unicode.IsSpace: ASCII blanks and newlines, then Unicode's spaces. */
function isSpace(c: string): boolean {
  const code = c.charCodeAt(0);
  return code === 32 || (code >= 9 && code <= 13) || (code > 127 && /\s|\u0085/u.test(c));
}
const EXPORT = /^export[\t\n\f\r ]+/;
const KEY_CHAR = /[\p{L}\p{N}_.\-[\]]/u;
const ESCAPE = /\\(?:[abcfnrtv$"\\]|0\d{0,3})/g;
const ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '"': '"',
  '\\': '\\',
  // Interpolation reads `$$` as a literal dollar sign.
  $: '$$',
};

export function parseDotenv(text: string, file: string, opts: DotenvOptions = {}): DotenvResult {
  const src = text.startsWith('\ufeff') ? text.slice(1) : text;
  const offset0 = text.length - src.length;
  const vars: Record<string, string> = { ...opts.initial };
  const errors: ManifestError[] = [];
  const warnings: ManifestError[] = [];
  const lines = lineStarts(src);
  const at = (offset: number): { line: number; column: number } => position(lines, offset, offset0);
  const fail = (offset: number, message: string): void => {
    errors.push({ file, ...at(offset), message });
  };
  const lookup = (name: string): string | undefined =>
    opts.lookup?.(name) ?? (Object.hasOwn(vars, name) ? vars[name] : undefined);
  const expand = (value: string, offset: number, key: string): string | null => {
    if (!value.includes('$')) return value;
    const result = interpolate(value, lookup);
    if (!result.ok) {
      fail(offset, `${key}: ${result.error}`);
      return null;
    }
    for (const name of result.unset) {
      warnings.push({
        file,
        ...at(offset),
        message: `${key}: variable ${name} is not set, so it reads as an empty string; set it earlier in this file, or write \${${name}:-} where an empty value is meant`,
      });
    }
    return result.value;
  };

  let i = 0;
  const n = src.length;
  /** Skips to the start of the next line (after a problem on this one). */
  const nextLine = (): void => {
    const eol = src.indexOf('\n', i);
    i = eol < 0 ? n : eol + 1;
  };
  for (;;) {
    while (i < n && isSpace(src[i]!)) i++;
    if (i >= n) break;
    if (src[i] === '#') {
      nextLine();
      continue;
    }
    const statement = i;
    const exported = EXPORT.exec(src.slice(i, i + 64));
    if (exported !== null) i += exported[0].length;
    const keyStart = i;
    let separator: string | null = null;
    let bad = -1;
    for (; i < n; i++) {
      const c = src[i]!;
      if (c === '=' || c === ':' || c === '\n') {
        separator = c;
        break;
      }
      if (!BLANK.has(c) && !KEY_CHAR.test(c)) {
        bad = i;
        break;
      }
    }
    if (bad >= 0) {
      const line = src.slice(statement, indexOrEnd(src, '\n', statement));
      fail(bad, `unexpected character ${JSON.stringify(src[bad])} in variable name ${JSON.stringify(line)}`);
      nextLine();
      continue;
    }
    const key = src.slice(keyStart, i).replace(/\s+$/u, '');
    i++; // past the separator (or the end)
    if (key.includes(' ')) {
      fail(keyStart, `${JSON.stringify(key)}: a variable name cannot contain a space`);
      if (separator !== '\n') nextLine();
      continue;
    }
    if (separator === '\n' || separator === null) {
      // `KEY` alone: compose takes the value from its environment, and leaves KEY unset without one.
      if (key === '') continue;
      const inherited = opts.lookup?.(key);
      if (inherited !== undefined) vars[key] = inherited;
      continue;
    }
    while (i < n && BLANK.has(src[i]!)) i++;
    const quote = src[i];
    if (quote !== '"' && quote !== "'") {
      const end = indexOrEnd(src, '\n', i);
      let value = src.slice(i, end);
      const comment = value.indexOf(' #');
      if (comment >= 0) value = value.slice(0, comment);
      value = value.replace(/\s+$/u, '');
      const expanded = expand(value, i, key);
      if (expanded !== null) vars[key] = expanded;
      i = end + 1;
      continue;
    }
    const valueStart = i;
    let chars = '';
    let escaped = false;
    let closed = -1;
    for (let j = i + 1; j < n; j++) {
      const c = src[j]!;
      if (c !== quote) {
        if (!escaped && c === '\\') {
          escaped = true;
          continue;
        }
        if (escaped) chars += '\\';
        escaped = false;
        chars += c;
        continue;
      }
      if (escaped) {
        escaped = false;
        chars += c;
        continue;
      }
      closed = j;
      break;
    }
    if (closed < 0) {
      fail(valueStart, `${key}: the quoted value has no closing ${quote}`);
      break;
    }
    i = closed + 1;
    if (quote === "'") {
      vars[key] = chars;
      continue;
    }
    const expanded = expand(unescape(chars), valueStart, key);
    if (expanded !== null) vars[key] = expanded;
  }
  return { vars, errors, warnings };
}

/**
 * `format: raw` of an env_file, as `docker run --env-file` reads it: `KEY=value` lines taken as they
 * are (no interpolation, no escapes, trailing blanks kept), quotes around the whole value removed, and
 * a bare `KEY` taking the lookup's value or left out.
 */
export function parseRawEnvFile(text: string, file: string, opts: DotenvOptions = {}): DotenvResult {
  const vars: Record<string, string> = { ...opts.initial };
  const errors: ManifestError[] = [];
  const src = text.startsWith('\ufeff') ? text.slice(1) : text;
  src.split('\n').forEach((raw, index) => {
    const line = raw.replace(/^\s+/u, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const column = raw.length - line.length + 1;
    if (key === '') {
      errors.push({
        file,
        line: index + 1,
        column,
        message: `no variable name on line ${JSON.stringify(line)}`,
      });
      return;
    }
    if (/[ \t]/.test(key)) {
      errors.push({
        file,
        line: index + 1,
        column,
        message: `variable ${JSON.stringify(key)} contains whitespace`,
      });
      return;
    }
    const value = eq < 0 ? opts.lookup?.(key) : line.slice(eq + 1);
    if (value !== undefined) vars[key] = trimQuotes(value);
  });
  return { vars, errors, warnings: [] };
}

function trimQuotes(value: string): string {
  if (value.length < 2) return value;
  const first = value[0];
  return (first === '"' || first === "'") && value.endsWith(first) ? value.slice(1, -1) : value;
}

/** Double-quoted escapes, as compose-go expands them before interpolating. */
function unescape(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(ESCAPE, (match) => {
    const c = match[1]!;
    if (c !== '0') return ESCAPES[c]!;
    // `\0NNN`: an octal byte, exactly three digits (Go's rule); anything else stays as written.
    const digits = match.slice(2);
    if (!/^[0-7]{3}$/.test(digits)) return match;
    const code = parseInt(digits, 8);
    return code <= 255 ? String.fromCharCode(code) : match;
  });
}

function indexOrEnd(text: string, search: string, from: number): number {
  const i = text.indexOf(search, from);
  return i < 0 ? text.length : i;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function position(starts: number[], offset: number, shift: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 + (lo === 0 ? shift : 0) };
}
