// The controller's decisions, without Docker, git or timers: `decide` fed events on a fake clock
// (a number), one test per policy. What the runner would do with each action is not run here; the
// integration tests (controller-*.test.ts) pin that the runner carries them out.
import { describe, expect, it } from 'vitest';
import type { ServiceStatus, StackPolicy, StackStatus } from '../../electron/shared/model.ts';
import {
  decide,
  type Action,
  type DecideConfig,
  type DecideEvent,
  type Facts,
  type Memory,
  type RunOutcome,
  type Target,
} from '../../electron/engine/reconcile/controller-decide.ts';
import { pruneHolds } from '../../electron/engine/reconcile/prune-guard.ts';

const config: DecideConfig = {
  selfHealDebounceMs: 500,
  selfHealMaxWaitMs: 5_000,
  retry: { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 5_000 },
  lockRetryMs: 2_000,
};

const AUTO: StackPolicy = { sync: 'auto', selfHeal: true, prune: false };

const svc = (name: string, sync: ServiceStatus['sync']): ServiceStatus => ({
  name,
  sync,
  health: 'Healthy',
  container: null,
  containerId: null,
  image: { desired: null, live: null },
  state: null,
  ports: [],
  startedAt: null,
  reasons: [],
});

function status(sync: ServiceStatus['sync'], extra: Partial<StackStatus> = {}): StackStatus {
  return {
    source: 'cfg',
    name: 'web',
    revision: 'r1',
    sync: sync === 'Synced' ? 'Synced' : sync === 'Missing' ? 'Missing' : 'OutOfSync',
    health: 'Healthy',
    services: [svc('app', sync)],
    errors: [],
    warnings: [],
    policy: AUTO,
    suspended: false,
    ...extra,
  };
}

function target(extra: Partial<Target> = {}): Target {
  return { revision: 'r1', policy: AUTO, valid: true, services: 1, fingerprint: 'fp', ...extra };
}

function facts(extra: Partial<Facts> = {}): Facts {
  return {
    status: status('OutOfSync'),
    suspended: false,
    running: false,
    engineReachable: true,
    hold: undefined,
    head: 'r1',
    target: target(),
    deployedRevision: 'r1',
    ...extra,
  };
}

/** A controller's decisions over time: memory carried from one event to the next, time a number. */
class Sim {
  memory: Memory = new Map();
  now = 1_000_000;
  actions: Action[] = [];

  send(event: DecideEvent): Action[] {
    const out = decide(this.memory, event, this.now, config);
    this.memory = out.memory;
    this.actions.push(...out.actions);
    return out.actions;
  }

  look(f: Partial<Facts> = {}, stack = 'web'): Action[] {
    return this.send({ type: 'look', stack, facts: facts(f) });
  }

  /** Moves time to the stack's timer and fires it, as the runner's clock would. */
  wake(f: Partial<Facts> = {}, stack = 'web'): Action[] {
    const at = this.memory.get(stack)?.wake?.at;
    if (at === undefined) throw new Error('no timer set');
    this.now = Math.max(this.now, at);
    return this.send({ type: 'wake', stack, facts: facts(f) });
  }

  ended(outcome: RunOutcome, run = this.lastRun()): Action[] {
    return this.send({
      type: 'run-ended',
      stack: run.stack,
      trigger: run.trigger,
      key: run.key,
      revision: run.revision,
      outcome,
    });
  }

  lastRun(): Extract<Action, { kind: 'run' }> {
    const runs = this.actions.filter((a): a is Extract<Action, { kind: 'run' }> => a.kind === 'run');
    const last = runs.at(-1);
    if (!last) throw new Error('no run');
    return last;
  }

  runs(): Extract<Action, { kind: 'run' }>[] {
    return this.actions.filter((a): a is Extract<Action, { kind: 'run' }> => a.kind === 'run');
  }

  logs(): string[] {
    return this.actions.flatMap((a) => (a.kind === 'log' ? [a.message] : []));
  }
}

const runOf = (actions: Action[]): Extract<Action, { kind: 'run' }> | undefined =>
  actions.find((a): a is Extract<Action, { kind: 'run' }> => a.kind === 'run');

describe('auto-sync', () => {
  it('applies a new revision at once, with trigger auto, keyed by revision and spec', () => {
    const sim = new Sim();
    const run = runOf(sim.look({ target: target({ revision: 'r2' }), deployedRevision: 'r1' }));
    expect(run).toMatchObject({ trigger: 'auto', key: 'r2:fp', removed: false, revision: 'r2' });
  });

  it('a revision seen in sync is not applied again; a synced stack clears its failures', () => {
    const sim = new Sim();
    sim.look({ status: status('Synced'), deployedRevision: null });
    expect(sim.memory.get('web')?.inSyncAt).toBe('r1');
    // Drift at that revision is no new revision: self-heal, after its quiet period.
    expect(runOf(sim.look({ deployedRevision: null }))).toBeUndefined();
    expect(sim.wake({ deployedRevision: null }).find((a) => a.kind === 'run')).toMatchObject({
      trigger: 'self-heal',
    });
  });

  it('a Synced status of the revision before a fetch does not count the new revision as deployed', () => {
    const sim = new Sim();
    const policy: StackPolicy = { sync: 'auto', selfHeal: false, prune: false };
    // The fetch brought r2; this look still holds the status taken at r1.
    sim.look({
      status: status('Synced', { policy }),
      target: target({ revision: 'r2', policy }),
      deployedRevision: 'r1',
    });
    expect(sim.memory.get('web')?.inSyncAt).not.toBe('r2');
    const run = runOf(
      sim.look({
        status: status('OutOfSync', { revision: 'r2', policy }),
        target: target({ revision: 'r2', policy }),
        deployedRevision: 'r1',
      }),
    );
    expect(run).toMatchObject({ trigger: 'auto', revision: 'r2' });
  });

  it('nothing with sync: manual, and says once that selfHeal and prune need sync: auto', () => {
    const sim = new Sim();
    const manual = { ...AUTO, sync: 'manual' as const };
    sim.look({ target: target({ policy: manual, revision: 'r2' }) });
    sim.look({ target: target({ policy: manual, revision: 'r2' }) });
    expect(sim.runs()).toEqual([]);
    expect(sim.logs()).toEqual([expect.stringContaining('has sync: manual')]);
  });

  it('nothing while our run is under way, or while the engine is unreachable', () => {
    const sim = new Sim();
    expect(sim.look({ running: true, deployedRevision: null })).toEqual([]);
    expect(sim.look({ engineReachable: false, deployedRevision: null })).toEqual([]);
  });
});

describe('self-heal', () => {
  it('waits for a quiet period after the last look, then repairs once', () => {
    const sim = new Sim();
    const start = sim.now;
    // A `docker compose down` by hand: a look every 100 ms for a second.
    for (let i = 0; i < 10; i++) {
      expect(runOf(sim.look())).toBeUndefined();
      sim.now += 100;
    }
    expect(sim.memory.get('web')?.wake).toEqual({ at: start + 900 + 500, why: 'heal' });
    const run = runOf(sim.wake());
    expect(run).toMatchObject({ trigger: 'self-heal', key: 'r1:fp' });
    expect(sim.now - start).toBe(1_400);
    expect(sim.memory.get('web')?.heal).toBeNull();
  });

  it('a steady trickle of looks cannot put it off past the ceiling', () => {
    const sim = new Sim();
    const start = sim.now;
    for (let i = 0; i < 30; i++) {
      sim.look();
      sim.now += 300;
    }
    expect(sim.memory.get('web')?.wake?.at).toBe(start + 5_000);
  });

  it('is called off when the drift goes away by itself', () => {
    const sim = new Sim();
    sim.look();
    const actions = sim.look({ status: status('Synced') });
    expect(actions).toContainEqual({ kind: 'wake', stack: 'web', at: null });
    expect(sim.memory.get('web')?.heal).toBeNull();
  });

  it('a timer that was replaced meanwhile is only a look', () => {
    const sim = new Sim();
    sim.look();
    // The runner's timer fires early (replaced, raced): not due, so the quiet period goes on.
    expect(runOf(sim.send({ type: 'wake', stack: 'web', facts: facts() }))).toBeUndefined();
  });

  it('selfHeal off: drift stays, said once per revision', () => {
    const sim = new Sim();
    const noHeal = target({ policy: { ...AUTO, selfHeal: false } });
    sim.look({ target: noHeal });
    sim.look({ target: noHeal });
    expect(sim.runs()).toEqual([]);
    expect(sim.logs()).toEqual([expect.stringContaining('selfHeal is off')]);
  });
});

describe('retries', () => {
  it('backs off, doubling, and gives up after maxAttempts of one (revision, spec)', () => {
    const sim = new Sim();
    const fresh = { target: target({ revision: 'r2' }) };
    sim.look(fresh);
    sim.ended({ kind: 'failed', error: 'port taken', runId: 1, transient: false });
    expect(sim.memory.get('web')?.wake).toEqual({ at: sim.now + 1_000, why: 'retry' });
    expect(sim.logs().at(-1)).toBe('web: auto run failed (try 1 of 3); next try in 1.0 s');
    // A look during the backoff does not run; the timer does, without a quiet period.
    sim.now += 500;
    expect(runOf(sim.look(fresh))).toBeUndefined();
    expect(runOf(sim.wake(fresh))).toMatchObject({ trigger: 'auto', key: 'r2:fp' });
    sim.ended({ kind: 'failed', error: 'port taken', runId: 2, transient: false });
    expect(sim.memory.get('web')?.wake?.at).toBe(sim.now + 2_000);
    sim.wake(fresh);
    sim.ended({ kind: 'failed', error: 'port still taken', runId: 3, transient: false });
    expect(sim.logs().at(-1)).toMatch(
      /^web @ r2: giving up after 3 failed auto tries \(last: port still taken\)/,
    );
    sim.now += 24 * 3600_000;
    expect(runOf(sim.look(fresh))).toBeUndefined();
    expect(sim.runs()).toHaveLength(3);
    // A new revision is a new attempt.
    expect(runOf(sim.look({ target: target({ revision: 'r3' }) }))).toMatchObject({ key: 'r3:fp' });
  });

  it('a failure while the engine was gone backs off without counting, and is released when it is back', () => {
    const sim = new Sim();
    for (let i = 0; i < 5; i++) {
      sim.look({ deployedRevision: null });
      sim.now = sim.memory.get('web')?.wake?.at ?? sim.now;
      if (sim.runs().length > i) {
        sim.ended({ kind: 'threw', error: 'connect ENOENT', transient: true });
      }
      sim.wake({ deployedRevision: null });
    }
    expect(sim.memory.get('web')?.retry).toMatchObject({ attempts: 0, gaveUp: false });
    sim.ended({ kind: 'failed', error: 'engine gone', runId: null, transient: true });
    expect(runOf(sim.look({ deployedRevision: null }))).toBeUndefined();
    sim.send({ type: 'engine-back', stack: 'web' });
    expect(runOf(sim.look({ deployedRevision: null }))).toMatchObject({ trigger: 'auto' });
  });

  it('a held lock (a `mooring sync` elsewhere) is tried again after lockRetryMs, said once', () => {
    const sim = new Sim();
    sim.look({ deployedRevision: null });
    sim.ended({ kind: 'locked', error: 'web is being synced by the CLI' });
    expect(sim.memory.get('web')?.wake).toEqual({ at: sim.now + 2_000, why: 'retry' });
    expect(runOf(sim.wake({ deployedRevision: null }))).toBeDefined();
    sim.ended({ kind: 'locked', error: 'web is being synced by the CLI' });
    expect(sim.logs()).toEqual(['web is being synced by the CLI']);
    expect(sim.memory.get('web')?.retry).toBeUndefined();
  });

  it('a run that succeeds without converging counts as a failure, and says what still differs', () => {
    const sim = new Sim();
    sim.look({ deployedRevision: null });
    sim.ended({ kind: 'succeeded', runId: 7, after: status('OutOfSync'), target: target() });
    expect(sim.memory.get('web')?.retry?.attempts).toBe(1);
    expect(sim.logs().at(-1)).toMatch(
      /^web: auto run failed \(try 1 of 3\): run 7 finished, but web still differs/,
    );
  });

  it('a run that converges records the revision in sync and forgets failures', () => {
    const sim = new Sim();
    sim.look({ deployedRevision: null });
    sim.ended({ kind: 'failed', error: 'x', runId: 1, transient: false });
    sim.wake({ deployedRevision: null });
    sim.ended({ kind: 'succeeded', runId: 2, after: status('Synced'), target: target() });
    expect(sim.memory.get('web')).toMatchObject({ retry: undefined, inSyncAt: 'r1' });
  });
});

describe('a bad commit', () => {
  it('is recorded by one run, never retried; the fixing commit is applied', () => {
    const sim = new Sim();
    const bad = { target: target({ revision: 'r2', valid: false, fingerprint: 'invalid' }) };
    expect(runOf(sim.look(bad))).toMatchObject({ trigger: 'auto', key: 'r2:invalid' });
    sim.ended({ kind: 'invalid', error: 'compose.yaml:3:1 bad', runId: 4 });
    expect(sim.logs().at(-1)).toMatch(/^run 4 web @ r2: invalid manifest, nothing applied/);
    for (let i = 0; i < 5; i++) {
      sim.now += 60_000;
      expect(runOf(sim.look(bad))).toBeUndefined();
    }
    expect(runOf(sim.look({ target: target({ revision: 'r3' }) }))).toMatchObject({ key: 'r3:fp' });
  });
});

describe('prune', () => {
  const orphaned = (): StackStatus => ({
    ...status('Synced'),
    sync: 'OutOfSync',
    services: [svc('app', 'Synced'), svc('old', 'Orphaned')],
  });

  it('an orphaned service is removed only where the policy prunes', () => {
    const keep = new Sim();
    keep.look({ status: orphaned(), target: target({ revision: 'r2' }) });
    expect(keep.runs()).toEqual([]);
    const prune = new Sim();
    prune.look({ status: orphaned(), target: target({ revision: 'r2', policy: { ...AUTO, prune: true } }) });
    expect(prune.runs()).toHaveLength(1);
  });

  it('never down to zero containers of a stack git still has: said once per revision', () => {
    const sim = new Sim();
    const empty = target({ revision: 'r2', services: 0, policy: { ...AUTO, prune: true } });
    const only: StackStatus = { ...orphaned(), services: [svc('old', 'Orphaned')] };
    sim.look({ status: only, target: empty });
    sim.look({ status: only, target: empty });
    expect(sim.runs()).toEqual([]);
    expect(sim.logs()).toEqual([expect.stringContaining('web declares no service')]);
  });

  /** A stack git no longer declares, that still runs. */
  const deleted = (): StackStatus => ({
    ...status('Synced'),
    sync: 'Orphaned',
    services: [svc('app', 'Orphaned')],
    deletedInGit: true,
  });

  it('a stack git deleted: its last policy is looked up, then it is pruned once per head', () => {
    const sim = new Sim();
    const gone = { status: deleted(), target: null, head: 'h2' };
    expect(sim.look(gone)).toEqual([{ kind: 'look-up-policy', stack: 'web' }]);
    const run = runOf(sim.look({ ...gone, lastPolicy: { ...AUTO, prune: true } }));
    expect(run).toMatchObject({ removed: true, key: 'h2:removed', revision: 'h2', trigger: 'auto' });
  });

  it('a deleted stack whose last policy did not prune is left running, said once', () => {
    const sim = new Sim();
    const gone = { status: deleted(), target: null, lastPolicy: AUTO };
    sim.look(gone);
    sim.look(gone);
    expect(sim.runs()).toEqual([]);
    expect(sim.logs()).toEqual([expect.stringContaining('is no longer declared in git; left running')]);
  });

  it('absence from a source that could not be read is no deletion', () => {
    const sim = new Sim();
    sim.look({
      status: deleted(),
      target: null,
      head: null,
      lastPolicy: { ...AUTO, prune: true },
    });
    expect(sim.actions).toEqual([]);
  });

  it('a commit deleting most stacks of a source holds the whole source, said once per head', () => {
    const a: StackStatus = { ...deleted(), name: 'a' };
    const b: StackStatus = { ...deleted(), name: 'b' };
    const hold = pruneHolds([a, b], 1)[0];
    expect(hold).toBeDefined();
    const sim = new Sim();
    const prune = { ...AUTO, prune: true };
    sim.look({ status: a, target: null, hold, head: 'h2', lastPolicy: prune }, 'a');
    sim.look({ status: b, target: null, hold, head: 'h2', lastPolicy: prune }, 'b');
    expect(sim.runs()).toEqual([]);
    expect(sim.logs()).toEqual([
      expect.stringMatching(/^Pruning waits for a person.*leaves source "cfg" alone/),
    ]);
    // A new head that still deletes them says so again.
    sim.look({ status: a, target: null, hold, head: 'h3', lastPolicy: prune }, 'a');
    expect(sim.logs()).toHaveLength(2);
  });
});

describe('suspend', () => {
  it('a suspended stack is left alone, and its pending self-heal or retry is called off', () => {
    const sim = new Sim();
    sim.look();
    expect(sim.memory.get('web')?.wake?.why).toBe('heal');
    sim.send({ type: 'suspended', stack: 'web' });
    expect(sim.memory.get('web')).toMatchObject({ heal: null, wake: null });
    expect(sim.look({ suspended: true, deployedRevision: null })).toEqual([]);
  });

  it('resume gives a fresh set of tries, and the run history decides what the tip needs', () => {
    const sim = new Sim();
    const noHeal = target({ policy: { ...AUTO, selfHeal: false } });
    sim.look({ status: status('Synced'), target: noHeal });
    sim.look({ target: noHeal, deployedRevision: null });
    sim.look({ target: target({ revision: 'r2' }) });
    for (let i = 0; i < 3; i++) {
      sim.ended({ kind: 'failed', error: 'x', runId: i, transient: false });
      if (i < 2) sim.wake({ target: target({ revision: 'r2' }) });
    }
    expect(sim.memory.get('web')?.retry?.gaveUp).toBe(true);
    sim.send({ type: 'suspended', stack: 'web' });
    sim.send({ type: 'resumed', stack: 'web' });
    expect(sim.memory.get('web')).toMatchObject({ retry: undefined, inSyncAt: null });
    // Said-once notices may be said again, and the given-up revision is tried again.
    sim.look({ target: noHeal });
    expect(sim.logs().filter((l) => l.includes('selfHeal is off'))).toHaveLength(2);
    expect(runOf(sim.look({ target: target({ revision: 'r2' }) }))).toMatchObject({ key: 'r2:fp' });
  });
});

describe('decide is pure', () => {
  it('leaves the memory it is given as it was', () => {
    const sim = new Sim();
    sim.look();
    const before = sim.memory;
    const copy = JSON.stringify([...before]);
    decide(before, { type: 'wake', stack: 'web', facts: facts() }, sim.now + 10_000, config);
    decide(before, { type: 'resumed', stack: 'web' }, sim.now, config);
    expect(JSON.stringify([...before])).toBe(copy);
  });

  it('a source that cannot be read is said once per error', () => {
    const sim = new Sim();
    sim.send({ type: 'unreadable', source: 'cfg', error: 'no such path' });
    sim.send({ type: 'unreadable', source: 'cfg', error: 'no such path' });
    sim.send({ type: 'unreadable', source: 'cfg', error: 'other' });
    expect(sim.logs()).toHaveLength(2);
  });
});
