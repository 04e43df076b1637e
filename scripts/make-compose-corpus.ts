// Regenerates test/fixtures/compose-corpus/ (issue 11's corpus) from local bare git mirrors of public
// compose collections: each compose file, unchanged, with the small text files next to it that a
// deployment reads (.env, env_file, configs/secrets files, files and folders of relative bind mounts,
// the Dockerfile and .dockerignore of build contexts, include/extends files). Application source trees,
// images and anything over MAX_FILE_BYTES stay out. Then records what Debian's docker-compose 1.29
// says of each file (`docker-compose -f FILE config -q`, offline, with an empty environment) in
// compose-baseline.json, which the corpus test compares Mooring's verdict with.
//
//   npx tsx scripts/make-compose-corpus.ts [--mirrors /work/.mirror] [--no-baseline]
//
// The fixture folder is replaced as a whole (SOURCES.md is rewritten with the commits read).
import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const execFileAsync = promisify(execFile);

export const FIXTURE = path.resolve(import.meta.dirname, '../test/fixtures/compose-corpus');
/** A file bigger than this is not a config file a deployment reads (or not one a test needs). */
const MAX_FILE_BYTES = 50 * 1024;
/** At most this much of one bind-mounted folder is copied; a bigger folder is an application tree. */
const MAX_FOLDER_BYTES = 64 * 1024;
const MAX_FOLDER_FILES = 40;
const COMPOSE_FILE = /(^|\/)(docker-)?compose[^/]*\.ya?ml$/;

interface Collection {
  /** Folder name inside the fixture. */
  id: string;
  mirror: string;
  url: string;
  license: string;
}

const COLLECTIONS = (mirrors: string): Collection[] => [
  {
    id: 'awesome-compose',
    mirror: path.join(mirrors, 'docker+awesome-compose/repo'),
    url: 'https://github.com/docker/awesome-compose',
    license: 'CC0-1.0 (LICENSE file at the root of the repository)',
  },
  {
    id: 'compose-examples',
    mirror: path.join(mirrors, 'Haxxnet+Compose-Examples/repo'),
    url: 'https://github.com/Haxxnet/Compose-Examples',
    license: 'none stated (the repository has no license file): used here only as test data',
  },
];

interface Blob {
  path: string;
  size: number;
}

class Mirror {
  readonly commit: string;
  readonly date: string;
  readonly blobs = new Map<string, Blob>();
  readonly dirs = new Set<string>(['']);

  constructor(readonly gitdir: string) {
    const [commit, date] = this.git(['log', '-1', '--format=%H %cI', 'HEAD']).trim().split(' ');
    this.commit = commit!;
    this.date = date!;
    // mode type oid size<TAB>path; links (120000) and submodules are left out.
    for (const line of this.git(['ls-tree', '-r', '-l', '-z', this.commit]).split('\0')) {
      const m = /^(\d+) blob [0-9a-f]+\s+(\d+)\t(.*)$/s.exec(line);
      if (!m || m[1] === '120000') continue;
      this.blobs.set(m[3]!, { path: m[3]!, size: Number(m[2]) });
      for (let d = path.posix.dirname(m[3]!); d !== '.'; d = path.posix.dirname(d)) this.dirs.add(d);
    }
  }

  git(args: string[]): string {
    return execFileSync('git', [`--git-dir=${this.gitdir}`, ...args], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
  }

  read(file: string): Buffer {
    return execFileSync('git', [`--git-dir=${this.gitdir}`, 'cat-file', 'blob', `${this.commit}:${file}`], {
      maxBuffer: 64 * 1024 * 1024,
    });
  }

  filesUnder(dir: string): Blob[] {
    const prefix = dir === '' ? '' : `${dir}/`;
    return [...this.blobs.values()].filter((b) => b.path.startsWith(prefix));
  }
}

/** Why a file is left out, or null to copy it. */
function skipReason(m: Mirror, file: string): string | null {
  const blob = m.blobs.get(file);
  if (blob === undefined) return 'absent';
  if (blob.size > MAX_FILE_BYTES) return `${blob.size} bytes`;
  if (m.read(file).subarray(0, 8000).includes(0)) return 'binary';
  return null;
}

/** `${VAR:-default}` → default, `${VAR}` → the .env value or '': enough to see which path is meant. */
function roughInterpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
    (_all, name: string, op, dflt) => {
      const v = env[name];
      if (op === ':-' || op === '-') return v !== undefined && (op === '-' || v !== '') ? v : String(dflt);
      return v ?? '';
    },
  );
}

function roughDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** Relative paths the compose file makes a deployment read, by kind. */
function referencedPaths(doc: unknown, env: Record<string, string>): { files: string[]; contexts: Blob[] } {
  const files: string[] = [];
  const contexts: Blob[] = [];
  if (!isMap(doc)) return { files, contexts };
  const str = (v: unknown): string | null => (typeof v === 'string' ? roughInterpolate(v, env) : null);
  const add = (v: unknown): void => {
    const s = str(v);
    if (s !== null && s !== '') files.push(s);
  };
  for (const svc of Object.values(isMap(doc.services) ? doc.services : {})) {
    if (!isMap(svc)) continue;
    for (const v of list(svc.volumes)) {
      if (typeof v === 'string') {
        const source = roughInterpolate(v, env).split(':')[0]!;
        // A bare name is a named volume; only ./ and ../ (and plain relative paths with a /) are files.
        if (v.includes(':') && (source.startsWith('.') || (source.includes('/') && !source.startsWith('/'))))
          add(source);
      } else if (isMap(v) && v.type === 'bind') {
        const s = str(v.source);
        if (s !== null && !s.startsWith('/') && !s.startsWith('~')) add(s);
      }
    }
    for (const e of list(svc.env_file)) add(isMap(e) ? e.path : e);
    const build = svc.build;
    if (typeof build === 'string' || isMap(build)) {
      const context = (typeof build === 'string' ? str(build) : str(build.context)) ?? '.';
      const dockerfile = isMap(build) ? str(build.dockerfile) : null;
      if (!/^[a-z]+:\/\//i.test(context) && !context.startsWith('git@')) {
        contexts.push({ path: context, size: 0 });
        files.push(
          path.posix.join(context, dockerfile ?? 'Dockerfile'),
          path.posix.join(context, '.dockerignore'),
        );
      }
    }
    if (isMap(svc.extends)) add(svc.extends.file);
  }
  for (const top of ['configs', 'secrets']) {
    const section = doc[top];
    for (const v of Object.values(isMap(section) ? section : {})) if (isMap(v)) add(v.file);
  }
  for (const inc of list(doc.include)) {
    if (isMap(inc)) {
      for (const p of list(inc.path)) add(p);
      for (const p of list(inc.env_file)) add(p);
    } else add(inc);
  }
  return { files, contexts };
}

/** A path the compose file names that the repository holds but the fixture leaves out. */
export interface StandIn {
  /** Fixture path (collection folder first). */
  path: string;
  type: 'file' | 'folder';
  why: string;
}

/** What to copy for one compose file, and what is left out but must exist (with why). */
function pick(
  m: Mirror,
  composeFile: string,
): { files: Set<string>; standIns: (StandIn & { repoPath: string })[] } {
  const dir = path.posix.dirname(composeFile) === '.' ? '' : path.posix.dirname(composeFile);
  const files = new Set<string>([composeFile]);
  const standIns: (StandIn & { repoPath: string })[] = [];
  const envFile = path.posix.join(dir, '.env');
  const envText = m.blobs.has(envFile) ? m.read(envFile).toString('utf8') : '';
  if (envText !== '') files.add(envFile);
  let doc: unknown;
  try {
    doc = parse(m.read(composeFile).toString('utf8'), { merge: true, maxAliasCount: 1000 });
  } catch {
    return { files, standIns };
  }
  const { files: refs, contexts } = referencedPaths(doc, roughDotenv(envText));
  const contextDirs = contexts.map((c) =>
    path.posix.normalize(path.posix.join(dir, c.path)).replace(/\/+$/, ''),
  );
  const inContext = (p: string): boolean =>
    contextDirs.some((c) => c === '.' || c === '' || p === c || p.startsWith(`${c}/`));
  for (const ref of refs) {
    const p = path.posix.normalize(path.posix.join(dir, ref)).replace(/\/+$/, '');
    if (p === '..' || p.startsWith('../')) continue;
    if (m.blobs.has(p)) {
      const why = skipReason(m, p);
      if (why === null) files.add(p);
      else standIns.push({ path: p, repoPath: p, type: 'file', why });
    } else if (m.dirs.has(p)) {
      if (contextDirs.includes(p)) continue; // its Dockerfile is copied, so the folder exists
      const inside = m.filesUnder(p).filter((b) => skipReason(m, b.path) === null);
      const total = inside.reduce((n, b) => n + b.size, 0);
      const why = inContext(p)
        ? 'application source (inside a build context)'
        : inside.length > MAX_FOLDER_FILES || total > MAX_FOLDER_BYTES
          ? `a folder of ${inside.length} files, ${total} bytes`
          : null;
      if (why === null) for (const b of inside) files.add(b.path);
      else standIns.push({ path: p, repoPath: p, type: 'folder', why });
    }
  }
  return { files, standIns };
}

export interface BaselineEntry {
  accepted: boolean;
  /** docker-compose's message when it refuses the file (first line). */
  message?: string;
}

/** corpus.json: what the corpus test reads. */
export interface CorpusIndex {
  collections: { id: string; url: string; commit: string; date: string; license: string }[];
  /** Fixture paths of the compose files, each with docker-compose 1.29's verdict (null: not measured). */
  composeFiles: Record<string, BaselineEntry | null>;
  /** Paths the compose files name that the repositories hold but the fixture leaves out. */
  standIns: StandIn[];
}

/** `docker-compose -f FILE config -q` in the file's folder, with no variable from this environment. */
async function composeVerdict(file: string): Promise<BaselineEntry> {
  try {
    await execFileAsync('docker-compose', ['-f', path.basename(file), 'config', '-q'], {
      cwd: path.dirname(file),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' },
      timeout: 60_000,
    });
    return { accepted: true };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // Warnings (an unset variable) come first; "... is invalid because:" is followed by the reason.
    const lines = (e.stderr ?? e.message)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('WARNING') && !/variable is not set\. Defaulting/.test(l));
    const first = lines[0] ?? e.message.trim();
    return { accepted: false, message: first.endsWith(':') && lines[1] ? `${first} ${lines[1]}` : first };
  }
}

/**
 * Copies the fixture to `dest` and makes each stand-in (an empty file, or a folder holding one empty
 * file), so that the tree has the shape of the repositories': a path the compose file names exists.
 */
export async function materializeCorpus(index: CorpusIndex, dest: string): Promise<void> {
  await cp(FIXTURE, dest, { recursive: true });
  for (const s of index.standIns) {
    const full = path.join(dest, s.path);
    if (s.type === 'file') {
      await mkdir(path.dirname(full), { recursive: true });
      await writeFile(full, '');
    } else {
      await mkdir(full, { recursive: true });
      await writeFile(path.join(full, STAND_IN_FILE), '');
    }
  }
}

/** The file that makes a left-out folder exist in a test's tree. */
export const STAND_IN_FILE = '.corpus-stand-in';

export async function readCorpusIndex(): Promise<CorpusIndex> {
  return JSON.parse(await readFile(path.join(FIXTURE, 'corpus.json'), 'utf8')) as CorpusIndex;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const mirrors = argv.includes('--mirrors') ? argv[argv.indexOf('--mirrors') + 1]! : '/work/.mirror';
  await rm(FIXTURE, { recursive: true, force: true });
  const index: CorpusIndex = { collections: [], composeFiles: {}, standIns: [] };
  const rows: string[] = [];
  let bytes = 0;
  for (const c of COLLECTIONS(mirrors)) {
    const m = new Mirror(c.mirror);
    const found = [...m.blobs.keys()].filter((p) => COMPOSE_FILE.test(p) && !p.startsWith('.')).sort();
    const copy = new Set<string>();
    const standIns = new Map<string, StandIn>();
    for (const f of found) {
      const picked = pick(m, f);
      for (const p of picked.files) copy.add(p);
      for (const s of picked.standIns) {
        standIns.set(s.repoPath, { path: `${c.id}/${s.repoPath}`, type: s.type, why: s.why });
      }
      index.composeFiles[`${c.id}/${f}`] = null;
    }
    for (const p of [...copy].sort()) {
      const data = m.read(p);
      bytes += data.length;
      const dest = path.join(FIXTURE, c.id, p);
      await mkdir(path.dirname(dest), { recursive: true });
      await writeFile(dest, data);
    }
    index.standIns.push(...[...standIns.values()].sort((x, y) => x.path.localeCompare(y.path)));
    index.collections.push({ id: c.id, url: c.url, commit: m.commit, date: m.date, license: c.license });
    rows.push(
      `| \`${c.id}/\` | ${c.url} | \`${m.commit}\` (${m.date}) | ${c.license} | ${found.length} compose files, ${copy.size} files |`,
    );
  }

  if (!argv.includes('--no-baseline')) {
    const work = await mkdtemp(path.join(os.tmpdir(), 'compose-corpus-'));
    await materializeCorpus(index, work);
    // Two at a time: each run is a Python start-up (~0.6 s) on a 2-core machine.
    const queue = Object.keys(index.composeFiles);
    const worker = async (): Promise<void> => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
        index.composeFiles[f] = await composeVerdict(path.join(work, f));
      }
    };
    await Promise.all([worker(), worker()]);
    await rm(work, { recursive: true, force: true });
  }
  await writeFile(path.join(FIXTURE, 'corpus.json'), `${JSON.stringify(index, null, 2)}\n`);

  const sourcesMd = `# Compose corpus: sources

Third-party compose files, and the small files next to them that a deployment reads, used **unchanged**
as test data for issue 11 (test/unit/compose-corpus.test.ts). They are not part of Mooring, are never
run, and keep their authors' rights. Regenerate with \`npx tsx scripts/make-compose-corpus.ts\` from
bare mirrors of the repositories below (the commit read is recorded).

| folder | repository | commit | license | content |
|---|---|---|---|---|
${rows.join('\n')}

Copied for each compose file: the file itself, its folder's \`.env\`, \`env_file\`s, \`configs\`/\`secrets\`
files, \`include\`/\`extends\` files, files and small folders named by relative bind mounts, and the
\`Dockerfile\` and \`.dockerignore\` of each build context (not the application source around them).

Left out, but named by a compose file and present in its repository (files over ${MAX_FILE_BYTES / 1024} KB,
binary files, application folders, folders over ${MAX_FOLDER_FILES} files or ${MAX_FOLDER_BYTES / 1024} KB):
corpus.json lists them as \`standIns\`; a test makes an empty file or folder there, so the tree it reads
has the repositories' shape. A path that the repository itself does not hold is absent here too, as for
a user who clones it.

${index.standIns.map((s) => `- \`${s.path}\` (${s.type}: ${s.why})`).join('\n')}

corpus.json also holds what Debian's docker-compose 1.29.2 says of each file (\`docker-compose -f FILE
config -q\` in the file's folder, offline, with no variable set), the baseline the corpus test compares
Mooring with.
`;
  await writeFile(path.join(FIXTURE, 'SOURCES.md'), sourcesMd);
  const measured = Object.values(index.composeFiles).filter((v) => v !== null);
  if (measured.length > 0) {
    const accepted = measured.filter((v) => v.accepted).length;
    console.log(`docker-compose 1.29 accepts ${accepted} of ${measured.length}`);
  }
  console.log(
    `${Object.keys(index.composeFiles).length} compose files, ${bytes} bytes copied into ${FIXTURE}`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await main();
