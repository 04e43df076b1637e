// The pure parts of the log pane (issue 13, item 6): the engine's framed follow stream cut into lines
// whatever the chunking, ANSI escapes as parts with classes, search marks across coloured parts, and
// the pane's buffer kept in time order and capped.
import { describe, expect, it } from 'vitest';
import { LogLineReader, MAX_LINE_CHARS, parseLine } from '../../electron/engine/docker/log-lines.ts';
import { markMatches, parseAnsi, xterm256 } from '../../renderer/src/logs/ansi.ts';
import { appendLines, findMatches, toViewLine, type ViewLine } from '../../renderer/src/logs/log-buffer.ts';

const ESC = String.fromCharCode(27);

function frame(stream: 1 | 2, text: string | Buffer): Buffer {
  const body = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

describe('LogLineReader', () => {
  const T = '2026-12-01T10:00:00.123456789Z';

  it('reads framed lines split anywhere: in a header, in a UTF-8 character, in a line', () => {
    const bytes = Buffer.concat([
      frame(1, `${T} héllo\n${T} wor`),
      frame(2, `${T} oops\n`),
      frame(1, `ld\n`),
    ]);
    // Every split point, one byte at a time, gives the same lines.
    for (const size of [1, 3, 7, 9, bytes.length]) {
      const reader = new LogLineReader(true);
      const lines = [];
      for (let i = 0; i < bytes.length; i += size) lines.push(...reader.push(bytes.subarray(i, i + size)));
      lines.push(...reader.end());
      expect(lines.map((l) => [l.text, l.stderr])).toEqual([
        ['héllo', false],
        ['oops', true],
        ['world', false],
      ]);
    }
  });

  it('reads a TTY container raw, and keeps a last line without newline for the end', () => {
    const reader = new LogLineReader(false);
    expect(reader.push(Buffer.from(`${T} one\r\n${T} tw`)).map((l) => l.text)).toEqual(['one']);
    expect(reader.push(Buffer.from('o'))).toEqual([]);
    expect(reader.end().map((l) => l.text)).toEqual(['two']);
  });

  it('pads the engine time to nine digits, so that times compare as strings', () => {
    expect(parseLine('2026-12-01T10:00:00.1Z x', 'stdout').time).toBe('2026-12-01T10:00:00.100000000Z');
    expect(parseLine('2026-12-01T10:00:00Z x', 'stdout').time).toBe('2026-12-01T10:00:00.000000000Z');
    expect(parseLine('no time here', 'stderr')).toEqual({ time: '', stderr: true, text: 'no time here' });
  });

  it('cuts an endless line', () => {
    const reader = new LogLineReader(false);
    const lines = reader.push(Buffer.from('x'.repeat(MAX_LINE_CHARS * 2 + 10)));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.text.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
  });
});

describe('ANSI parts', () => {
  it('named colours as classes, the palette and true colour inline, escapes gone', () => {
    const parts = parseAnsi(
      `a ${ESC}[31mred${ESC}[0m ${ESC}[1;38;5;208mhot${ESC}[0m ${ESC}[38;2;1;2;3mrgb${ESC}[0m`,
    );
    expect(parts.map((p) => p.text).join('')).toBe('a red hot rgb');
    expect(parts.find((p) => p.text === 'red')?.className).toBe('ansi-red-fg');
    const hot = parts.find((p) => p.text === 'hot');
    expect(hot?.className).toBe('ansi-bold');
    expect(hot?.color).toBe(xterm256(208));
    expect(parts.find((p) => p.text === 'rgb')?.color).toBe('rgb(1, 2, 3)');
    expect(JSON.stringify(parts)).not.toContain(ESC);
  });

  it('marks every match, across parts of different colours, case-insensitively', () => {
    const parts = parseAnsi(`Err${ESC}[31mor: e${ESC}[0mrror`);
    const marked = markMatches(parts, 'ERROR');
    expect(marked.filter((p) => p.match).map((p) => p.text)).toEqual(['Err', 'or', 'e', 'rror']);
    expect(marked.map((p) => p.text).join('')).toBe('Error: error');
    expect(marked.find((p) => p.text === 'or')?.className).toBe('ansi-red-fg');
    expect(markMatches(parts, 'nothing').every((p) => !p.match)).toBe(true);
  });
});

describe('the log buffer', () => {
  const line = (time: string, text: string, container = 'a'): ViewLine =>
    toViewLine({ time, text, stderr: false, container });

  it('keeps the last lines only', () => {
    let buf: ViewLine[] = [];
    for (let i = 0; i < 30; i++)
      buf = appendLines(buf, [line(`t${String(i).padStart(2, '0')}`, `n${i}`)], 10);
    expect(buf.map((l) => l.plain)).toEqual(Array.from({ length: 10 }, (_, i) => `n${i + 20}`));
  });

  it('merges a late tail of another container by time, stably', () => {
    let buf = appendLines([], [line('t1', 'a1'), line('t3', 'a3')]);
    buf = appendLines(buf, [line('t2', 'b2', 'b'), line('t3', 'b3', 'b'), line('t4', 'b4', 'b')]);
    expect(buf.map((l) => l.plain)).toEqual(['a1', 'b2', 'a3', 'b3', 'b4']);
  });

  it('finds the lines holding the words searched, without their escapes', () => {
    const buf = appendLines([], [line('t1', `${ESC}[32mready${ESC}[0m on :80`), line('t2', 'other')]);
    expect(findMatches(buf, 'READY ON')).toEqual([buf[0]!.id]);
    expect(findMatches(buf, '')).toEqual([]);
  });
});
