// Every stack at a glance; what needs a person's eyes sorts first and stands out.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Snapshot } from '../../../electron/shared/api.ts';
import { adviceFor } from '../../../electron/shared/advice.ts';
import { stackKey } from '../../../electron/shared/snapshot-delta.ts';
import {
  LOCAL_ENGINE,
  type ActionKind,
  type ElsewhereView,
  type Plan,
  type StackStatus,
} from '../../../electron/shared/model.ts';
import { call } from '../api/client.ts';
import { HealthBadge, PendingNote, ResultBadge, SyncBadge } from '../components/badges.tsx';
import { Dialog } from '../components/dialog.tsx';
import { ago, firstLine, shortId, stackRevisions } from '../format.ts';
import { href, navigate } from '../router.ts';
import { useStore, type LiveRun } from '../store.tsx';

const SYNC_RANK: Record<string, number> = { Unknown: 0, OutOfSync: 1, Orphaned: 2, Missing: 3, Synced: 4 };
const HEALTH_RANK: Record<string, number> = {
  Degraded: 0,
  Unknown: 1,
  Missing: 2,
  Progressing: 3,
  Suspended: 4,
  Healthy: 5,
};

export function needsAttention(s: StackStatus): boolean {
  return s.sync !== 'Synced' || s.health === 'Degraded' || s.health === 'Unknown';
}

export function sortStacks(stacks: StackStatus[]): StackStatus[] {
  return [...stacks].sort(
    (a, b) =>
      (SYNC_RANK[a.sync] ?? 9) - (SYNC_RANK[b.sync] ?? 9) ||
      (HEALTH_RANK[a.health] ?? 9) - (HEALTH_RANK[b.health] ?? 9) ||
      a.name.localeCompare(b.name),
  );
}

function counts(s: StackStatus): string {
  const by = new Map<string, number>();
  for (const svc of s.services) by.set(svc.sync, (by.get(svc.sync) ?? 0) + 1);
  return [...by].map(([k, n]) => `${n} ${k === 'OutOfSync' ? 'out of sync' : k.toLowerCase()}`).join(' · ');
}

/**
 * One stack's row. Memoized: a push changes one stack, and the delta keeps every other stack, run and
 * the revision maps as they were, so the other rows skip their render (the push benchmark, issue 12).
 */
const StackRow = memo(function StackRow({
  s,
  changed,
  revisions,
  run,
  anyBusy,
  spinning,
  onSync,
}: {
  s: StackStatus;
  changed: Snapshot['changedIn'][string] | undefined;
  revisions: Snapshot['revisions'];
  run: Snapshot['lastRuns'][string] | undefined;
  anyBusy: boolean;
  spinning: boolean;
  onSync: (name: string) => void;
  /** Changes every half minute, so that an unchanged row's "2m ago" is rendered again. */
  tick: number;
}): React.JSX.Element {
  const attention = needsAttention(s);
  const rev = stackRevisions(s, changed);
  const commit = rev.target ? revisions[rev.target] : undefined;
  return (
    <tr
      data-stack={s.name}
      data-sync={s.sync}
      className={`clickable ${attention ? 'attention' : ''} ${s.health === 'Degraded' || s.sync === 'Unknown' ? 'bad' : ''}`}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest('button,a')) return;
        navigate({ screen: 'stack', name: s.name });
      }}
    >
      <td>
        <a className="name" href={href({ screen: 'stack', name: s.name })}>
          {s.name}
        </a>
        <div className="cell-sub">{s.source}</div>
      </td>
      <td>
        {rev.deployed ? (
          <span title="deployed → target" data-deployed={rev.deployed} className="rev-pair">
            <code>{shortId(rev.deployed)}</code> → <code>{shortId(rev.target)}</code>
          </span>
        ) : (
          <code
            title={
              rev.target && rev.target !== s.revision
                ? `last changed in ${shortId(rev.target)}; the branch is at ${shortId(s.revision)}`
                : undefined
            }
          >
            {shortId(rev.target)}
          </code>
        )}
        <div className="cell-sub">
          {rev.deployed ? 'deployed → target · ' : ''}
          {commit
            ? `${firstLine(commit.message)} · ${ago(commit.time)}`
            : s.revision
              ? ''
              : s.deletedInGit
                ? 'deleted in git'
                : 'no revision'}
        </div>
      </td>
      <td>
        <SyncBadge sync={s.sync} />
        {s.suspended && (
          <>
            {' '}
            <span className="badge quiet">Suspended</span>
          </>
        )}
        {s.pending && (
          <div className="cell-sub">
            <PendingNote pending={s.pending} />
          </div>
        )}
        {s.errors.length > 0 && (
          <div className="cell-sub">
            {s.errors.some((e) => e.unverified)
              ? `tip unverified${s.comparedWith ? `; runs ${shortId(s.comparedWith)}` : ''}`
              : s.comparedWith
                ? `target invalid; runs ${shortId(s.comparedWith)}`
                : 'manifest invalid'}
          </div>
        )}
      </td>
      <td>
        <HealthBadge health={s.health} />
      </td>
      <td className="cell-sub">{counts(s) || 'no services'}</td>
      <td>
        {run ? (
          <>
            <ResultBadge result={run.result} />
            <div className="cell-sub">
              <a href={href({ screen: 'history', runId: run.id })}>#{run.id}</a> · {run.trigger} ·{' '}
              {ago(run.startedAt)}
            </div>
          </>
        ) : (
          <span className="cell-sub">never synced</span>
        )}
      </td>
      <td style={{ textAlign: 'right' }}>
        <button
          disabled={anyBusy || s.errors.length > 0 || s.sync === 'Unknown' || !s.revision}
          onClick={() => {
            onSync(s.name);
          }}
          aria-label={`Sync ${s.name}`}
        >
          {spinning ? <span className="spinner" /> : 'Sync'}
        </button>
      </td>
    </tr>
  );
});

export function Overview({
  filterRef,
}: {
  filterRef: React.RefObject<HTMLInputElement | null>;
}): React.JSX.Element {
  const { snapshot, notify } = useStore();
  const [filter, setFilter] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<{ plans: Plan[]; stacks: string[] } | null>(null);

  const stacks = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const all = sortStacks(snapshot?.stacks ?? []);
    return f
      ? all.filter((s) => `${s.name} ${s.source} ${s.sync} ${s.health}`.toLowerCase().includes(f))
      : all;
  }, [snapshot, filter]);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => {
      setTick((n) => n + 1);
    }, 30_000);
    return () => {
      clearInterval(timer);
    };
  }, []);
  // The rows are memoized, so the handler they get stays the same object across renders.
  const syncRef = useRef<(names: string[]) => Promise<void>>(async () => {});
  const onSync = useCallback((name: string) => {
    void syncRef.current([name]);
  }, []);

  if (!snapshot) return <p className="sub">Loading…</p>;
  if (snapshot.sources.length === 0) return <NoSources />;

  // A suspended stack was held on purpose (a rollback): "sync all" leaves it out and says so.
  const outOfSync = (snapshot.stacks ?? []).filter(
    (s) => (s.sync === 'OutOfSync' || s.sync === 'Missing') && !s.suspended,
  );
  const heldBack = (snapshot.stacks ?? []).filter(
    (s) => (s.sync === 'OutOfSync' || s.sync === 'Missing') && s.suspended,
  );

  const sync = async (names: string[]): Promise<void> => {
    setBusy(names.join(','));
    try {
      const results = await call('stacks:sync', { stacks: names });
      for (const r of results) {
        if (r.result === 'succeeded') notify('info', `Synced "${r.stack}".`);
        else if (r.result !== 'failed') notify('error', `${r.stack}: ${r.error ?? r.result}`);
      }
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setBusy(null);
    }
  };
  syncRef.current = sync;

  const previewAll = async (): Promise<void> => {
    const names = outOfSync.map((s) => s.name);
    setBusy('plan');
    try {
      const plans = await Promise.all(names.map((stack) => call('stacks:plan', { stack })));
      setConfirm({ plans, stacks: names });
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <div className="page-head">
        <h1>Overview</h1>
        <span className="sub">
          {snapshot.stacks.length} stacks · {snapshot.stacks.filter(needsAttention).length} need attention
        </span>
        <span className="grow" />
        <input
          ref={filterRef}
          type="search"
          placeholder="Filter stacks  ( / )"
          aria-label="Filter stacks"
          value={filter}
          onChange={(e) => {
            setFilter(e.target.value);
          }}
        />
        <button
          className="primary"
          disabled={outOfSync.length === 0 || busy !== null}
          onClick={() => void previewAll()}
          title="Preview, then sync every stack that is out of sync or missing"
        >
          Sync all out of sync{outOfSync.length ? ` (${outOfSync.length})` : ''}
        </button>
      </div>
      <EngineCallout snapshot={snapshot} />
      <PruneHolds stacks={snapshot.stacks} />
      {stacks.length === 0 ? (
        <div className="panel empty">
          {filter ? (
            <p>No stack matches “{filter}”.</p>
          ) : snapshot.elsewhere.length > 0 ? (
            <>
              <h2>No stack goes to this engine</h2>
              <p>
                mooring.yaml sends every stack to other engines (below). A stack goes to{' '}
                <code>{snapshot.engine.name ?? LOCAL_ENGINE}</code> when its <code>engines:</code> names it,
                or names none.
              </p>
            </>
          ) : (
            <>
              <h2>No stacks found</h2>
              <p>
                A stack is a folder in the config repo holding <code>compose.yaml</code>. Check the source’s
                branch and sub-path in Settings, or push a stack and press Fetch.
              </p>
            </>
          )}
        </div>
      ) : (
        <div className="panel">
          <table aria-label="Stacks" className="stacks">
            <colgroup>
              <col className="c-stack" />
              <col className="c-rev" />
              <col className="c-sync" />
              <col className="c-health" />
              <col className="c-services" />
              <col className="c-run" />
              <col className="c-actions" />
            </colgroup>
            <thead>
              <tr>
                <th>Stack</th>
                <th>Revision</th>
                <th>Sync</th>
                <th>Health</th>
                <th>Services</th>
                <th>Last run</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {stacks.map((s) => (
                <StackRow
                  key={`${s.source}/${s.name}`}
                  s={s}
                  changed={snapshot.changedIn[stackKey(s)]}
                  revisions={snapshot.revisions}
                  run={snapshot.lastRuns[s.name]}
                  anyBusy={busy !== null}
                  spinning={busy === s.name}
                  onSync={onSync}
                  tick={tick}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Elsewhere elsewhere={snapshot.elsewhere} engine={snapshot.engine.name ?? LOCAL_ENGINE} />
      {confirm && (
        <ConfirmSync
          title={`Sync ${confirm.stacks.length} stack${confirm.stacks.length === 1 ? '' : 's'}?`}
          intro="These changes will be made to the Docker engine:"
          plans={confirm.plans.map((p) => ({ key: p.stack, heading: p.stack, plan: p }))}
          onClose={() => {
            setConfirm(null);
          }}
          onSync={() => {
            const names = confirm.stacks;
            setConfirm(null);
            void sync(names);
          }}
        >
          {heldBack.length > 0 && (
            <p className="plan-note">
              Left out, suspended: {heldBack.map((s) => s.name).join(', ')}. Resume a stack on its screen to
              sync it again.
            </p>
          )}
        </ConfirmSync>
      )}
    </>
  );
}

/** "Sync N?": each plan under its heading, then Cancel or Sync N. `children`: said before the plans. */
export function ConfirmSync({
  title,
  intro,
  plans,
  onClose,
  onSync,
  children,
}: {
  title: string;
  intro: string;
  plans: { key: string; heading: string; plan: Plan }[];
  onClose: () => void;
  onSync: () => void;
  children?: React.ReactNode;
}): React.JSX.Element {
  return (
    <Dialog
      title={title}
      onClose={onClose}
      actions={
        <>
          <button onClick={onClose}>Cancel</button>
          <button className="primary" autoFocus onClick={onSync}>
            Sync {plans.length}
          </button>
        </>
      }
    >
      <p className="sub">{intro}</p>
      {children}
      {plans.map((p) => (
        <div key={p.key}>
          <h3 className="plan-head">
            {p.heading} <code className="sub">@ {shortId(p.plan.revision)}</code>
          </h3>
          <PlanList plan={p.plan} />
        </div>
      ))}
    </Dialog>
  );
}

export function PlanList({ plan, run }: { plan: Plan; run?: LiveRun | null }): React.JSX.Element {
  const notes = (plan.notes ?? []).map((n) => (
    <p key={n} className="plan-note">
      Note: {n}
    </p>
  ));
  if (plan.actions.length === 0) {
    return (
      <>
        <p className="sub">Nothing to do: already in sync.</p>
        {notes}
      </>
    );
  }
  return (
    <>
      <PlanActions plan={plan} run={run ?? null} />
      {notes}
    </>
  );
}

/** What an action does while it runs, in words. */
const DOING: Partial<Record<ActionKind, string>> = {
  pull: 'pulling',
  build: 'building',
  'create-network': 'creating',
  'create-volume': 'creating',
  create: 'creating',
  recreate: 'recreating',
  start: 'starting',
  stop: 'stopping',
  remove: 'removing',
  'remove-network': 'removing',
  'recreate-network': 'recreating',
  'create-secret': 'creating',
  'create-config': 'creating',
  'remove-secret': 'removing',
  'remove-config': 'removing',
  scale: 'scaling',
  adopt: 'adopting',
};

/**
 * The plan's actions; with `run`, each one's state as it goes: queued, pulling/creating…, waiting for
 * health (with the healthcheck's last output), done in how long, or failed with the engine's words and
 * what to do.
 */
function PlanActions({ plan, run }: { plan: Plan; run: LiveRun | null }): React.JSX.Element {
  return (
    <ol className="plan-list" aria-label={`Plan for ${plan.stack}`}>
      {plan.actions.map((a, i) => {
        const p = run?.actions[i];
        const state: string = p?.state ?? (run ? (run.finished ? 'skipped' : 'queued') : 'pending');
        const advice = p?.error ? adviceFor(p.error) : null;
        return (
          <li key={i} data-action={`${a.kind} ${a.target}`} data-state={state} className={`action-${state}`}>
            <span aria-hidden="true" className="action-icon">
              {state === 'succeeded' ? (
                '✓'
              ) : state === 'failed' ? (
                '✗'
              ) : state === 'started' || state === 'waiting' ? (
                <span className="spinner" />
              ) : (
                '·'
              )}
            </span>
            <span className="kind">{a.kind}</span>
            <span>
              <strong>{a.target}</strong> <span className="reason">— {a.reason}</span>
            </span>
            <span className="sub action-state">
              {state === 'started'
                ? `${DOING[a.kind] ?? 'working'}…`
                : state === 'waiting'
                  ? `waiting for ${p?.waitingFor ?? 'it'}…`
                  : state === 'succeeded'
                    ? `done${p?.ms !== null && p?.ms !== undefined ? ` in ${seconds(p.ms)}` : ''}`
                    : state === 'failed'
                      ? 'failed'
                      : state === 'pending'
                        ? `step ${a.level + 1}`
                        : state}
            </span>
            {state === 'waiting' && p?.detail && (
              <span className="action-detail">
                healthcheck said: <code>{p.detail}</code>
              </span>
            )}
            {state === 'failed' && p?.error && (
              <span className="action-detail action-error">
                {p.error}
                {advice && <span className="advice">{advice}</span>}
              </span>
            )}
          </li>
        );
      })}
    </ol>
  );
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A commit that deleted every stack (or most) of a source: the controller holds the prune until a
 * person confirms it here, with the list of what goes (issue 10).
 */
function PruneHolds({ stacks }: { stacks: StackStatus[] }): React.JSX.Element | null {
  const { notify } = useStore();
  const [confirm, setConfirm] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const held = new Map<string, StackStatus[]>();
  for (const s of stacks) if (s.pruneHold) held.set(s.source, [...(held.get(s.source) ?? []), s]);
  if (held.size === 0) return null;
  const prune = async (source: string): Promise<void> => {
    setBusy(true);
    try {
      const results = await call('sources:prune', { name: source });
      const failed = results.filter((r) => r.result !== 'succeeded');
      if (failed.length === 0) notify('info', `Removed ${results.length} stack(s) deleted from "${source}".`);
      for (const r of failed) notify('error', `${r.stack}: ${r.error ?? r.result}`);
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setBusy(false);
      setConfirm(null);
    }
  };
  const list = confirm ? (held.get(confirm) ?? []) : [];
  return (
    <>
      {[...held].map(([source, deleted]) => (
        <div key={source} className="callout warn" role="alert" data-prune-hold={source}>
          <strong>
            Pruning waits for you: source “{source}” no longer declares {deleted.length} stack
            {deleted.length === 1 ? '' : 's'} that run here.
          </strong>{' '}
          The controller leaves this source alone until you decide. If the deletion is intended, remove them;
          otherwise restore them in git.
          <div style={{ marginTop: 8 }}>
            <button
              onClick={() => {
                setConfirm(source);
              }}
            >
              Review and remove…
            </button>
          </div>
        </div>
      ))}
      {confirm && (
        <Dialog
          title={`Remove ${list.length} stack${list.length === 1 ? '' : 's'} deleted from “${confirm}”?`}
          onClose={() => {
            setConfirm(null);
          }}
          actions={
            <>
              <button
                onClick={() => {
                  setConfirm(null);
                }}
              >
                Keep them running
              </button>
              <button className="danger" disabled={busy} onClick={() => void prune(confirm)}>
                {busy ? <span className="spinner" /> : `Remove ${list.length}`}
              </button>
            </>
          }
        >
          <p className="sub">
            Their containers and the networks Mooring made for them are removed. Volumes stay: they hold data.
          </p>
          <ul>
            {list.map((s) => (
              <li key={s.name}>
                <strong>{s.name}</strong>{' '}
                <span className="sub">
                  {s.services.length} container{s.services.length === 1 ? '' : 's'}:{' '}
                  {s.services.map((x) => x.container ?? x.name).join(', ')}
                </span>
              </li>
            ))}
          </ul>
        </Dialog>
      )}
    </>
  );
}

/**
 * The stacks mooring.yaml sends to other engines (issue 15): where each goes, and which of those
 * engines this machine does not know by that name.
 */
function Elsewhere({
  elsewhere,
  engine,
}: {
  elsewhere: ElsewhereView[];
  engine: string;
}): React.JSX.Element | null {
  if (elsewhere.length === 0) return null;
  // Each engine this machine maps is a link to the stack there.
  const linked = elsewhere.some((x) => x.engines.some((e) => e.configured));
  return (
    <section className="panel pad elsewhere" aria-labelledby="elsewhere-h">
      <h2 id="elsewhere-h">On other engines</h2>
      <p className="sub">
        mooring.yaml sends these stacks to other engines than <code>{engine}</code>, this window's.{' '}
        {linked ? 'Open one on its engine, or see them' : 'See them'} all in the{' '}
        <a href={href({ screen: 'fleet' })}>Fleet</a>.
      </p>
      <ul>
        {elsewhere.map((x) => (
          <li key={`${x.source}/${x.stack}`}>
            <strong>{x.stack}</strong> →{' '}
            {x.engines.map((e, i) => (
              <span key={e.name}>
                {i > 0 && ', '}
                {e.configured ? (
                  <a href={href({ screen: 'stack', name: x.stack, engine: e.name })}>{e.name}</a>
                ) : (
                  <>
                    <code>{e.name}</code>
                    <span className="sub"> (not configured here)</span>
                  </>
                )}
              </span>
            ))}
          </li>
        ))}
      </ul>
    </section>
  );
}

function EngineCallout({ snapshot }: { snapshot: Snapshot }): React.JSX.Element | null {
  if (snapshot.engine.reachable) return null;
  return (
    <div className="callout bad" role="alert">
      <strong>Docker engine not reachable</strong> at <code>{snapshot.engine.endpoint}</code>. Status is
      Unknown until it answers. Start Docker, or set the Docker endpoint in{' '}
      <a href={href({ screen: 'settings' })}>Settings</a>.
      {snapshot.engine.error && <div className="cell-sub">{snapshot.engine.error}</div>}
    </div>
  );
}

function NoSources(): React.JSX.Element {
  return (
    <div className="panel empty">
      <h1>No config repo yet</h1>
      <p>
        Mooring keeps your Docker engine equal to a git repo of Compose files. Add the repo (an HTTP(S) URL or
        a local path) and its stacks will show here.
      </p>
      <a className="button primary" href={href({ screen: 'settings' })} style={{ textDecoration: 'none' }}>
        Add a source
      </a>
    </div>
  );
}
