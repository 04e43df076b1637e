import { describe, expect, it } from 'vitest';
import { interpolate, parseDotenv, projectName } from '../../electron/engine/manifest/index.ts';
import { parseDurationNs } from '../../electron/engine/manifest/duration.ts';
import { parsePortSpec } from '../../electron/engine/manifest/ports.ts';
import { shellSplit } from '../../electron/engine/manifest/shell-split.ts';

const vars = { TAG: '1.2', EMPTY: '', HOST: 'db', PORT: '5432' };

function ok(template: string): string {
  const r = interpolate(template, vars);
  if (!r.ok) throw new Error(r.error);
  return r.value;
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
    expect(err('$TAGS')).toContain('variable TAGS is not set');
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
    expect(err('${MISSING:-$NOPE}')).toContain('NOPE');
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

  it('makes an unset plain variable an error that says how to fix it', () => {
    const message = err('${NOPE}');
    expect(message).toContain('variable NOPE is not set');
    expect(message).toContain('.env');
    expect(message).toContain('${NOPE:-}');
    expect(err('$NOPE')).toContain('variable NOPE is not set');
  });

  it('rejects malformed templates', () => {
    expect(err('${TAG')).toContain('unclosed');
    expect(err('cost $5')).toContain('$$');
    expect(err('trailing $')).toContain('$$');
    expect(err('${1X}')).toContain('invalid variable name');
    expect(err('${TAG/x/y}')).toContain('invalid interpolation');
  });

  it('never reads process.env', () => {
    process.env.MOORING_TEST_ONLY = 'from-process';
    try {
      expect(interpolate('${MOORING_TEST_ONLY}', {}).ok).toBe(false);
      expect(interpolate('${MOORING_TEST_ONLY:-d}', {})).toEqual({ ok: true, value: 'd' });
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
    const { vars, errors } = parseDotenv('OK=1\n  NOVALUE\n1BAD=x\nQ="open\n', 'web/.env');
    expect(vars).toEqual({ OK: '1' });
    expect(errors).toEqual([
      {
        file: 'web/.env',
        line: 2,
        column: 3,
        message: 'NOVALUE has no value; write NOVALUE= for an empty value',
      },
      { file: 'web/.env', line: 3, column: 1, message: '"1BAD" is not a valid variable name' },
      { file: 'web/.env', line: 4, column: 1, message: 'the value of Q has no closing "' },
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
