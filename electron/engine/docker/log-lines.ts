// A container's follow stream, cut into lines as its bytes arrive. Without a TTY the engine frames each
// write with an 8-byte header (stream, size), and a frame, a UTF-8 character or a line can each be split
// across the socket's chunks: this keeps what is left of each until the rest comes.
import { StringDecoder } from 'node:string_decoder';
import type { LogLine } from '../../shared/model.ts';

/** A line longer than this is cut (a binary blob printed by mistake must not grow without end). */
export const MAX_LINE_CHARS = 16 * 1024;

type Stream = 'stdout' | 'stderr';

export class LogLineReader {
  private frame: Buffer = Buffer.alloc(0);
  private readonly text: Record<Stream, { decoder: StringDecoder; partial: string }> = {
    stdout: { decoder: new StringDecoder('utf8'), partial: '' },
    stderr: { decoder: new StringDecoder('utf8'), partial: '' },
  };

  /** `framed`: the container has no TTY (the engine multiplexes stdout and stderr). */
  constructor(private readonly framed: boolean) {}

  /** The whole lines that this chunk completes, in order. */
  push(chunk: Buffer): LogLine[] {
    if (!this.framed) return this.decode('stdout', chunk);
    this.frame = this.frame.length ? Buffer.concat([this.frame, chunk]) : chunk;
    const out: LogLine[] = [];
    let i = 0;
    while (i + 8 <= this.frame.length) {
      const size = this.frame.readUInt32BE(i + 4);
      if (i + 8 + size > this.frame.length) break;
      // 1 stdout, 2 stderr (0 stdin is never sent for logs).
      const stream: Stream = this.frame[i] === 2 ? 'stderr' : 'stdout';
      out.push(...this.decode(stream, this.frame.subarray(i + 8, i + 8 + size)));
      i += 8 + size;
    }
    this.frame = this.frame.subarray(i);
    return out;
  }

  /** What is left when the stream ends: a last line without its newline. */
  end(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const t = this.text[stream];
      const rest = t.partial + t.decoder.end();
      t.partial = '';
      if (rest) out.push(parseLine(rest, stream));
    }
    return out;
  }

  private decode(stream: Stream, bytes: Buffer): LogLine[] {
    const t = this.text[stream];
    const parts = (t.partial + t.decoder.write(bytes)).split('\n');
    t.partial = parts.pop() ?? '';
    if (t.partial.length > MAX_LINE_CHARS) {
      parts.push(t.partial);
      t.partial = '';
    }
    return parts.map((p) => parseLine(p, stream));
  }
}

/**
 * One line as the engine sends it with `timestamps: true`: an RFC 3339 time with nanoseconds, a space,
 * the text. Go trims the fraction's trailing zeros; it is padded back to nine digits so that times of
 * two containers compare as strings (".1Z" sorted after ".12Z").
 */
export function parseLine(raw: string, stream: Stream): LogLine {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) /.exec(line);
  const text = (m ? line.slice(m[0].length) : line).slice(0, MAX_LINE_CHARS);
  const time = m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}${m[3]}` : '';
  return { time, stderr: stream === 'stderr', text };
}
