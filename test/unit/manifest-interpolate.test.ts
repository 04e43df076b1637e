import { describe, expect, it } from 'vitest';
import { interpolate, parseDotenv, projectName } from '../../electron/engine/manifest/index.ts';
import { parseRawEnvFile } from '../../electron/engine/manifest/dotenv.ts';
import { parseDurationNs } from '../../electron/engine/manifest/duration.ts';
import { parsePortSpec } from '../../electron/engine/manifest/ports.ts';
import { shellSplit } from '../../electron/engine/manifest/shell-split.ts';

const vars = { TAG: '1.2', EMPTY: '', HOST: 'db', PORT: '5432' };

function ok(template: string): string {
  const r = interpolate(template, vars);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** The value and the unset variables it read. */
function withUnset(template: string): [string, string[]] {
  const r = interpolate(template, vars);
  if (!r.ok) throw new Error(r.error);
  return [r.value, r.unset];
}

function err(template: string): string {
  const r = interpolate(template, vars);
  if (r.ok) throw new Error(`expected an error, got ${r.value}`);
  return r.error;
}

describe('interpolate', () => {
  it('expands $VAR and ${VAR}', () => {
    expect(ok('nginx:$TAG')).toBe('nginx:1.2');
    expect(ok('nginx:${TAG}-alpine')).toBe('nginx:1.2-alpine');
    expect(ok('$HOST:$PORT')).toBe('db:5432');
  });

  it('reads the longest variable name after $', () => {
    expect(withUnset('$TAGS')).toEqual(['', ['TAGS']]);
    expect(ok('$TAG.x')).toBe('1.2.x');
  });

  it('turns $$ into a literal $', () => {
    expect(ok('price: $$5')).toBe('price: $5');
    expect(ok('$${TAG}')).toBe('${TAG}');
    expect(ok('$$$$')).toBe('$$');
    expect(ok('a$$$TAG')).toBe('a$1.2');
  });

  it('applies :- when unset or empty, - only when unset', () => {
    expect(ok('${MISSING:-fallback}')).toBe('fallback');
    expect(ok('${EMPTY:-fallback}')).toBe('fallback');
    expect(ok('${TAG:-fallback}')).toBe('1.2');
    expect(ok('${MISSING-fallback}')).toBe('fallback');
    expect(ok('${EMPTY-fallback}')).toBe('');
    expect(ok('${MISSING:-}')).toBe('');
  });

  it('expands variables inside defaults', () => {
    expect(ok('${MISSING:-${HOST}:${PORT}}')).toBe('db:5432');
    expect(ok('${MISSING:-${ALSO_MISSING:-deep}}')).toBe('deep');
    expect(withUnset('${MISSING:-$NOPE}')).toEqual(['', ['NOPE']]);
  });

  it('applies :+ and + alternatives', () => {
    expect(ok('${TAG:+set}')).toBe('set');
    expect(ok('${EMPTY:+set}')).toBe('');
    expect(ok('${EMPTY+set}')).toBe('set');
    expect(ok('${MISSING+set}')).toBe('');
  });

  it('fails :? with the given message when unset or empty, ? only when unset', () => {
    expect(err('${MISSING:?set MISSING in .env}')).toBe(
      'required variable MISSING is missing a value: set MISSING in .env',
    );
    expect(err('${EMPTY:?must not be empty}')).toBe(
      'required variable EMPTY is missing a value: must not be empty',
    );
    expect(ok('${EMPTY?never}')).toBe('');
    expect(err('${MISSING?gone}')).toBe('required variable MISSING is missing a value: gone');
    expect(err('${MISSING:?}')).toBe('required variable MISSING is missing a value');
    expect(ok('${TAG:?unused}')).toBe('1.2');
  });

  it('reads an unset plain variable as an empty string, as compose does, and says which (issue 11)', () => {
    expect(withUnset('${NOPE}')).toEqual(['', ['NOPE']]);
    expect(withUnset('$NOPE:$TAG:${NOPE}:$ALSO')).toEqual([':1.2::', ['NOPE', 'ALSO']]);
    // Defaults and alternatives are not unset reads.
    expect(withUnset('${NOPE-}${NOPE:+x}${NOPE+y}')).toEqual(['', []]);
  });

  it('leaves a $ that starts no variable as it is, as compose does', () => {
    expect(ok('cost $5')).toBe('cost $5');
    expect(ok('trailing $')).toBe('trailing $');
    expect(ok('a $ b $-c $.d')).toBe('a $ b $-c $.d');
  });

  it('rejects malformed templates', () => {
    expect(err('${TAG')).toContain('unclosed');
    expect(err('${1X}')).toContain('invalid variable name');
    expect(err('${TAG/x/y}')).toContain('invalid interpolation');
  });

  it('never reads process.env', () => {
    process.env.MOORING_TEST_ONLY = 'from-process';
    try {
      expect(interpolate('${MOORING_TEST_ONLY}', {})).toEqual({
        ok: true,
        value: '',
        unset: ['MOORING_TEST_ONLY'],
      });
      expect(interpolate('${MOORING_TEST_ONLY:-d}', {})).toEqual({ ok: true, value: 'd', unset: [] });
    } finally {
      delete process.env.MOORING_TEST_ONLY;
    }
  });
});

describe('parseDotenv', () => {
  it('reads KEY=value, quotes, comments and export', () => {
    const text = [
      '# a comment',
      '',
      'A=1',
      'export B = two words ',
      "C='single $quoted # not a comment'",
      'D="line\\nbreak \\"q\\""',
      'E=value # trailing comment',
      'F=',
      'G="multi',
      'line" # after',
      'H=a#b',
    ].join('\n');
    const { vars, errors } = parseDotenv(text, 'web/.env');
    expect(errors).toEqual([]);
    expect(vars).toEqual({
      A: '1',
      B: 'two words',
      C: 'single $quoted # not a comment',
      D: 'line\nbreak "q"',
      E: 'value',
      F: '',
      G: 'multi\nline',
      H: 'a#b',
    });
  });

  it('reports bad lines with their position', () => {
    const { vars, errors } = parseDotenv('OK=1\n  B@D=x\nTWO WORDS=1\nQ="open\n', 'web/.env');
    expect(vars).toEqual({ OK: '1' });
    expect(errors).toEqual([
      {
        file: 'web/.env',
        line: 2,
        column: 4,
        message: 'unexpected character "@" in variable name "B@D=x"',
      },
      {
        file: 'web/.env',
        line: 3,
        column: 1,
        message: '"TWO WORDS": a variable name cannot contain a space',
      },
      { file: 'web/.env', line: 4, column: 3, message: 'Q: the quoted value has no closing "' },
    ]);
  });

  // compose-go's dotenv rules (issue 11): what compose itself accepts must be read the same way.
  it('lets a value use the values above it, and keeps single quotes literal', () => {
    const text = [
      'A=1',
      'B=${A}x',
      'C="${B}-$A"',
      "D='${A}'",
      'E=${NOPE:-dflt}',
      'A=2',
      'F=$A',
      'G=\\$A', // a backslash is not an escape outside quotes
      'H="\\$A"',
    ].join('\n');
    const { vars, errors, warnings } = parseDotenv(text, 'web/.env');
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(vars).toEqual({
      A: '2',
      B: '1x',
      C: '1x-1',
      D: '${A}',
      E: 'dflt',
      F: '2',
      G: '\\2',
      H: '$A',
    });
  });

  it("reads compose's quoting and escapes", () => {
    const text = [
      `S='it\\'s'`,
      `T='a\\tb'`,
      `U="a\\tb\\\\c\\"q\\""`,
      `V="octal \\0101 and \\012"`,
      'W=a#b and # comment #2',
      'X=a\ttab # comment',
      'Y: yaml style',
      'export Z=exported',
      'K.dotted-name[0]=ok',
      'EMPTY=',
      'NOTHING=""',
      '1LEAD=digit',
    ].join('\n');
    const { vars, errors } = parseDotenv(text, 'web/.env');
    expect(errors).toEqual([]);
    expect(vars).toEqual({
      S: "it's",
      T: 'a\\tb',
      U: 'a\tb\\c"q"',
      V: 'octal A and \\012',
      W: 'a#b and',
      X: 'a\ttab',
      Y: 'yaml style',
      Z: 'exported',
      'K.dotted-name[0]': 'ok',
      EMPTY: '',
      NOTHING: '',
      '1LEAD': 'digit',
    });
  });

  it('reads a bare KEY from the lookup, and leaves it unset without one (no error)', () => {
    expect(parseDotenv('A=1\nBARE\nB=2\n', 'web/.env')).toEqual({
      vars: { A: '1', B: '2' },
      errors: [],
      warnings: [],
    });
    const lookup = (name: string): string | undefined => (name === 'BARE' ? 'from-stack' : undefined);
    expect(parseDotenv('BARE\n', 'web/app.env', { lookup }).vars).toEqual({ BARE: 'from-stack' });
  });

  it('warns of an unset variable at its line, and fails on :?', () => {
    const { vars, errors, warnings } = parseDotenv('A=1\nB=${NOPE}x\nC=${REQ:?set REQ}\n', 'web/.env');
    expect(vars).toEqual({ A: '1', B: 'x' });
    expect(warnings.map((w) => [w.line, w.column, w.message])).toEqual([
      [
        2,
        3,
        'B: variable NOPE is not set, so it reads as an empty string; set it earlier in this file, or write ${NOPE:-} where an empty value is meant',
      ],
    ]);
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [3, 'C: required variable REQ is missing a value: set REQ'],
    ]);
  });

  it('looks a variable up in the lookup before the earlier lines, as compose does for env_file', () => {
    const lookup = (name: string): string | undefined => (name === 'A' ? 'stack' : undefined);
    expect(parseDotenv('A=file\nB=$A\n', 'web/app.env', { lookup }).vars).toEqual({ A: 'file', B: 'stack' });
    expect(parseDotenv('B=$A\n', 'web/app.env', { initial: { A: 'env', C: 'c' } }).vars).toEqual({
      A: 'env',
      B: 'env',
      C: 'c',
    });
  });

  it('reads format: raw as docker run --env-file does', () => {
    const text = ['  A=  spaced  ', 'B="quoted"', "C='x", 'D=$NOT ${EXPANDED}', '# c', 'E', 'F'].join('\n');
    const lookup = (name: string): string | undefined => (name === 'E' ? 'from-lookup' : undefined);
    expect(parseRawEnvFile(text, 'web/raw.env', { lookup })).toEqual({
      vars: { A: '  spaced  ', B: 'quoted', C: "'x", D: '$NOT ${EXPANDED}', E: 'from-lookup' },
      errors: [],
      warnings: [],
    });
    expect(parseRawEnvFile('=x\nA B=1\n', 'web/raw.env').errors.map((e) => [e.line, e.message])).toEqual([
      [1, 'no variable name on line "=x"'],
      [2, 'variable "A B" contains whitespace'],
    ]);
  });
});

describe('projectName', () => {
  it('normalizes like compose', () => {
    expect(projectName('My App.v2')).toBe('myappv2');
    expect(projectName('__-web')).toBe('web');
    expect(projectName('a_b-c')).toBe('a_b-c');
    expect(projectName('...')).toBe('');
  });
});

describe('helpers', () => {
  it('splits commands like a POSIX shell without expanding', () => {
    expect(shellSplit(`sh -c 'echo "$HOME"  done' "a b" c\\ d ""`)).toEqual({
      ok: true,
      words: ['sh', '-c', 'echo "$HOME"  done', 'a b', 'c d', ''],
    });
    expect(shellSplit('echo "it\\"s"')).toEqual({ ok: true, words: ['echo', 'it"s'] });
    expect(shellSplit("echo 'open").ok).toBe(false);
  });

  it('parses Go durations to nanoseconds', () => {
    expect(parseDurationNs('10s')).toBe(10e9);
    expect(parseDurationNs('1m30s')).toBe(90e9);
    expect(parseDurationNs('500ms')).toBe(5e8);
    expect(parseDurationNs('1h')).toBe(3600e9);
    expect(parseDurationNs('1.5s')).toBe(1.5e9);
    expect(parseDurationNs('0')).toBe(0);
    expect(parseDurationNs('10')).toBeNull();
    expect(parseDurationNs('10 s')).toBeNull();
    expect(parseDurationNs('s')).toBeNull();
  });

  it('parses short port syntax', () => {
    expect(parsePortSpec('80')).toEqual({
      ok: true,
      bindings: [{ hostIp: '', hostPort: '', containerPort: 80, protocol: 'tcp' }],
    });
    expect(parsePortSpec('[::1]:8080:80/udp')).toEqual({
      ok: true,
      bindings: [{ hostIp: '::1', hostPort: '8080', containerPort: 80, protocol: 'udp' }],
    });
    expect(parsePortSpec('127.0.0.1::80')).toEqual({
      ok: true,
      bindings: [{ hostIp: '127.0.0.1', hostPort: '', containerPort: 80, protocol: 'tcp' }],
    });
    expect(parsePortSpec('8000-8010:80')).toEqual({
      ok: true,
      bindings: [{ hostIp: '', hostPort: '8000-8010', containerPort: 80, protocol: 'tcp' }],
    });
    expect(parsePortSpec('8000-8002:80-81')).toEqual({
      ok: false,
      error: '"8000-8002:80-81": the host and container port ranges differ in length',
    });
    expect(parsePortSpec('70000:80')).toEqual({ ok: false, error: 'port 70000 is out of range (1-65535)' });
    expect(parsePortSpec('80/icmp')).toEqual({
      ok: false,
      error: 'unknown protocol "icmp"; use tcp, udp or sctp',
    });
    expect(parsePortSpec('999.1.1.1:80:80')).toEqual({
      ok: false,
      error: '"999.1.1.1" is not an IP address',
    });
  });
});
