// `npm run bench`: runs the benchmarks under test/bench/ against the real engine and writes
// docs/benchmarks.md (and the raw numbers to docs/benchmarks.json). Issue 6.
//
//   npm run bench                              every benchmark, full size (about 25 minutes)
//   npm run bench -- --only cold-sync,history  just these; the others keep their last results
//   npm run bench -- --size small              every benchmark once at the smoke-test size
//
// Run it when the machine is otherwise quiet: the load average before and after each benchmark is
// recorded beside its numbers. Everything a benchmark creates is named `bench<pid>-…` and removed when
// it ends, fails or is interrupted; leftovers of earlier runs that died are removed at the start.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { format } from 'prettier';
import { dockerOk } from '../helpers/docker.ts';
import {
  cleanupBench,
  killCommands,
  loadAverage,
  machine,
  ms,
  progress,
  ROOT,
  RUN_PREFIX,
  stats,
  table,
  type BenchOutput,
  type Machine,
  type Size,
} from './lib.ts';
import { BENCHMARKS } from './registry.ts';

interface Entry extends BenchOutput {
  size: Size;
  machine: Machine;
  loadBefore: [number, number, number];
  loadAfter: [number, number, number];
  durationMs: number;
  error?: string;
}

const DOC = path.join(ROOT, 'docs/benchmarks.md');
const RAW = path.join(ROOT, 'docs/benchmarks.json');
/** Everything below this line in docs/benchmarks.md is written by people and kept as it is. */
const MARKER = '<!-- Written by hand below this line; `npm run bench` keeps it as it is. -->';

function parseArgs(argv: string[]): { size: Size; only: string[] | null } {
  let size: Size = 'full';
  let only: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--size') size = argv[++i] === 'small' ? 'small' : 'full';
    else if (a === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else throw new Error(`unknown argument ${a} (use --size small|full, --only id,id)`);
  }
  const unknown = (only ?? []).filter((id) => !BENCHMARKS.some((b) => b.id === id));
  if (unknown.length)
    throw new Error(`no benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.id).join(', ')}`);
  return { size, only };
}

const load = (l: [number, number, number]): string => l.map((x) => x.toFixed(2)).join(' / ');

/** Raw samples, or for long series (frame times) their summary. */
/** Samples as written to docs/benchmarks.json: long series as a summary (kept as it is when read back). */
type Samples = number[] | { summary: unknown };

function compact(numbers: Record<string, Samples>): Record<string, Samples> {
  return Object.fromEntries(
    Object.entries(numbers).map(([k, v]) => [
      k,
      !Array.isArray(v)
        ? v
        : v.length <= 200
          ? v.map((x) => Math.round(x * 100) / 100)
          : { summary: stats(v) },
    ]),
  );
}

function render(entries: Entry[], handWritten: string): string {
  const m = entries[entries.length - 1]?.machine;
  const targets = entries.flatMap((e) =>
    e.error
      ? [{ what: `${e.title}: did not finish`, target: '—', measured: e.error.split('\n')[0]!, holds: false }]
      : e.targets,
  );
  const held = targets.filter((t) => t.holds).length;
  const sizes = [...new Set(entries.map((e) => e.size))];
  return `# Benchmarks

Written by \`npm run bench\` (test/bench/run.ts)${sizes.includes('small') ? ', **some at the small smoke-test size**' : ''}. Every
figure is measured against the real Docker engine on this machine, with the baseline measured in the same
run. No benchmark asserts a time; \`test/integration/bench-smoke.test.ts\` runs each once at a small size.

${m ? `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.engine}, ${m.compose}, ${m.node}, ${m.os}.` : ''}

## Targets

${held} of ${targets.length} hold.

${table(
  ['target', 'goal', 'measured', 'holds'],
  targets.map((t) => [t.what, t.target, t.measured, t.holds ? 'yes' : '**no**']),
)}

${entries
  .map((e) =>
    e.error
      ? `## ${e.title}\n\nDid not finish on ${e.machine.date.slice(0, 10)}:\n\n\`\`\`\n${e.error}\n\`\`\`\n`
      : e.section,
  )
  .join('\n')}
## When and under what load

The machine has ${m?.cores ?? '?'} cores and is shared: the load average (1 / 5 / 15 min, from /proc/loadavg) before and
after each benchmark says how quiet it was. Above about ${m?.cores ?? 2} the numbers are slower than the machine can do.

${table(
  ['benchmark', 'size', 'measured at (UTC)', 'took', 'load before', 'load after'],
  entries.map((e) => [
    e.title,
    e.size,
    e.machine.date.slice(0, 16).replace('T', ' '),
    ms(e.durationMs),
    load(e.loadBefore),
    load(e.loadAfter),
  ]),
)}

${MARKER}
${handWritten}`;
}

async function main(): Promise<void> {
  const { size, only } = parseArgs(process.argv.slice(2));
  if (!(await dockerOk()))
    throw new Error('No Docker engine answers: run `bash scripts/setup-test-env.sh` as root.');
  const stale = await cleanupBench('bench');
  if (stale > 0) progress(`removed ${stale} container(s) left by earlier runs that died`);

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress(`${signal}: stopping this run's commands and removing what it created…`);
    killCommands();
    void cleanupBench(RUN_PREFIX).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const previous: Entry[] = await readFile(RAW, 'utf8')
    .then((t) => (JSON.parse(t) as { entries: Entry[] }).entries)
    .catch(() => []);
  const docText = await readFile(DOC, 'utf8').catch(() => '');
  const handWritten = docText.includes(MARKER)
    ? docText.slice(docText.indexOf(MARKER) + MARKER.length + 1)
    : '';

  const results = new Map(previous.map((e) => [e.id, e]));
  for (const b of BENCHMARKS) {
    if (only && !only.includes(b.id)) continue;
    const loadBefore = loadAverage();
    progress(`── ${b.id} (${size}), load ${load(loadBefore)}`);
    const started = performance.now();
    let out: BenchOutput;
    let error: string | undefined;
    try {
      out = await b.run(size);
    } catch (err) {
      error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      progress(`${b.id} failed: ${error}`);
      out = { id: b.id, title: b.id, section: '', numbers: {}, targets: [] };
    } finally {
      await cleanupBench(RUN_PREFIX);
    }
    results.set(b.id, {
      ...out,
      id: b.id,
      size,
      machine: await machine(),
      loadBefore,
      loadAfter: loadAverage(),
      durationMs: performance.now() - started,
      ...(error ? { error } : {}),
    });
    // Written after each benchmark, so an interrupted run keeps what it measured.
    const entries = BENCHMARKS.flatMap((x) => results.get(x.id) ?? []);
    await writeFile(
      RAW,
      await format(JSON.stringify({ entries: entries.map((e) => ({ ...e, numbers: compact(e.numbers) })) }), {
        parser: 'json',
      }),
    );
    await writeFile(DOC, render(entries, handWritten));
  }
  progress(`wrote ${path.relative(ROOT, DOC)} and ${path.relative(ROOT, RAW)}`);
}

await main();
