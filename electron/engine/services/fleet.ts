// The fleet (issue 15): every stack of every source × every engine its `engines:` names, each cell
// with the stack's sync and health on that engine, and each engine's own health. A read of git and a
// look at each engine that answers, all at once; nothing is recorded. An engine that does not answer
// makes only its own cells Unknown.
import {
  LOCAL_ENGINE,
  type EngineProbe,
  type FleetCell,
  type FleetView,
  type StackStatus,
} from '../../shared/model.ts';
import { errorMessage } from '../errors.ts';
import type { Elsewhere } from './desired-state.ts';

export interface FleetInput {
  current: string;
  /** The engines this machine names, probed. */
  probes: EngineProbe[];
  /** Status on the engine in use, and the stacks that go elsewhere as that read collected them. */
  here: StackStatus[];
  elsewhere: readonly Elsewhere[];
  /** Status of the stacks that go to another named engine, looked at there. */
  statusOn: (engine: string) => Promise<StackStatus[]>;
}

const key = (source: string, stack: string): string => `${source}\0${stack}`;

export async function fleetView(input: FleetInput): Promise<FleetView> {
  const rows = new Map<string, { source: string; stack: string; engines: string[] }>();
  for (const s of input.here)
    rows.set(key(s.source, s.name), {
      source: s.source,
      stack: s.name,
      // A stack deleted in git, or one whose policy cannot be read, is shown where it runs: here.
      engines: s.deletedInGit || !s.policy.engines ? [input.current] : s.policy.engines,
    });
  // A stack that goes elsewhere can still run here (it moved): it is a row of both.
  for (const e of input.elsewhere) {
    const row = rows.get(key(e.source, e.stack));
    if (row) row.engines = [...new Set([...row.engines, ...e.engines])];
    else rows.set(key(e.source, e.stack), { source: e.source, stack: e.stack, engines: [...e.engines] });
  }

  const probes = new Map(input.probes.map((p) => [p.name, p]));
  const named = new Set([...rows.values()].flatMap((r) => r.engines));
  const looks = new Map<string, Promise<{ statuses: StackStatus[] } | { error: string }>>();
  looks.set(input.current, Promise.resolve({ statuses: input.here }));
  for (const name of named) {
    const probe = probes.get(name);
    if (looks.has(name) || !probe) continue;
    looks.set(
      name,
      probe.reachable
        ? input.statusOn(name).then(
            (statuses) => ({ statuses }),
            (err: unknown) => ({ error: errorMessage(err) }),
          )
        : Promise.resolve({ error: `engine ${name} does not answer` }),
    );
  }
  const seen = new Map<string, Map<string, StackStatus> | string>();
  for (const [name, look] of looks) {
    const got = await look;
    if ('error' in got) {
      seen.set(name, got.error);
      continue;
    }
    seen.set(name, new Map(got.statuses.map((s) => [key(s.source, s.name), s])));
    // A stack deleted in git that still runs on that engine is a row there too.
    for (const s of got.statuses.filter((x) => x.deletedInGit)) {
      const row = rows.get(key(s.source, s.name)) ?? { source: s.source, stack: s.name, engines: [] };
      if (!row.engines.includes(name)) row.engines.push(name);
      rows.set(key(s.source, s.name), row);
    }
  }

  const cell = (engine: string, source: string, stack: string): FleetCell => {
    const none = { revision: null, deployed: null, suspended: false };
    const look = seen.get(engine);
    if (look === undefined)
      return { engine, configured: false, sync: null, health: null, warning: null, ...none };
    if (typeof look === 'string')
      return { engine, configured: true, sync: 'Unknown', health: 'Unknown', warning: look, ...none };
    const st = look.get(key(source, stack));
    if (!st)
      return {
        engine,
        configured: true,
        sync: 'Unknown',
        health: 'Unknown',
        warning: `engine ${engine} did not list ${stack}`,
        ...none,
      };
    return {
      engine,
      configured: true,
      sync: st.sync,
      health: st.health,
      revision: st.revision,
      deployed: st.deployed ?? null,
      suspended: st.suspended,
      warning: st.sync === 'Unknown' ? (st.warnings[0] ?? null) : null,
    };
  };

  const byName = (a: string, b: string): number =>
    a === LOCAL_ENGINE ? -1 : b === LOCAL_ENGINE ? 1 : a.localeCompare(b);
  const unconfigured = [...named].filter((n) => !probes.has(n)).sort(byName);
  const used = new Set([...rows.values()].flatMap((r) => r.engines));
  return {
    current: input.current,
    engines: input.probes,
    unconfigured,
    columns: [...input.probes.map((p) => p.name), ...unconfigured].filter((n) => used.has(n)),
    rows: [...rows.values()]
      .sort((a, b) => a.stack.localeCompare(b.stack) || a.source.localeCompare(b.source))
      .map((r) => ({
        source: r.source,
        stack: r.stack,
        cells: [...r.engines].sort(byName).map((e) => cell(e, r.source, r.stack)),
      })),
  };
}
