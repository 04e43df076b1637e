// Compose-style `${VAR}` interpolation, with one deliberate difference: a variable that is not set is an
// error instead of an empty string, because a typo would otherwise deploy a silently broken value.
// Variables come only from the stack's .env at the revision, never from process.env, so the desired
// state of a commit is the same on every machine.
import { isPair, isScalar, isSeq, visit } from 'yaml';
import type { Scalar } from 'yaml';
import { MAX_REPORTED_ERRORS } from './limits.ts';
import type { YamlFile } from './yaml-file.ts';

export type InterpolateResult = { ok: true; value: string } | { ok: false; error: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
/**
 * `${A:-${B:-…}}` nests; real files nest two or three deep. The bound keeps the recursion below far from
 * the call stack's end and the work linear (each level scans its text once).
 */
export const MAX_INTERPOLATION_NESTING = 10;

/**
 * Expands `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
 * `${VAR:+alt}`, `${VAR+alt}` and `$$`. Defaults and alternatives may themselves hold variables.
 */
export function interpolate(template: string, vars: Readonly<Record<string, string>>): InterpolateResult {
  return expand(template, vars, 0);
}

function expand(template: string, vars: Readonly<Record<string, string>>, depth: number): InterpolateResult {
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
      const expanded = expandBraced(template.slice(dollar + 2, close), vars, depth);
      if (!expanded.ok) return expanded;
      out += expanded.value;
      i = close + 1;
      continue;
    }
    const name = NAME.exec(template.slice(dollar + 1))?.[0];
    if (name === undefined) {
      return {
        ok: false,
        error: `invalid \`$\` in "${shorten(template)}"; write \`$$\` for a literal dollar sign`,
      };
    }
    const value = lookup(vars, name);
    if (value === undefined) return { ok: false, error: unsetMessage(name) };
    out += value;
    i = dollar + 1 + name.length;
  }
  return { ok: true, value: out };
}

function expandBraced(
  body: string,
  vars: Readonly<Record<string, string>>,
  depth: number,
): InterpolateResult {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) return { ok: false, error: `invalid variable name in "\${${shorten(body)}}"` };
  const rest = body.slice(name.length);
  const value = lookup(vars, name);
  if (rest === '') {
    return value === undefined ? { ok: false, error: unsetMessage(name) } : { ok: true, value };
  }
  const op = /^(:?[-?+])/.exec(rest)?.[1];
  if (op === undefined) return { ok: false, error: `invalid interpolation "\${${shorten(body)}}"` };
  const arg = rest.slice(op.length);
  // With a colon, an empty value counts as unset, as in the shell.
  const set = op.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
  switch (op.replace(':', '')) {
    case '-':
      return set ? { ok: true, value: value! } : expand(arg, vars, depth + 1);
    case '+':
      return set ? expand(arg, vars, depth + 1) : { ok: true, value: '' };
    default: {
      if (set) return { ok: true, value: value! };
      const detail = expand(arg, vars, depth + 1);
      const text = shorten(detail.ok ? detail.value : arg);
      return {
        ok: false,
        error: `required variable ${name} is missing a value${text === '' ? '' : `: ${text}`}`,
      };
    }
  }
}

function lookup(vars: Readonly<Record<string, string>>, name: string): string | undefined {
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

function unsetMessage(name: string): string {
  return `variable ${name} is not set; define it in the stack's .env file, or write \${${name}:-} to allow an empty value`;
}

/**
 * Interpolates every string value of the document in place, reporting each failure at its value.
 * Keys are left alone, as compose does. Aliases share their anchor's node, so each value is done once.
 */
export function interpolateDocument(yaml: YamlFile, vars: Readonly<Record<string, string>>): void {
  // Past the error cap (the summary line included) only a count is kept: the path of each error costs a
  // search of its lists.
  let failed = 0;
  let firstUnreported: Scalar | null = null;
  visit(yaml.doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const result = interpolate(node.value, vars);
      if (result.ok) node.value = result.value;
      else if (++failed < MAX_REPORTED_ERRORS) {
        yaml.errorAt(node, `${dottedPath([...ancestors, node])}: ${result.error}`);
      } else firstUnreported ??= node;
    },
  });
  if (firstUnreported !== null) {
    const more = failed - MAX_REPORTED_ERRORS + 1;
    yaml.errorAt(
      firstUnreported,
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
