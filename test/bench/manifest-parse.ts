// 9. Hostile compose files (issue 10, item 11): loading a stack whose compose file was written to be
// slow. The YAML duplicate-key check was quadratic (60 s for a 1 MB map, more than 10 minutes for
// 5 MB); it is a Set per map now, and deep nesting, alias bombs and nested interpolation are bounded.
// The files are loaded with safety.maxManifestBytes raised to 10 MB, to time the parse itself; with
// the default limit (1 MB) a larger file is refused before parsing, which is timed too.
import { DEFAULT_SAFETY } from '../../electron/shared/model.ts';
import type { SafetySettings } from '../../electron/shared/model.ts';
import { loadStack } from '../../electron/engine/manifest/index.ts';
import type { LoadResult } from '../../electron/engine/manifest/index.ts';
import { check, ms, progress, spread, stats, table, timed, type BenchOutput, type Size } from './lib.ts';

const PLAN: Record<Size, { sizes: number[]; reps: number }> = {
  full: { sizes: [1_000_000, 5_000_000], reps: 3 },
  small: { sizes: [100_000], reps: 1 },
};

const HEAD = 'services:\n  app:\n    image: x\n';

/** `prefix` followed by items until the text is about `bytes` long. */
function fill(prefix: string, bytes: number, item: (i: number) => string, suffix = ''): string {
  const parts = [prefix];
  let size = prefix.length + suffix.length;
  for (let i = 0; size < bytes; i++) {
    const s = item(i);
    parts.push(s);
    size += s.length;
  }
  parts.push(suffix);
  return parts.join('');
}

const SHAPES: { name: string; text: (bytes: number) => string }[] = [
  { name: 'one block map, many keys', text: (b) => fill(`${HEAD}x-big:\n`, b, (i) => `  k${i}: 1\n`) },
  {
    name: 'one flow map on one line',
    text: (b) => fill(`${HEAD}x-big: {`, b, (i) => `k${i}: 1, `, 'z: 1}\n'),
  },
  { name: 'maps of 5,000 keys', text: (b) => fill(HEAD, b, (i) => `x-m${i}:\n${mapOf(5_000)}`) },
  { name: 'many aliases', text: (b) => fill(`${HEAD}x-a: &a v\nx-l:\n`, b, () => '  - *a\n') },
  {
    name: 'services in a depends_on chain',
    text: (b) =>
      fill('services:\n  s0: {image: x}\n', b, (i) => `  s${i + 1}: {image: x, depends_on: [s${i}]}\n`),
  },

  {
    name: '[[[…]]] nested all the way',
    text: (b) => `${HEAD}x-n: ${'['.repeat(b / 2)}${']'.repeat(b / 2)}\n`,
  },
];

let mapCache = '';
function mapOf(keys: number): string {
  if (mapCache === '') mapCache = Array.from({ length: keys }, (_, k) => `  k${k}: 1\n`).join('');
  return mapCache;
}

async function load(text: string, safety: SafetySettings): Promise<LoadResult> {
  return loadStack({
    reader: {
      readFile: (path) => Promise.resolve(path === 'web/compose.yaml' ? text : null),
      stat: () => Promise.resolve(null),
    },
    stackDir: 'web',
    composeFile: 'web/compose.yaml',
    safety,
    homeDir: '/home/bench',
  });
}

export async function manifestParse(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const numbers: Record<string, number[]> = {};
  const rows: string[][] = [];
  const targets: BenchOutput['targets'] = [];
  const raised = { ...DEFAULT_SAFETY, maxManifestBytes: 10_000_000 };

  for (const shape of SHAPES) {
    const medians: number[] = [];
    const cells: string[] = [];
    let outcome = '';
    for (const bytes of plan.sizes) {
      const text = shape.text(bytes);
      const samples: number[] = [];
      for (let r = 0; r < plan.reps; r++) {
        const { ms: took, value } = await timed(() => load(text, raised));
        samples.push(took);
        outcome = value.ok ? 'loads' : `refused: ${value.errors[0]!.message.slice(0, 60)}`;
      }
      progress(`manifest: ${shape.name}, ${(text.length / 1e6).toFixed(1)} MB: ${spread(samples)}`);
      numbers[`${shape.name} ${bytes} bytes`] = samples;
      medians.push(stats(samples).median);
      cells.push(spread(samples));
    }
    rows.push([shape.name, ...cells, outcome]);
    if (medians.length === 2) {
      // Linear: five times the input may take five times as long, with room for the collector.
      const growth = medians[1]! / medians[0]!;
      targets.push(
        check(`${shape.name}: 5 MB against 1 MB`, '≤ 7× (linear)', `${growth.toFixed(1)}×`, growth <= 7),
      );
    }
  }

  // With the default limit, a file over it costs only the size check.
  const over = SHAPES[0]!.text(5_000_000);
  const refusals: number[] = [];
  for (let r = 0; r < plan.reps; r++) {
    const { ms: took, value } = await timed(() => load(over, DEFAULT_SAFETY));
    if (value.ok) throw new Error('a file over the default limit was loaded');
    refusals.push(took);
  }
  numbers['refused over the default limit'] = refusals;
  const refusedMs = stats(refusals).median;
  targets.push(
    check('a file over the default 1 MB limit is refused', '< 100 ms', ms(refusedMs), refusedMs < 100),
  );

  const sizes = plan.sizes.map((b) => `${(b / 1e6).toFixed(1)} MB`);
  const section = `## 9. Hostile compose files: parse in linear time, refuse what is too large

\`loadStack\` on compose files shaped to be slow, with safety.maxManifestBytes raised to 10 MB so that
the parse itself is timed (${plan.reps} repetitions each). Before issue 10 a 1 MB block map took 60 s
(the YAML library's duplicate-key check compared every key with every earlier one) and 5 MB did not
finish in 10 minutes; 1 MB of aliases did not finish in 4 minutes.

${table(['file', ...sizes, 'result'], rows)}

A file of ${(over.length / 1e6).toFixed(1)} MB with the default limit of 1 MB: refused in ${ms(refusedMs)}, before parsing.
`;
  return { id: 'manifest-parse', title: 'Hostile compose files', section, numbers, targets };
}
