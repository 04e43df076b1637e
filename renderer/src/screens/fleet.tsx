// The fleet (issue 15): every engine this machine names with its own health, and every stack × the
// engines its `engines:` names, each cell with the stack's sync and health there. Filtered by engine.
// A look at each engine when the screen opens and on "Check again": it reads, it changes nothing.
import { useCallback, useEffect, useState } from 'react';
import type { FleetCell, FleetView, Plan } from '../../../electron/shared/model.ts';
import { call } from '../api/client.ts';
import { HealthBadge, SyncBadge } from '../components/badges.tsx';
import { ConfirmSync } from './overview.tsx';
import { shortId } from '../format.ts';
import { href } from '../router.ts';
import { useStore } from '../store.tsx';
import { VIA } from './engines-settings.tsx';

export function FleetScreen(): React.JSX.Element {
  const [fleet, setFleet] = useState<FleetView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const [only, setOnly] = useState('');
  const { snapshot, notify } = useStore();
  const controller = snapshot?.controller;
  const [syncing, setSyncing] = useState<string | null>(null);
  // The engines a controller of this app keeps equal to git: this window's, and the others it drives.
  const kept = (name: string): boolean =>
    !!controller?.running && (name === fleet?.current || !!controller.alsoOn?.includes(name));

  const check = useCallback(async () => {
    setChecking(true);
    try {
      setFleet(await call('engines:fleet', {}));
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setChecking(false);
    }
  }, []);
  useEffect(() => {
    void check();
  }, [check]);

  // Another engine than the window's is named in a request; the window's is the default.
  const onEngine = (engine: string): { engine?: string } => (engine === fleet?.current ? {} : { engine });

  /** Syncs stacks on engines, one engine after another, each result told. */
  const syncCells = async (cells: { stack: string; engine: string }[]): Promise<void> => {
    for (const engine of [...new Set(cells.map((c) => c.engine))]) {
      const stacks = cells.filter((c) => c.engine === engine).map((c) => c.stack);
      try {
        for (const r of await call('stacks:sync', { stacks, ...onEngine(engine) })) {
          if (r.error) notify('error', `Sync of ${r.stack} on ${engine} failed: ${r.error}`);
          else notify('info', `Synced "${r.stack}" on ${engine}.`);
        }
      } catch (err) {
        notify('error', `On ${engine}: ${(err as Error).message}`);
      }
    }
  };

  // A sync of one stack on one engine, as the Overview's Sync button does on the window's engine.
  const sync = async (stack: string, engine: string): Promise<void> => {
    setSyncing(`${stack}@${engine}`);
    try {
      await syncCells([{ stack, engine }]);
    } finally {
      setSyncing(null);
      await check();
    }
  };

  const names = fleet?.columns ?? [];
  const columns = only ? names.filter((n) => n === only) : names;
  const rows = fleet?.rows.filter((r) => !only || r.cells.some((c) => c.engine === only)) ?? [];
  // What "Sync all out of sync" takes: the shown cells out of sync or missing; a suspended stack was held
  // on purpose (a rollback), and is left out.
  const outOfSync = rows.flatMap((r) =>
    r.cells
      .filter(
        (c) => columns.includes(c.engine) && (c.sync === 'OutOfSync' || c.sync === 'Missing') && !c.suspended,
      )
      .map((c) => ({ stack: r.stack, engine: c.engine })),
  );
  const [confirm, setConfirm] = useState<{
    plans: { stack: string; engine: string; plan: Plan }[];
    /** The cells that cannot be planned (a swarm stack on an engine that is no manager…), with why. */
    failed: { stack: string; engine: string; error: string }[];
  } | null>(null);
  const previewAll = async (): Promise<void> => {
    setSyncing('plan');
    try {
      const asked = await Promise.allSettled(
        outOfSync.map((c) => call('stacks:plan', { stack: c.stack, ...onEngine(c.engine) })),
      );
      const plans = outOfSync.flatMap((c, i) => {
        const a = asked[i]!;
        return a.status === 'fulfilled' ? [{ ...c, plan: a.value }] : [];
      });
      const failed = outOfSync.flatMap((c, i) => {
        const a = asked[i]!;
        return a.status === 'rejected' ? [{ ...c, error: (a.reason as Error).message }] : [];
      });
      if (plans.length > 0) setConfirm({ plans, failed });
      else for (const f of failed) notify('error', `${f.stack} on ${f.engine}: ${f.error}`);
    } finally {
      setSyncing(null);
    }
  };
  const syncAll = async (cells: { stack: string; engine: string }[]): Promise<void> => {
    setSyncing('all');
    try {
      await syncCells(cells);
    } finally {
      setSyncing(null);
      await check();
    }
  };
  const engineCount = (cells: { engine: string }[]): number => new Set(cells.map((c) => c.engine)).size;

  return (
    <>
      <div className="page-head">
        <h1>Fleet</h1>
        <span className="sub">
          Every stack on every engine its <code>engines:</code> names in <code>mooring.yaml</code>.
          {fleet && (
            <>
              {' '}
              This window acts on <code>{fleet.current}</code>.
            </>
          )}
        </span>
      </div>
      {error && <div className="callout bad">{error}</div>}
      <section aria-labelledby="fleet-engines-h">
        <h2 id="fleet-engines-h">Engines</h2>
        <div className="fleet-engines">
          {fleet === null
            ? !error && <p className="sub">Asking each engine…</p>
            : fleet.engines.map((e) => (
                <div
                  key={e.name}
                  className={`panel pad fleet-engine${e.reachable ? '' : ' bad'}`}
                  data-engine={e.name}
                >
                  <div className="fleet-engine-head">
                    <strong>{e.name}</strong>
                    {e.name === fleet.current && <span className="badge info">this window</span>}
                    {kept(e.name) && (
                      <span className="badge quiet" title="A controller of this app keeps it equal to git">
                        controller
                      </span>
                    )}
                    {e.reachable ? (
                      <span className="badge ok">Docker {e.version}</span>
                    ) : (
                      <span className="badge bad">unreachable</span>
                    )}
                  </div>
                  <div className="cell-sub">
                    <code>{e.endpoint}</code> via {VIA[e.transport]}
                  </div>
                  <div className="cell-sub">
                    {e.reachable
                      ? `answered in ${e.latencyMs ?? '?'} ms${e.swarm && e.swarm !== 'none' ? ` · swarm ${e.swarm}` : ''}`
                      : e.error}
                  </div>
                  {!e.reachable && !e.apiVersion && (
                    <div className="cell-sub">
                      Start Docker there, or change the engine in{' '}
                      <a href={href({ screen: 'settings' })}>Settings → Engines</a>.
                    </div>
                  )}
                </div>
              ))}
        </div>
        {fleet && fleet.unconfigured.length > 0 && (
          <div className="callout warn">
            {fleet.unconfigured.join(', ')} {fleet.unconfigured.length === 1 ? 'is' : 'are'} named in git but
            not configured on this machine: add {fleet.unconfigured.length === 1 ? 'it' : 'them'} in{' '}
            <a href={href({ screen: 'settings' })}>Settings → Engines</a> or with{' '}
            <code>mooring engine add {fleet.unconfigured[0]} ENDPOINT</code>.
          </div>
        )}
      </section>
      <section aria-labelledby="fleet-stacks-h">
        <div className="fleet-toolbar">
          <h2 id="fleet-stacks-h">Stacks × engines</h2>
          <label className="field inline">
            <span>Engine</span>
            <select
              aria-label="Show the stacks of one engine"
              value={only}
              onChange={(e) => {
                setOnly(e.target.value);
              }}
            >
              <option value="">All engines</option>
              {names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={checking} aria-busy={checking} onClick={() => void check()}>
            {checking && <span className="spinner" />} Check again
          </button>
          <button
            type="button"
            className="primary"
            disabled={outOfSync.length === 0 || syncing !== null}
            aria-busy={syncing === 'plan' || syncing === 'all'}
            onClick={() => void previewAll()}
            title="Preview, then sync every stack shown that is out of sync or missing, on each engine"
          >
            {(syncing === 'plan' || syncing === 'all') && <span className="spinner" />} Sync all out of sync
            {outOfSync.length ? ` (${outOfSync.length})` : ''}
          </button>
        </div>
        <div className="panel fleet-table">
          <table aria-label="Stacks on each engine">
            <thead>
              <tr>
                <th>Stack</th>
                {columns.map((n) => (
                  <th key={n}>{n}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {fleet === null ? (
                <tr>
                  <td colSpan={columns.length + 1}>{error ? 'Could not ask the engines.' : 'Looking…'}</td>
                </tr>
              ) : rows.length === 0 ? (
                <tr>
                  <td colSpan={columns.length + 1}>
                    No stacks{only ? ` go to ${only}` : ''}: a stack is a folder with compose.yaml in a
                    source.
                  </td>
                </tr>
              ) : (
                rows.map((r) => (
                  <tr key={`${r.source}/${r.stack}`} data-stack={r.stack}>
                    <td>
                      <strong>{r.stack}</strong>
                      <div className="cell-sub">{r.source}</div>
                    </td>
                    {columns.map((n) => (
                      <td key={n} data-engine={n}>
                        <Cell
                          cell={r.cells.find((c) => c.engine === n)}
                          stack={r.stack}
                          current={n === fleet.current}
                          syncing={syncing === `${r.stack}@${n}`}
                          onSync={() => void sync(r.stack, n)}
                        />
                      </td>
                    ))}
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
      </section>
      {confirm && (
        <ConfirmSync
          title={`Sync ${confirm.plans.length} stack${confirm.plans.length === 1 ? '' : 's'} on ${engineCount(confirm.plans)} engine${engineCount(confirm.plans) === 1 ? '' : 's'}?`}
          intro="These changes will be made, one engine after another:"
          plans={confirm.plans.map((c) => ({
            key: `${c.stack}@${c.engine}`,
            heading: `${c.stack} on ${c.engine}`,
            plan: c.plan,
          }))}
          onClose={() => {
            setConfirm(null);
          }}
          onSync={() => {
            const cells = confirm.plans;
            setConfirm(null);
            void syncAll(cells);
          }}
        >
          {confirm.failed.map((f) => (
            <p key={`${f.stack}@${f.engine}`} className="plan-note">
              Left out, {f.stack} on {f.engine}: {f.error}
            </p>
          ))}
        </ConfirmSync>
      )}
    </>
  );
}

function Cell({
  cell,
  stack,
  current,
  syncing,
  onSync,
}: {
  cell: FleetCell | undefined;
  stack: string;
  /** The cell is on the window's engine. */
  current: boolean;
  syncing: boolean;
  onSync: () => void;
}): React.JSX.Element {
  if (!cell)
    return (
      <span className="cell-sub" title="does not go here">
        <span aria-hidden="true">–</span>
        <span className="sr-only">does not go here</span>
      </span>
    );
  if (!cell.configured || !cell.sync || !cell.health)
    return <span className="cell-sub">not configured here</span>;
  return (
    <>
      <span className="fleet-badges">
        <a
          href={href({ screen: 'stack', name: stack, engine: current ? null : cell.engine })}
          aria-label={`${stack} on ${cell.engine}`}
        >
          Open
        </a>
        <SyncBadge sync={cell.sync} />
        <HealthBadge health={cell.health} />
        {cell.suspended && <span className="badge quiet">suspended</span>}
        {(cell.sync === 'OutOfSync' || cell.sync === 'Missing') && (
          <button
            type="button"
            disabled={syncing}
            aria-busy={syncing}
            aria-label={`Sync ${stack} on ${cell.engine}`}
            onClick={onSync}
          >
            {syncing ? <span className="spinner" /> : 'Sync'}
          </button>
        )}
      </span>
      {cell.warning ? (
        <div className="cell-sub">{cell.warning}</div>
      ) : (
        cell.deployed && (
          <div className="cell-sub">
            runs {shortId(cell.deployed)}
            {cell.revision && cell.revision !== cell.deployed ? `, git ${shortId(cell.revision)}` : ''}
          </div>
        )
      )}
    </>
  );
}
