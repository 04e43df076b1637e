// What the log pane holds: the last lines of one or more containers, in the engine's time order,
// capped so that a chatty container cannot grow the page without end.
import type { LogLine } from '../../../electron/shared/model.ts';
import { parseAnsi, plainText, type AnsiPart } from './ansi.ts';

/** Lines kept per pane; older ones go. */
export const MAX_LINES = 5000;

export interface ViewLine {
  /** Unique within a pane, for React keys and the current search match. */
  id: number;
  container: string;
  time: string;
  stderr: boolean;
  parts: AnsiPart[];
  /** The text without escapes, for search. */
  plain: string;
}

let nextId = 1;

/** A pushed line, parsed once when it arrives. */
export function toViewLine(line: LogLine & { container: string }): ViewLine {
  const parts = parseAnsi(line.text);
  return {
    id: nextId++,
    container: line.container,
    time: line.time,
    stderr: line.stderr,
    parts,
    plain: plainText(parts),
  };
}

/**
 * The buffer with `incoming` added, in time order, keeping the last `cap` lines. A push holds lines of
 * several containers, and a container's tail can come after another's newer lines: those are merged
 * in by time (stable: lines of one time keep their order).
 */
export function appendLines(buffer: ViewLine[], incoming: ViewLine[], cap = MAX_LINES): ViewLine[] {
  if (incoming.length === 0) return buffer;
  const last = buffer.at(-1)?.time ?? '';
  const ordered = incoming.every((l, i) => l.time >= (i === 0 ? last : incoming[i - 1]!.time));
  const all = ordered ? buffer.concat(incoming) : [...buffer, ...incoming].sort(byTime);
  return all.length > cap ? all.slice(all.length - cap) : all;
}

function byTime(a: ViewLine, b: ViewLine): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : 0;
}

/** The ids of lines whose text holds `query` (case-insensitive), in order. */
export function findMatches(lines: ViewLine[], query: string): number[] {
  if (!query) return [];
  const q = query.toLowerCase();
  return lines.filter((l) => l.plain.toLowerCase().includes(q)).map((l) => l.id);
}

/** `HH:MM:SS.mmm` in local time, from the engine's RFC 3339 time. */
export function shortTime(time: string): string {
  if (!time) return '';
  const d = new Date(time.replace(/\.(\d{3})\d*/, '.$1'));
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
