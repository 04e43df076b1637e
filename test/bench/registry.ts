// Every benchmark of issue 6, in its order: test/bench/run.ts runs them at full size and writes
// docs/benchmarks.md; test/integration/bench-smoke.test.ts runs each once at the small size.
import { changeOne } from './change-one.ts';
import { cliStart } from './cli-start.ts';
import { coldSync } from './cold-sync.ts';
import { commitToRunning } from './commit-to-running.ts';
import { controllerLatency } from './controller-latency.ts';
import { corpusPlan } from './corpus-plan.ts';
import { gitMirror } from './git-mirror.ts';
import { history } from './history.ts';
import type { Benchmark } from './lib.ts';
import { manifestParse } from './manifest-parse.ts';
import { noopSync } from './noop-sync.ts';
import { push } from './push.ts';
import { remoteEngines } from './remote-engines.ts';
import { scale } from './scale.ts';
import { swarm } from './swarm.ts';
import { ui } from './ui.ts';

export const BENCHMARKS: { id: string; run: Benchmark }[] = [
  { id: 'cold-sync', run: coldSync },
  { id: 'noop-sync', run: noopSync },
  { id: 'change-one', run: changeOne },
  { id: 'controller-latency', run: controllerLatency },
  { id: 'scale', run: scale },
  { id: 'git', run: gitMirror },
  { id: 'history', run: history },
  { id: 'ui', run: ui },
  { id: 'manifest-parse', run: manifestParse },
  { id: 'corpus-plan', run: corpusPlan },
  { id: 'push', run: push },
  { id: 'cli-start', run: cliStart },
  { id: 'commit-to-running', run: commitToRunning },
  { id: 'remote-engines', run: remoteEngines },
  { id: 'swarm', run: swarm },
];
