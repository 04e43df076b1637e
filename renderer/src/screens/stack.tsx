// One stack on one engine: its services, what differs from git and why, the plan before anything
// changes, live progress while it applies, and container logs. On the window's engine it is read from
// the snapshot; on another named engine (issue 15) asked of the engine, and again when it changes there.
import { Fragment, useEffect, useState } from 'react';
import type { Snapshot, StackOnEngine, SyncOutcome } from '../../../electron/shared/api.ts';
import {
  LOCAL_ENGINE,
  type ElsewhereView,
  type ManifestError,
  type Plan,
  type ServiceStatus,
  type StackStatus,
} from '../../../electron/shared/model.ts';
import { stackKey } from '../../../electron/shared/snapshot-delta.ts';
import { allowLabel, offeredGrants, trustCommand } from '../../../electron/shared/trust.ts';
import { call, getApi } from '../api/client.ts';
import { HealthBadge, PendingNote, SyncBadge } from '../components/badges.tsx';
import { Dialog } from '../components/dialog.tsx';
import { DiffTable } from '../components/diff-table.tsx';
import { DriftTimeline } from '../components/drift-timeline.tsx';
import { LogView } from '../components/log-view.tsx';
import { ServiceActions } from '../components/service-actions.tsx';
import { WorktreePreview } from '../components/worktree-preview.tsx';
import { ago, firstLine, shortId, stackRevisions } from '../format.ts';
import { EngineScopeContext, onEngine, useEngineScope } from '../engine-scope.tsx';
import { href } from '../router.ts';
import { useStore, type LiveRun } from '../store.tsx';
import { PlanList } from './overview.tsx';

/** `engine`: the named engine the route names; null or the window's own: the window's engine. */
export function StackScreen({ name, engine }: { name: string; engine: string | null }): React.JSX.Element {
  const { snapshot } = useStore();
  if (!snapshot) return <p className="sub">Loading…</p>;
  const here = snapshot.engine.name ?? LOCAL_ENGINE;
  if (engine && engine !== here)
    return <StackOnEngineScreen key={`${name}@${engine}`} name={name} engine={engine} />;
  const stack = snapshot.stacks.find((s) => s.name === name);
  if (!stack) {
    return <NoStack name={name} engine={here} elsewhere={snapshot.elsewhere.find((e) => e.stack === name)} />;
  }
  return (
    <StackView
      stack={stack}
      engine={here}
      here={here}
      revisions={snapshot.revisions}
      changedIn={snapshot.changedIn[stackKey(stack)]}
    />
  );
}

/**
 * A stack on another named engine than the window's: asked of the engine when the screen opens, when
 * that engine's controller here sees a change, after this window's own actions, and on focus.
 */
function StackOnEngineScreen({ name, engine }: { name: string; engine: string }): React.JSX.Element {
  const { snapshot } = useStore();
  // undefined: not answered yet; null: the stack is neither declared for nor running on the engine.
  const [view, setView] = useState<StackOnEngine | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let asking = false;
    let again = false;
    const look = (): void => {
      if (asking) {
        again = true;
        return;
      }
      asking = true;
      call('stacks:status', { stack: name, engine })
        .then(
          (v) => {
            if (!live) return;
            setView(v);
            setError(null);
          },
          (err: unknown) => {
            if (live) setError((err as Error).message);
          },
        )
        .finally(() => {
          asking = false;
          if (again && live) {
            again = false;
            look();
          }
        });
    };
    look();
    const off = getApi().subscribe((e) => {
      if (e.type === 'engine-changed' && e.engine === engine) look();
    });
    window.addEventListener('focus', look);
    return () => {
      live = false;
      off();
      window.removeEventListener('focus', look);
    };
  }, [name, engine]);

  if (view === undefined) {
    if (!error) return <p className="sub">Asking engine {engine}…</p>;
    return (
      <div className="panel empty">
        <h1>
          {name} on {engine}
        </h1>
        <div className="callout bad" role="alert">
          {error}
        </div>
        <a href={href({ screen: 'fleet' })}>Back to the fleet</a>
      </div>
    );
  }
  if (view === null) return <NoStack name={name} engine={engine} />;
  return (
    <EngineScopeContext.Provider
      value={{ engine, endpoint: view.engine.endpoint, controlled: view.engine.controlled }}
    >
      {error && <div className="callout warn">Could not look again: {error}</div>}
      <StackView
        stack={view.stack}
        engine={engine}
        here={snapshot?.engine.name ?? LOCAL_ENGINE}
        revisions={view.revisions}
        changedIn={view.changedIn ?? undefined}
      />
    </EngineScopeContext.Provider>
  );
}

/** A stack the engine has nothing of; when git sends it to other engines, links to it there. */
function NoStack({
  name,
  engine,
  elsewhere,
}: {
  name: string;
  engine: string;
  elsewhere?: ElsewhereView | undefined;
}): React.JSX.Element {
  return (
    <div className="panel empty">
      <h1>
        No stack “{name}” on {engine}
      </h1>
      {elsewhere ? (
        <p>
          mooring.yaml does not send it to <code>{engine}</code> but to{' '}
          {elsewhere.engines.map((e, i) => (
            <span key={e.name}>
              {i > 0 && ', '}
              {e.configured ? (
                <a href={href({ screen: 'stack', name, engine: e.name })}>{e.name}</a>
              ) : (
                <>
                  <code>{e.name}</code> (not configured here)
                </>
              )}
            </span>
          ))}
          .
        </p>
      ) : (
        <p>It is not declared for this engine in any source and Mooring runs no container of it there.</p>
      )}
      <a href={href({ screen: 'overview' })}>Back to the overview</a>
    </div>
  );
}

/**
 * The stack screen proper. `engine`: the engine it shows the stack on; `here`: the window's engine.
 * Requests go to `engine` through the engine scope its parent set (none: the window's).
 */
function StackView({
  stack,
  engine,
  here,
  revisions,
  changedIn,
}: {
  stack: StackStatus;
  engine: string;
  here: string;
  revisions: Snapshot['revisions'];
  changedIn: Snapshot['changedIn'][string] | undefined;
}): React.JSX.Element {
  const { runOf, notify } = useStore();
  const scope = onEngine(useEngineScope());
  const name = stack.name;
  const [plan, setPlan] = useState<Plan | null>(null);
  // The sync this dialog asked for: its id, then its result once the engine answered.
  const [requestId, setRequestId] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<SyncOutcome | null>(null);
  const [applying, setApplying] = useState(false);
  const [busy, setBusy] = useState(false);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  // The service whose logs show; ALL_SERVICES: every service's, combined; null: no logs pane.
  const [logsFor, setLogsFor] = useState<string | null>(null);

  const revs = stackRevisions(stack, changedIn);
  const changed = revs.target ? revisions[revs.target] : undefined;
  const live = requestId ? runOf(requestId) : null;
  const runId = outcome?.runId ?? live?.runId ?? null;

  const preview = async (): Promise<void> => {
    setBusy(true);
    try {
      setRequestId(null);
      setOutcome(null);
      setPlan(await call('stacks:plan', { stack: name, ...scope }));
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  // The dialog stays open through the run and after it, with each action's state and the result.
  const apply = async (): Promise<void> => {
    const id = newRequestId();
    setRequestId(id);
    setApplying(true);
    try {
      const [r] = await call('stacks:sync', { stacks: [name], requestId: id, ...scope });
      setOutcome(r ?? null);
    } catch (err) {
      setOutcome({ stack: name, runId: null, result: 'failed', error: (err as Error).message });
    } finally {
      setApplying(false);
    }
  };

  const suspended = stack.suspended;
  // Named in what the screen says of a sync, when it is not the window's engine.
  const where = engine === here ? '' : ` on ${engine}`;
  // The tip is not signed by a key its source allows (issue 17, item 3): who signed it, if anyone.
  const unverified = stack.errors.find((e) => e.unverified)?.unverified;

  return (
    <>
      <div className="page-head">
        <h1>
          {stack.name}
          {engine !== here && <span className="sub"> on {engine}</span>}
        </h1>
        <SyncBadge sync={stack.sync} />
        <HealthBadge health={stack.health} />
        {suspended && <span className="badge quiet">suspended</span>}
        {stack.pending && <PendingNote pending={stack.pending} />}
        <span className="grow" />
        <button
          aria-pressed={logsFor === ALL_SERVICES}
          aria-label="Logs of all services"
          disabled={!stack.services.some((s) => s.container)}
          onClick={() => {
            setLogsFor(logsFor === ALL_SERVICES ? null : ALL_SERVICES);
          }}
        >
          Logs
        </button>
        <button
          onClick={() => {
            void call('stacks:suspend', { stack: name, suspended: !suspended, ...scope }).catch(
              (err: unknown) => {
                notify('error', (err as Error).message);
              },
            );
          }}
          title="A suspended stack is left alone by the controller"
        >
          {suspended ? 'Resume controller' : 'Suspend controller'}
        </button>
        <button
          className="primary"
          disabled={busy || stack.errors.length > 0 || !stack.revision || stack.sync === 'Unknown'}
          onClick={() => void preview()}
        >
          Preview sync
        </button>
      </div>
      <EngineTabs stack={stack} engine={engine} here={here} />
      <dl className="kv panel pad" style={{ marginBottom: 16 }}>
        <dt>Source</dt>
        <dd>{stack.source}</dd>
        <dt>Revision</dt>
        <dd data-changed-in={revs.target ?? undefined}>
          <code>{shortId(revs.target)}</code>{' '}
          {changed && `${firstLine(changed.message)} · ${ago(changed.time)}`}
          {revs.target && revs.target !== stack.revision && (
            <span className="sub">
              {' '}
              (the last commit that changed this stack; the branch is at{' '}
              <code>{shortId(stack.revision)}</code>)
            </span>
          )}
        </dd>
        {revs.deployed && (
          <>
            <dt>Deployed</dt>
            <dd>
              <code>{shortId(revs.deployed)}</code>{' '}
              {revisions[revs.deployed] && firstLine(revisions[revs.deployed]!.message)}
            </dd>
          </>
        )}
        <dt>Policy</dt>
        <dd>
          sync {stack.policy.sync}
          {stack.policy.selfHeal ? ' · self-heal' : ''}
          {stack.policy.prune ? ' · prune' : ''}
        </dd>
      </dl>
      <WorktreePreview stack={name} watch={`${stack.revision ?? ''} ${stack.sync}`} />
      {stack.errors.length > 0 && (
        <div className="callout bad" role="alert">
          <strong>
            {unverified
              ? `Unverified${unverified.signer ? ` (signed by ${unverified.signer})` : ' (not signed)'}: its source deploys only commits signed by a key it allows, so nothing of this one is deployed.`
              : stack.errors.every((e) => e.grant)
                ? "Refused by this machine's safety policy; nothing of this stack will be applied until it is allowed here or changed in git."
                : 'The manifest is invalid; nothing of this stack will be applied until it is fixed in git.'}
          </strong>
          <ul>
            {stack.errors.map((e, i) => (
              <li key={i}>
                {/* A commit's signature has no place in a file. */}
                {!e.unverified && (
                  <>
                    <code>
                      {e.file}:{e.line}:{e.column}
                    </code>{' '}
                  </>
                )}
                {e.message}
              </li>
            ))}
          </ul>
          <TrustOffers source={stack.source} errors={stack.errors} />
        </div>
      )}
      {[...new Set(stack.warnings)].map((w) => (
        <div key={w} className="callout warn">
          {w}
        </div>
      ))}
      <div className="panel">
        <table aria-label="Services">
          <thead>
            <tr>
              <th>Service</th>
              <th>Image (git → live)</th>
              <th>State</th>
              <th>Sync</th>
              <th>Health</th>
              <th>Ports</th>
              <th>Up</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {stack.services.map((s) => {
              const drifting = s.reasons.length > 0;
              const open = drifting && !collapsed.has(s.name);
              return (
                <Fragment key={s.name}>
                  <tr
                    data-service={s.name}
                    data-sync={s.sync}
                    className={s.sync !== 'Synced' ? 'attention' : ''}
                  >
                    <td>
                      {drifting ? (
                        <button
                          className="link"
                          aria-expanded={open}
                          onClick={() => {
                            setCollapsed((c) => {
                              const n = new Set(c);
                              if (n.has(s.name)) n.delete(s.name);
                              else n.add(s.name);
                              return n;
                            });
                          }}
                        >
                          {open ? '▾' : '▸'} <span className="name">{s.name}</span>
                        </button>
                      ) : (
                        <span className="name">{s.name}</span>
                      )}
                      <div className="cell-sub">
                        {s.swarmService ? `Swarm service ${s.swarmService}` : (s.container ?? 'no container')}
                        {s.replicas &&
                          !s.swarmService &&
                          ` · ${s.replicas.running} of ${s.replicas.desired} replicas running`}
                      </div>
                    </td>
                    <td>
                      <ImageCell s={s} />
                    </td>
                    <td>{s.state ?? '—'}</td>
                    <td>
                      <SyncBadge sync={s.sync} />
                    </td>
                    <td>
                      <HealthBadge health={s.health} />
                    </td>
                    <td className="mono">{s.ports.join(', ') || '—'}</td>
                    <td>{s.startedAt ? ago(s.startedAt).replace(' ago', '') : '—'}</td>
                    <td className="row-actions">
                      {s.container && (
                        <button
                          onClick={() => {
                            setLogsFor(logsFor === s.name ? null : s.name);
                          }}
                          aria-pressed={logsFor === s.name}
                          aria-label={`Logs of ${s.name}`}
                        >
                          Logs
                        </button>
                      )}
                      <ServiceActions stack={stack} service={s} />
                    </td>
                  </tr>
                  {open && (
                    <tr>
                      <td colSpan={8}>
                        <DiffTable reasons={s.reasons} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
      {logsFor !== null && (
        <LogView
          sources={stack.services.flatMap((s) =>
            s.container ? [{ service: s.name, container: s.container, startedAt: s.startedAt }] : [],
          )}
          service={logsFor === ALL_SERVICES ? null : logsFor}
          onService={(service) => {
            setLogsFor(service ?? ALL_SERVICES);
          }}
          onClose={() => {
            setLogsFor(null);
          }}
        />
      )}
      <DriftTimeline stack={stack} />
      {plan && (
        <Dialog
          title={
            outcome
              ? outcome.result === 'succeeded'
                ? `Synced ${name}${where}`
                : `Sync of ${name}${where} ${outcome.result === 'failed' ? 'failed' : 'did not run'}`
              : requestId
                ? `Syncing ${name}${where}…`
                : `Preview sync of ${name}${where}`
          }
          onClose={() => {
            if (!applying) setPlan(null);
          }}
          actions={
            outcome || applying ? (
              <button
                className={outcome ? 'primary' : ''}
                disabled={applying}
                {...(outcome ? { autoFocus: true } : {})}
                onClick={() => {
                  setPlan(null);
                }}
              >
                Close
              </button>
            ) : (
              <>
                <button
                  onClick={() => {
                    setPlan(null);
                  }}
                >
                  Cancel
                </button>
                <button
                  className="primary"
                  autoFocus
                  disabled={plan.actions.length === 0}
                  onClick={() => void apply()}
                >
                  Apply
                </button>
              </>
            )
          }
        >
          <p className="sub">
            Revision <code>{shortId(plan.revision)}</code>. Each action runs in order of its step; actions of
            one step run in parallel.
          </p>
          <PlanList plan={plan} run={live ?? (requestId ? { ...EMPTY_RUN, stack: name } : null)} />
          <div aria-live="polite" className="run-result">
            {applying && !live && <p className="sub">Starting…</p>}
            {outcome && (
              <p className={`callout ${outcome.result === 'succeeded' ? 'ok' : 'bad'}`} role="status">
                {outcome.result === 'succeeded'
                  ? `Applied ${plan.actions.length} action${plan.actions.length === 1 ? '' : 's'}; the stack now runs ${shortId(plan.revision)}.`
                  : failedAt(live)
                    ? `The run stopped at ${failedAt(live)} (above); later steps were not run.`
                    : (outcome.error ?? `The sync ended as ${outcome.result}.`)}
                {runId !== null && (
                  <>
                    {' '}
                    <a href={href({ screen: 'history', runId })}>Run #{runId} in history</a>
                  </>
                )}
              </p>
            )}
          </div>
        </Dialog>
      )}
    </>
  );
}

/**
 * The engines git sends the stack to, one link each: the same stack's screen on each (issue 15). Shown
 * when there is more than one, or the screen is not on the window's engine.
 */
function EngineTabs({
  stack,
  engine,
  here,
}: {
  stack: StackStatus;
  engine: string;
  here: string;
}): React.JSX.Element | null {
  const engines = stack.policy.engines ?? [LOCAL_ENGINE];
  if (engines.length < 2 && engine === here) return null;
  return (
    <nav className="tabs engine-tabs" aria-label="Engines of this stack">
      <span className="sub">Engines</span>
      {engines.map((e) => (
        <a
          key={e}
          href={href({ screen: 'stack', name: stack.name, engine: e === here ? null : e })}
          aria-current={e === engine ? 'page' : undefined}
          title={e === here ? 'The engine this window acts on' : undefined}
        >
          {e}
          {e === here && <span className="sub"> (this window)</span>}
        </a>
      ))}
    </nav>
  );
}

function ImageCell({ s }: { s: ServiceStatus }): React.JSX.Element {
  const same = s.image.desired === s.image.live;
  return (
    <div className="mono">
      {s.image.desired ?? '—'}
      {!same && s.image.live && <div className="cell-sub">live: {s.image.live}</div>}
    </div>
  );
}

/**
 * A refusal of the safety policy offered as one step (issue 11, item 6): "Allow /mnt/docker-volumes for
 * source homelab" grants it for that source alone, in the local settings; Settings lists and revokes it.
 */
function TrustOffers({
  source,
  errors,
}: {
  source: string;
  errors: ManifestError[];
}): React.JSX.Element | null {
  const { notify } = useStore();
  const [busy, setBusy] = useState<string | null>(null);
  const offers = offeredGrants(errors.flatMap((e) => (e.grant ? [e.grant] : [])));
  if (offers.length === 0) return null;
  return (
    <div className="trust-offers">
      <p className="sub">
        Refused by the safety policy. Allowing it applies to the stacks of source {source} only and is kept in
        this machine's settings, never in the repo.
      </p>
      {offers.map((grant) => {
        const label = allowLabel(grant, source);
        return (
          <div key={label} className="trust-offer">
            <button
              disabled={busy !== null}
              onClick={() => {
                setBusy(label);
                call('sources:trust', { name: source, grant })
                  .then(() => {
                    notify('info', `${label.replace(/^Allow/, 'Allowed')}. Revoke it in Settings.`);
                  })
                  .catch((err: unknown) => {
                    notify('error', (err as Error).message);
                  })
                  .finally(() => {
                    setBusy(null);
                  });
              }}
            >
              {busy === label ? <span className="spinner" /> : label}
            </button>{' '}
            <code className="sub">{trustCommand(grant, source)}</code>
          </div>
        );
      })}
    </div>
  );
}

/** The first failed action of a run, as "recreate app"; null when none failed (the run failed before). */
function failedAt(run: LiveRun | null): string | null {
  const a = Object.values(run?.actions ?? {}).find((x) => x.state === 'failed');
  return a ? `${a.kind} ${a.target}` : null;
}

/** `logsFor` when the pane shows every service's logs, combined (no service is named so). */
const ALL_SERVICES = '*';

/** A run asked for, before the engine said it started: every action shows as queued. */
const EMPTY_RUN: LiveRun = { runId: 0, stack: '', requestId: null, actions: {}, finished: null };

/** An id for one sync this window asks for (crypto.randomUUID needs a secure context; 127.0.0.1 is one). */
function newRequestId(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
