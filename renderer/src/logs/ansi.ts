// ANSI escapes in container output, as parts React draws as spans (never as HTML): anser parses them;
// the 16 named colours become classes (styles.css gives them colours readable on the log pane), the
// 256-colour palette and true colour an inline colour.
import Anser from 'anser';

export interface AnsiPart {
  text: string;
  /** ansi-red-fg, ansi-bright-blue-bg, ansi-bold…; '' for plain text. */
  className: string;
  color?: string;
  background?: string;
}

/** A part of a line with whether it is (part of) a search match. */
export interface MarkedPart extends AnsiPart {
  match: boolean;
}

const DECORATIONS: Record<string, string> = {
  bold: 'ansi-bold',
  dim: 'ansi-dim',
  italic: 'ansi-italic',
  underline: 'ansi-underline',
  strikethrough: 'ansi-strike',
};

export function parseAnsi(text: string): AnsiPart[] {
  if (!text.includes('\x1b')) return text ? [{ text, className: '' }] : [];
  const parts: AnsiPart[] = [];
  for (const e of Anser.ansiToJson(text, { json: true, use_classes: true, remove_empty: true })) {
    if (!e.content) continue;
    const classes: string[] = [];
    const part: AnsiPart = { text: e.content, className: '' };
    const fg = colour(e.fg, e.fg_truecolor);
    const bg = colour(e.bg, e.bg_truecolor);
    if (fg?.className) classes.push(`${fg.className}-fg`);
    if (fg?.css) part.color = fg.css;
    if (bg?.className) classes.push(`${bg.className}-bg`);
    if (bg?.css) part.background = bg.css;
    for (const d of e.decorations) if (DECORATIONS[d]) classes.push(DECORATIONS[d]);
    part.className = classes.join(' ');
    parts.push(part);
  }
  return parts;
}

/** The text without escapes, as search sees it. */
export function plainText(parts: AnsiPart[]): string {
  return parts.map((p) => p.text).join('');
}

function colour(name: string | null, truecolor: string | null): { className?: string; css?: string } | null {
  if (!name) return null;
  if (name === 'ansi-truecolor') return truecolor ? { css: `rgb(${truecolor})` } : null;
  const palette = /^ansi-palette-(\d+)$/.exec(name);
  if (palette) return { css: xterm256(Number(palette[1])) };
  return { className: name };
}

const BASIC = [
  '#000000',
  '#cd3131',
  '#0dbc79',
  '#e5e510',
  '#2472c8',
  '#bc3fbc',
  '#11a8cd',
  '#e5e5e5',
  '#666666',
  '#f14c4c',
  '#23d18b',
  '#f5f543',
  '#3b8eea',
  '#d670d6',
  '#29b8db',
  '#ffffff',
];

/** The xterm 256-colour palette: 16 basic, a 6×6×6 cube, 24 greys. */
export function xterm256(n: number): string {
  if (n < 16) return BASIC[n] ?? '#e5e5e5';
  if (n < 232) {
    const i = n - 16;
    const level = (v: number): number => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g}, ${g}, ${g})`;
}

/**
 * Splits a line's parts at the edges of each case-insensitive occurrence of `query`, marking those
 * inside one; a match may span parts of different colours.
 */
export function markMatches(parts: AnsiPart[], query: string): MarkedPart[] {
  if (!query) return parts.map((p) => ({ ...p, match: false }));
  const plain = plainText(parts).toLowerCase();
  const q = query.toLowerCase();
  const ranges: [number, number][] = [];
  for (let i = plain.indexOf(q); i !== -1; i = plain.indexOf(q, i + q.length)) ranges.push([i, i + q.length]);
  if (ranges.length === 0) return parts.map((p) => ({ ...p, match: false }));
  const out: MarkedPart[] = [];
  let offset = 0;
  for (const p of parts) {
    const start = offset;
    const end = offset + p.text.length;
    offset = end;
    // Cut points inside this part: every range edge that falls in it.
    const cuts = new Set<number>([start, end]);
    for (const [a, b] of ranges) {
      if (a > start && a < end) cuts.add(a);
      if (b > start && b < end) cuts.add(b);
    }
    const sorted = [...cuts].sort((x, y) => x - y);
    for (let i = 0; i + 1 < sorted.length; i++) {
      const a = sorted[i]!;
      const b = sorted[i + 1]!;
      out.push({
        ...p,
        text: p.text.slice(a - start, b - start),
        match: ranges.some(([x, y]) => a >= x && b <= y),
      });
    }
  }
  return out;
}
