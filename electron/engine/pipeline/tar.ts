// A small tar writer for build contexts. Node has no tar, and the build context comes from git objects
// rather than a folder, so tar-fs (which packs folders) does not fit; the format itself is simple.
// POSIX ustar headers, with a pax extended header for what ustar cannot hold (long or non-ASCII paths
// and link targets), which Docker's tar reader understands.

export interface TarEntry {
  /** Posix path inside the archive, no leading slash. */
  path: string;
  /** File mode bits, e.g. 0o644. */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** A regular file's bytes; absent for a symlink. */
  data?: Uint8Array;
  /** A symlink's target; makes the entry a symlink. */
  linkTarget?: string;
}

const BLOCK = 512;
const encoder = new TextEncoder();

/**
 * Why a path or link target cannot go into an archive as is, or null. Paths come from git names,
 * which a hand-written tree can make odd: an archive entry must never name a place outside the folder
 * it is unpacked in, and a NUL would cut a ustar field short so that the unpacker reads another name.
 */
function entryProblem(entry: TarEntry): string | null {
  const segments = entry.path.split('/');
  if (entry.path.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    return `"${entry.path}" is not a plain relative path`;
  }
  if (entry.path.includes('\0')) return 'a path holds a NUL';
  if (entry.linkTarget !== undefined && (entry.linkTarget === '' || entry.linkTarget.includes('\0'))) {
    return `the link "${entry.path}" has an empty target or one with a NUL`;
  }
  return null;
}

/** The bytes of one entry: header(s), data, padding to a whole block. */
export function tarEntry(entry: TarEntry): Buffer {
  const problem = entryProblem(entry);
  if (problem !== null) throw new Error(`tar: ${problem}`);
  const data = entry.linkTarget === undefined ? (entry.data ?? new Uint8Array()) : new Uint8Array();
  const parts: Buffer[] = [];
  const pax: Record<string, string> = {};
  const split = splitUstarName(entry.path);
  if (split === null) pax.path = entry.path;
  if (entry.linkTarget !== undefined && !fitsUstar(entry.linkTarget, 100)) pax.linkpath = entry.linkTarget;
  if (Object.keys(pax).length > 0) {
    const body = paxRecords(pax);
    // The pax header's own name is informational; keep it short and ASCII.
    parts.push(
      header({
        name: `PaxHeaders/${asciiTail(entry.path, 80)}`,
        prefix: '',
        mode: 0o644,
        size: body.length,
        mtime: entry.mtime,
        type: 'x',
        linkname: '',
      }),
      body,
      padding(body.length),
    );
  }
  parts.push(
    header({
      name: split?.name ?? asciiTail(entry.path, 100),
      prefix: split?.prefix ?? '',
      mode: entry.mode,
      size: data.length,
      mtime: entry.mtime,
      type: entry.linkTarget === undefined ? '0' : '2',
      linkname:
        entry.linkTarget === undefined
          ? ''
          : fitsUstar(entry.linkTarget, 100)
            ? entry.linkTarget
            : asciiTail(entry.linkTarget, 100),
    }),
  );
  if (data.length > 0)
    parts.push(Buffer.from(data.buffer, data.byteOffset, data.length), padding(data.length));
  return Buffer.concat(parts);
}

/** Two zero blocks end an archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}

/** A whole archive in memory (tests and small contexts). */
export function tarArchive(entries: TarEntry[]): Buffer {
  return Buffer.concat([...entries.map(tarEntry), tarEnd()]);
}

function fitsUstar(s: string, max: number): boolean {
  // ASCII only: ustar fields have no declared encoding.
  return /^[\x20-\x7e]*$/.test(s) && s.length <= max;
}

/** ustar's name (100) + prefix (155) split at a slash, or null when the path does not fit. */
function splitUstarName(p: string): { name: string; prefix: string } | null {
  if (!fitsUstar(p, 255)) return null;
  if (p.length <= 100) return { name: p, prefix: '' };
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { name, prefix };
  }
  return null;
}

function asciiTail(s: string, max: number): string {
  const ascii = s.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length <= max ? ascii : ascii.slice(ascii.length - max);
}

/** pax records: "LEN key=value\n", where LEN counts the whole record including its own digits. */
function paxRecords(records: Record<string, string>): Buffer {
  const out: Buffer[] = [];
  for (const [key, value] of Object.entries(records)) {
    const rest = ` ${key}=${value}\n`;
    const restLen = encoder.encode(rest).length;
    let digits = 1;
    while (String(restLen + digits).length !== digits) digits = String(restLen + digits).length;
    const len = restLen + digits;
    out.push(Buffer.from(`${len}${rest}`, 'utf8'));
  }
  return Buffer.concat(out);
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

function header(h: {
  name: string;
  prefix: string;
  mode: number;
  size: number;
  mtime: number;
  type: '0' | '2' | 'x';
  linkname: string;
}): Buffer {
  const buf = Buffer.alloc(BLOCK);
  buf.write(h.name, 0, 100, 'ascii');
  octal(buf, 100, 8, h.mode & 0o7777);
  octal(buf, 108, 8, 0); // uid
  octal(buf, 116, 8, 0); // gid
  octal(buf, 124, 12, h.size);
  octal(buf, 136, 12, Math.max(0, Math.floor(h.mtime)));
  buf.write(h.type, 156, 1, 'ascii');
  buf.write(h.linkname, 157, 100, 'ascii');
  buf.write('ustar\u000000', 257, 8, 'ascii');
  buf.write('root', 265, 32, 'ascii');
  buf.write('root', 297, 32, 'ascii');
  buf.write(h.prefix, 345, 155, 'ascii');
  // The checksum is taken with its own field as spaces, then written as 6 octal digits, NUL, space.
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return buf;
}

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  if (digits.length > width - 1) {
    throw new Error(`tar: value ${value} does not fit in a ${width}-byte field`);
  }
  buf.write(`${digits}\u0000`, offset, width, 'ascii');
}
