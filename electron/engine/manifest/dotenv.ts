// The dotenv format of compose's `.env` and `env_file`: `KEY=value`, optional `export ` prefix, `#`
// comments, single quotes (literal) and double quotes (with \n \t \r \" \\ \$ escapes), either of which
// may span lines. No `${VAR}` expansion inside the file: values mean exactly what they say.
import type { ManifestError } from '../../shared/model.ts';

export interface DotenvResult {
  vars: Record<string, string>;
  errors: ManifestError[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', $: '$' };

export function parseDotenv(text: string, file: string): DotenvResult {
  const vars: Record<string, string> = {};
  const errors: ManifestError[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const fail = (line: number, column: number, message: string): void => {
    errors.push({ file, line: line + 1, column, message });
  };

  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const indent = raw.length - raw.trimStart().length;
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice('export '.length).trimStart();

    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    if (eq < 0) {
      fail(n, indent + 1, `${key} has no value; write ${key}= for an empty value`);
      continue;
    }
    if (!KEY.test(key)) {
      fail(n, indent + 1, `"${key}" is not a valid variable name`);
      continue;
    }
    let value = line.slice(eq + 1).trimStart();
    const quote = value[0];
    if (quote !== '"' && quote !== "'") {
      // An unquoted value ends at a ` #` comment, as in compose. A scan, not /\s+#.*$/: that regex
      // backtracks over every run of spaces, quadratic on a long line of them (4 s for 100 kB).
      vars[key] = stripComment(value);
      continue;
    }

    // A quoted value may continue on the following lines until its closing quote.
    const start = n;
    value = value.slice(1);
    let out = '';
    let closed = false;
    let rest = '';
    for (;;) {
      let i = 0;
      for (; i < value.length; i++) {
        const c = value[i]!;
        if (c === quote) {
          closed = true;
          break;
        }
        if (quote === '"' && c === '\\' && i + 1 < value.length) {
          const next = value[i + 1]!;
          out += ESCAPES[next] ?? `\\${next}`;
          i++;
        } else {
          out += c;
        }
      }
      if (closed) {
        rest = value.slice(i + 1).trim();
        break;
      }
      if (n + 1 >= lines.length) break;
      out += '\n';
      value = lines[++n]!;
    }
    if (!closed) {
      fail(start, indent + 1, `the value of ${key} has no closing ${quote}`);
      continue;
    }
    if (rest !== '' && !rest.startsWith('#')) {
      fail(n, indent + 1, `unexpected text after the closing quote of ${key}`);
      continue;
    }
    vars[key] = out;
  }
  return { vars, errors };
}

/** `value` up to the first `#` that follows whitespace, without trailing whitespace. */
function stripComment(value: string): string {
  let hash = value.indexOf('#');
  while (hash >= 0 && (hash === 0 || !/\s/.test(value[hash - 1]!))) hash = value.indexOf('#', hash + 1);
  return (hash >= 0 ? value.slice(0, hash) : value).trimEnd();
}
