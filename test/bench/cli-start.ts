// The CLI's start (the Architecture issue: "keep `mooring --help` under 200 ms"). Each command is a new
// process through bin/mooring.mjs, as a user runs it: `mooring --help`, one command's help, and
// `mooring history` in an empty home, which loads the engine and opens its SQLite history but asks
// Docker nothing (and, for comparison, `--help` from the TypeScript sources through tsx, which is how
// every command started before the CLI was bundled: issue 6). The baseline is Node's own start, `node -e 0`, measured in the same run; the
// commands take turns in each round, so a change of load on the machine falls on all of them alike.
import {
  check,
  CLI,
  ms,
  progress,
  removeDir,
  runOk,
  spread,
  stats,
  table,
  tempDir,
  type BenchOutput,
  type Size,
} from './lib.ts';

const PLAN: Record<Size, { trials: number }> = {
  full: { trials: 21 },
  small: { trials: 1 },
};

/** The issue's goal for `mooring --help`. */
const HELP_TARGET_MS = 200;

export async function cliStart(size: Size): Promise<BenchOutput> {
  const { trials } = PLAN[size];
  const home = await tempDir('cli-start');
  try {
    const env = { ...process.env, NO_COLOR: '1' };
    const tsx = { ...env, MOORING_CLI: 'tsx' };
    const commands: { label: string; args: string[]; env: NodeJS.ProcessEnv }[] = [
      { label: "`node -e 0` (Node's own start, the baseline)", args: ['-e', '0'], env },
      { label: '`mooring --help`', args: [CLI, '--help'], env },
      { label: '`mooring sync --help`', args: [CLI, 'sync', '--help'], env },
      {
        label: '`mooring history`, empty home (loads the engine)',
        args: [CLI, '--home', home, 'history'],
        env,
      },
      {
        label: '`mooring --help` from the sources through tsx (`MOORING_CLI=tsx`, no bundle)',
        args: [CLI, '--help'],
        env: tsx,
      },
    ];
    // Once each, untimed: the first run of a command makes the bundles' code caches (bin/mooring.mjs).
    for (const c of commands) await runOk(process.execPath, c.args, { env: c.env });
    const samples = commands.map(() => [] as number[]);
    for (let t = 0; t < trials; t++) {
      for (let k = 0; k < commands.length; k++) {
        const i = (k + t) % commands.length;
        const c = commands[i]!;
        samples[i]!.push((await runOk(process.execPath, c.args, { env: c.env })).ms);
      }
    }
    const median = samples.map((s) => stats(s).median);
    const [node, help] = median as [number, number];
    progress(
      `cli start: node -e 0 ${Math.round(node)} ms, ${commands
        .slice(1)
        .map((c, i) => `${c.label.replace(/`/g, '')} ${Math.round(median[i + 1]!)} ms`)
        .join(', ')}`,
    );

    const section = `## 12. CLI start

Each command a new process through \`bin/mooring.mjs\`, as a user runs it, ${trials} runs each, taking turns
with Node's own start in every round (after one untimed run each, which makes the code caches). The command
tree (\`out/cli/mooring.cjs\`: parsing and help) loads the engine's bundle (\`out/cli/mooring-engine.cjs\`)
only when a command opens the engine, which \`--help\` never does (scripts/build-cli.mjs).

${table(
  ['command', 'wall time', 'above `node -e 0` (medians)'],
  commands.map((c, i) => [c.label, spread(samples[i]!), i === 0 ? '—' : ms(median[i]! - node)]),
)}

Target: \`mooring --help\` under ${HELP_TARGET_MS} ms (the Architecture issue).
`;
    return {
      id: 'cli-start',
      title: 'CLI start',
      section,
      numbers: Object.fromEntries(commands.map((c, i) => [c.label.replace(/`/g, ''), samples[i]!])),
      targets: [
        check(
          '`mooring --help`',
          `< ${HELP_TARGET_MS} ms`,
          `${ms(help)} (\`node -e 0\`: ${ms(node)})`,
          help < HELP_TARGET_MS,
        ),
      ],
    };
  } finally {
    await removeDir(home);
  }
}
