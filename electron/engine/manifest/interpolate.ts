// Compose-style `${VAR}` interpolation, as docker compose v2 does it: a variable that is not set reads
// as an empty string, with a warning (issue 11), and `${VAR:?err}` / `${VAR?err}` are errors.
// Variables come only from the config repo (the stack's .env, an include's env_file) and from what
// compose itself provides (COMPOSE_PROJECT_NAME), never from process.env: compose also reads the
// shell's environment, which would make the desired state of a commit depend on the machine.
import { isPair, isScalar, isSeq, visit } from 'yaml';
import type { Scalar } from 'yaml';
import { MAX_REPORTED_ERRORS } from './limits.ts';
import type { YamlFile } from './yaml-file.ts';

export type InterpolateResult =
  | {
      ok: true;
      value: string;
      /** Variables that were read while not set, each once, in order: each read as an empty string. */
      unset: string[];
    }
  | { ok: false; error: string };

/** Where variables are looked up: a plain record, or a function for layered lookups (dotenv). */
export type VarLookup = Readonly<Record<string, string>> | ((name: string) => string | undefined);

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
/**
 * `${A:-${B:-…}}` nests; real files nest two or three deep. The bound keeps the recursion below far from
 * the call stack's end and the work linear (each level scans its text once).
 */
export const MAX_INTERPOLATION_NESTING = 10;

/**
 * Expands `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
 * `${VAR:+alt}`, `${VAR+alt}` and `$$`. Defaults and alternatives may themselves hold variables. A `$`
 * that starts none of these (`$5`, a trailing `$`) stays as it is, as in compose.
 */
export function interpolate(template: string, vars: VarLookup): InterpolateResult {
  const lookup = typeof vars === 'function' ? vars : (name: string) => own(vars, name);
  const unset: string[] = [];
  const result = expand(template, lookup, 0, unset);
  return result.ok ? { ok: true, value: result.value, unset } : result;
}

type Expanded = { ok: true; value: string } | { ok: false; error: string };
type Lookup = (name: string) => string | undefined;

function expand(template: string, lookup: Lookup, depth: number, unset: string[]): Expanded {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    if (next === '{') {
      if (depth >= MAX_INTERPOLATION_NESTING) {
        return { ok: false, error: `variables are nested more than ${MAX_INTERPOLATION_NESTING} deep` };
      }
      const close = matchingBrace(template, dollar + 2);
      if (close < 0) return { ok: false, error: `unclosed \`\${\` in "${shorten(template)}"` };
      const expanded = expandBraced(template.slice(dollar + 2, close), lookup, depth, unset);
      if (!expanded.ok) return expanded;
      out += expanded.value;
      i = close + 1;
      continue;
    }
    const name = NAME.exec(template.slice(dollar + 1, dollar + 1 + 256))?.[0];
    if (name === undefined) {
      // Compose's pattern does not match here, so the `$` is left as written.
      out += '$';
      i = dollar + 1;
      continue;
    }
    // A name longer than the slice above is read in full.
    const full = name.length < 256 ? name : NAME.exec(template.slice(dollar + 1))![0];
    out += read(lookup, full, unset);
    i = dollar + 1 + full.length;
  }
  return { ok: true, value: out };
}

function expandBraced(body: string, lookup: Lookup, depth: number, unset: string[]): Expanded {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) return { ok: false, error: `invalid variable name in "\${${shorten(body)}}"` };
  const rest = body.slice(name.length);
  if (rest === '') return { ok: true, value: read(lookup, name, unset) };
  const op = /^(:?[-?+])/.exec(rest)?.[1];
  if (op === undefined) return { ok: false, error: `invalid interpolation "\${${shorten(body)}}"` };
  const arg = rest.slice(op.length);
  const value = lookup(name);
  // With a colon, an empty value counts as unset, as in the shell.
  const set = op.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
  switch (op.replace(':', '')) {
    case '-':
      return set ? { ok: true, value: value! } : expand(arg, lookup, depth + 1, unset);
    case '+':
      return set ? expand(arg, lookup, depth + 1, unset) : { ok: true, value: value ?? '' };
    default: {
      if (set) return { ok: true, value: value! };
      const detail = expand(arg, lookup, depth + 1, []);
      const text = shorten(detail.ok ? detail.value : arg);
      return {
        ok: false,
        error: `required variable ${name} is missing a value${text === '' ? '' : `: ${text}`}`,
      };
    }
  }
}

/** A plain `$NAME` or `${NAME}`: its value, or '' (remembered in `unset`) when it is not set. */
function read(lookup: Lookup, name: string, unset: string[]): string {
  const value = lookup(name);
  if (value !== undefined) return value;
  if (!unset.includes(name)) unset.push(name);
  return '';
}

function own(vars: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.hasOwn(vars, name) ? vars[name] : undefined;
}

/** Index of the `}` closing a `${` whose body starts at `start`, counting nested `${…}`. */
function matchingBrace(text: string, start: number): number {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) {
      return i;
    }
  }
  return -1;
}

/** A template for a message: a value can be as long as the file. */
function shorten(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

/**
 * Interpolates every string value of the document in place, reporting each failure at its value.
 * Keys are left alone, as compose does. Aliases share their anchor's node, so each value is done once.
 * A value that read an unset variable is remembered by the file (`YamlFile.noteUnset`): the variable
 * gets one warning for the stack, and a later error about that value names the variable as its cause
 * instead of adding a second complaint about the same thing (issue 11, item 9).
 */
export function interpolateDocument(yaml: YamlFile, vars: VarLookup): void {
  // Past the error cap (the summary line included) only a count is kept: the path of each error costs a
  // search of its lists.
  let failed = 0;
  let firstUnreported: Scalar | null = null;
  visit(yaml.doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const template = node.value;
      const result = interpolate(template, vars);
      if (result.ok) {
        node.value = result.value;
        if (result.unset.length > 0) yaml.noteUnset(node, result.unset, template);
        return;
      }
      if (++failed < MAX_REPORTED_ERRORS) {
        yaml.errorAt(node, `${dottedPath([...ancestors, node])}: ${result.error}`);
      } else firstUnreported ??= node;
      // Whatever a later check would say about the raw `${…}` text left here, the cause is said once.
      yaml.markFailed(node);
    },
  });
  if (firstUnreported !== null) {
    const more = failed - MAX_REPORTED_ERRORS + 1;
    // At an offset: the node itself is marked failed, which silences errors at it.
    yaml.errorAtOffset(
      (firstUnreported as Scalar).range?.[0] ?? 0,
      `… and ${more.toLocaleString('en-US')} more values that cannot be interpolated`,
    );
  }
}

function dottedPath(chain: readonly unknown[]): string {
  let path = '';
  chain.forEach((step, i) => {
    if (isPair(step) && isScalar(step.key)) {
      path = path === '' ? String(step.key.value) : `${path}.${String(step.key.value)}`;
    } else if (isSeq(step)) {
      path += `[${step.items.indexOf(chain[i + 1])}]`;
    }
  });
  return path;
}
