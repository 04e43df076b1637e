// Deploy history: runs as a filterable timeline (paged by id, virtualized), a run's detail, and the
// cached commit log with where each commit was deployed. Reads only the local SQLite cache: it
// works with the git server and the Docker engine both gone.
import { useCallback, useEffect, useState } from 'react';
import type { CommitWithDeploys, Results } from '../../../electron/shared/api.ts';
import {
  LOCAL_ENGINE,
  TRIGGERS,
  type ImagePin,
  type RanImage,
  type RunRecord,
} from '../../../electron/shared/model.ts';
import { call } from '../api/client.ts';
import { ResultBadge } from '../components/badges.tsx';
import { Dialog } from '../components/dialog.tsx';
import { VirtualTable } from '../components/virtual-table.tsx';
import { ago, duration, firstLine, ranImageId, shortId } from '../format.ts';
import { href, navigate } from '../router.ts';
import { useStore } from '../store.tsx';

const PAGE = 200;
const RESULTS = ['succeeded', 'failed', 'running', 'interrupted'] as const;

interface Filters {
  stack: string;
  trigger: string;
  result: string;
  from: string;
  to: string;
}

export function HistoryTabs({ current }: { current: 'runs' | 'commits' }): React.JSX.Element {
  return (
    <nav className="tabs" aria-label="History views">
      <a
        href={href({ screen: 'history', runId: null })}
        aria-current={current === 'runs' ? 'page' : undefined}
      >
        Runs
      </a>
      <a href={href({ screen: 'commits' })} aria-current={current === 'commits' ? 'page' : undefined}>
        Commits
      </a>
    </nav>
  );
}

export function HistoryScreen({ runId }: { runId: number | null }): React.JSX.Element {
  const { snapshot } = useStore();
  const [filters, setFilters] = useState<Filters>({ stack: '', trigger: '', result: '', from: '', to: '' });
  const [runs, setRuns] = useState<RunRecord[]>([]);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const query = useCallback(
    (before?: number) => {
      const q: Record<string, unknown> = { limit: PAGE };
      if (filters.stack) q.stack = filters.stack;
      if (filters.trigger) q.trigger = filters.trigger;
      if (filters.result) q.result = filters.result;
      if (filters.from) q.from = new Date(filters.from).toISOString();
      if (filters.to) q.to = new Date(new Date(filters.to).getTime() + 86_400_000).toISOString();
      if (before) q.before = before;
      return call('history:runs', q);
    },
    [filters],
  );

  // Reload from the top when filters change, and when a run finishes (the snapshot's last runs move).
  const newest = snapshot ? Math.max(0, ...Object.values(snapshot.lastRuns).map((r) => r.id)) : 0;
  useEffect(() => {
    let stale = false;
    setLoading(true);
    query().then(
      (page) => {
        if (stale) return;
        setRuns(page);
        setDone(page.length < PAGE);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (!stale) setError((err as Error).message);
        setLoading(false);
      },
    );
    return () => {
      stale = true;
    };
  }, [query, newest]);

  const more = (): void => {
    if (done || loading || runs.length === 0) return;
    setLoading(true);
    query(runs[runs.length - 1]!.id).then(
      (page) => {
        setRuns((r) => [...r, ...page]);
        setDone(page.length < PAGE);
        setLoading(false);
      },
      (err: unknown) => {
        setError((err as Error).message);
        setLoading(false);
      },
    );
  };

  const stackNames = [...new Set((snapshot?.stacks ?? []).map((s) => s.name))].sort();
  // An Engine column once a run acted on another engine than `local` (issue 15), as `mooring history`.
  const engines = runs.some((r) => (r.engine ?? LOCAL_ENGINE) !== LOCAL_ENGINE);
  const set = (k: keyof Filters) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
    setFilters((f) => ({ ...f, [k]: e.target.value }));
  };

  return (
    <>
      <div className="page-head">
        <h1>History</h1>
        <span className="sub">Every sync, with its trigger, revision and result. Works offline.</span>
      </div>
      <HistoryTabs current="runs" />
      <div className="filters" role="search" aria-label="Filter runs">
        <label className="field">
          <span>Stack</span>
          <select value={filters.stack} onChange={set('stack')} aria-label="Stack">
            <option value="">All stacks</option>
            {stackNames.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Trigger</span>
          <select value={filters.trigger} onChange={set('trigger')} aria-label="Trigger">
            <option value="">Any trigger</option>
            {TRIGGERS.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Result</span>
          <select value={filters.result} onChange={set('result')} aria-label="Result">
            <option value="">Any result</option>
            {RESULTS.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>From</span>
          <input type="date" value={filters.from} onChange={set('from')} aria-label="From date" />
        </label>
        <label className="field">
          <span>To</span>
          <input type="date" value={filters.to} onChange={set('to')} aria-label="To date" />
        </label>
      </div>
      {error && <div className="callout bad">{error}</div>}
      <div className="panel">
        {runs.length === 0 && !loading ? (
          <p className="empty">
            No runs{Object.values(filters).some(Boolean) ? ' match these filters' : ' yet'}.
          </p>
        ) : (
          <VirtualTable
            label="Runs"
            className={engines ? 'run-row with-engine' : 'run-row'}
            columns={[
              'Run',
              'Stack',
              ...(engines ? ['Engine'] : []),
              'Revision',
              'Trigger',
              'Started',
              'Took',
              'Result',
              'Error',
            ]}
            items={runs}
            rowHeight={40}
            height="calc(100vh - 290px)"
            onEndReached={more}
            rowAttributes={(r) => ({ 'data-run': r.id })}
            cells={(r, focusable) => [
              <a
                key="id"
                className="mono"
                href={href({ screen: 'history', runId: r.id })}
                tabIndex={focusable ? 0 : -1}
                aria-label={`Run #${r.id}, ${r.stack}, ${r.result}`}
              >
                #{r.id}
              </a>,
              <span key="stack" className="name">
                {r.stack}
              </span>,
              ...(engines
                ? [
                    <span key="engine" data-engine={r.engine ?? LOCAL_ENGINE}>
                      {r.engine ?? LOCAL_ENGINE}
                    </span>,
                  ]
                : []),
              <span key="rev" className="mono">
                {shortId(r.revision)}
              </span>,
              r.trigger,
              <span key="at" title={r.startedAt}>
                {new Date(r.startedAt).toLocaleString()}
              </span>,
              duration(r.startedAt, r.finishedAt),
              <ResultBadge key="result" result={r.result} />,
              <span key="error" className="cell-sub" title={r.error ?? ''}>
                {firstLine(r.error)}
              </span>,
            ]}
          />
        )}
      </div>
      {runId !== null && <RunDetail id={runId} />}
    </>
  );
}

function RunDetail({ id }: { id: number }): React.JSX.Element {
  const { notify, snapshot } = useStore();
  const [data, setData] = useState<Results['history:run'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'redeploy' | 'revert' | null>(null);
  const [byTag, setByTag] = useState(false);
  useEffect(() => {
    call('history:run', { id }).then(setData, (err: unknown) => {
      setError((err as Error).message);
    });
  }, [id]);
  const close = (): void => {
    navigate({ screen: 'history', runId: null });
  };
  const rollback = async (run: RunRecord, revert: boolean): Promise<void> => {
    setConfirm(null);
    try {
      const r = await call('stacks:rollback', {
        stack: run.stack,
        revision: run.revision,
        revert,
        ...(revert ? {} : byTag ? { byTag } : { run: run.id }),
      });
      if (r.error) notify('error', `Rollback of ${run.stack} failed: ${r.error}`);
      else {
        notify(
          'info',
          revert
            ? `Committed ${shortId(r.revision)}: ${run.stack} as it was at ${shortId(run.revision)}. The next sync deploys it.`
            : `Redeployed ${run.stack} at ${shortId(run.revision)}${pinnedText(r.pinned)}; auto-sync is suspended until you resume it.`,
        );
        close();
      }
    } catch (err) {
      notify('error', (err as Error).message);
    }
  };
  // Why this run's revision cannot be deployed again from here, if it cannot.
  const stack = data ? snapshot?.stacks.find((s) => s.name === data.run.stack) : undefined;
  const notRedeployable = !data
    ? 'loading'
    : !data.run.revision
      ? 'This run has no revision.'
      : data.run.error?.startsWith('Invalid manifest')
        ? "This revision's manifest was invalid: there is nothing to deploy."
        : data.run.trigger === 'worktree'
          ? 'This run deployed uncommitted files, which are in no commit: there is nothing to deploy again.'
          : data.run.error?.startsWith('Unverified commit')
            ? 'This commit is not signed by a key its source allows: it is never deployed.'
            : stack?.deployed === data.run.revision
              ? `${data.run.stack} runs this revision now.`
              : null;
  return (
    <Dialog
      title={`Run #${id}`}
      onClose={close}
      actions={
        <>
          {data && !confirm && !notRedeployable && (
            <>
              <button
                onClick={() => {
                  setConfirm('revert');
                }}
              >
                Revert in git…
              </button>
              <button
                onClick={() => {
                  setConfirm('redeploy');
                }}
              >
                Redeploy this revision…
              </button>
            </>
          )}
          {data && confirm && (
            <button className="primary" onClick={() => void rollback(data.run, confirm === 'revert')}>
              {confirm === 'revert'
                ? `Yes, commit ${data.run.stack} as at ${shortId(data.run.revision)}`
                : `Yes, redeploy ${shortId(data.run.revision)} and suspend auto-sync`}
            </button>
          )}
          <button autoFocus onClick={close}>
            Close
          </button>
        </>
      }
    >
      {error && <div className="callout bad">{error}</div>}
      {data && (
        <>
          {confirm === 'redeploy' && (
            <div className="callout warn" role="alert">
              This deploys revision <code>{shortId(data.run.revision)}</code> of{' '}
              <strong>{data.run.stack}</strong> as a rollback, and <strong>suspends its auto-sync</strong> so
              that the controller does not put the branch tip back. Git is not changed: the stack differs from
              its tip until you resume it (Resume controller, on the stack's screen). To make the rollback
              last, revert in git instead.
              <label className="check" style={{ marginTop: 8 }}>
                <input
                  type="checkbox"
                  checked={byTag}
                  onChange={(e) => {
                    setByTag(e.target.checked);
                  }}
                />
                Deploy the image tags as they are now, not the images this run ran
              </label>
            </div>
          )}
          {confirm === 'revert' && (
            <div className="callout info" role="alert">
              This commits to the branch a change that puts <strong>{data.run.stack}</strong>'s folder back as
              it was at <code>{shortId(data.run.revision)}</code>; other stacks keep their changes. Git stays
              the truth: the next sync deploys the commit (by itself, where auto-sync is on).
            </div>
          )}
          {notRedeployable && notRedeployable !== 'loading' && <p className="sub">{notRedeployable}</p>}
          <dl className="kv">
            <dt>Stack</dt>
            <dd>
              <a href={href({ screen: 'stack', name: data.run.stack })}>{data.run.stack}</a> (
              {data.run.source})
            </dd>
            <dt>Revision</dt>
            <dd className="mono">{data.run.revision || '—'}</dd>
            {data.run.signer && (
              <>
                <dt>Signed by</dt>
                <dd>{data.run.signer}</dd>
              </>
            )}
            <dt>Trigger</dt>
            <dd>{data.run.trigger}</dd>
            <dt>Result</dt>
            <dd>
              <ResultBadge result={data.run.result} />
            </dd>
            <dt>Started</dt>
            <dd>
              {new Date(data.run.startedAt).toLocaleString()} · took{' '}
              {duration(data.run.startedAt, data.run.finishedAt)}
            </dd>
            {data.images.length > 0 && (
              <>
                <dt>Images</dt>
                <dd>
                  <RanImages images={data.images} />
                </dd>
              </>
            )}
          </dl>
          {data.run.error && (
            <pre className="logs" style={{ marginTop: 12 }} tabIndex={0} aria-label="Error">
              {data.run.error}
            </pre>
          )}
          <h2>Actions</h2>
          {data.actions.length === 0 ? (
            <p className="sub">No actions: nothing differed from git, or nothing could be applied.</p>
          ) : (
            <table aria-label="Actions">
              <thead>
                <tr>
                  <th>Action</th>
                  <th>Reason</th>
                  <th>Took</th>
                  <th>Result</th>
                </tr>
              </thead>
              <tbody>
                {data.actions.map((a) => (
                  <tr key={a.id}>
                    <td>
                      <strong>{a.kind}</strong> {a.target}
                    </td>
                    <td className="cell-sub">
                      {a.reason}
                      {a.error && <div style={{ color: 'var(--bad)' }}>{a.error}</div>}
                    </td>
                    <td>{duration(a.startedAt, a.finishedAt)}</td>
                    <td>
                      <ResultBadge result={a.result} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </Dialog>
  );
}

/** `, with app from the image that ran then (…)` for the services a rollback pinned; empty when none. */
function pinnedText(pinned: ImagePin[]): string {
  if (pinned.length === 0) return '';
  const each = pinned.map((p) => `${p.service} (${ranImageId({ id: p.id })}; ${p.moved})`);
  return `, with the images that ran then: ${each.join(', ')}`;
}

/** The images a deploy ran, each tag with its digest (or id) beside it: what a rollback would deploy. */
function RanImages({ images }: { images: RanImage[] }): React.JSX.Element | null {
  if (images.length === 0) return null;
  return (
    <div className="ran-images">
      {images.map((i) => (
        <div key={`${i.service}/${i.id}`} className="cell-sub" title={i.digest ?? i.id}>
          {i.service}: <span className="mono">{i.image}</span> <span className="mono">{ranImageId(i)}</span>
        </div>
      ))}
    </div>
  );
}

export function CommitsScreen(): React.JSX.Element {
  const localHost = useStore().snapshot?.host;
  const [commits, setCommits] = useState<CommitWithDeploys[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call('history:commits', { limit: 500 }).then(setCommits, (err: unknown) => {
      setError((err as Error).message);
    });
  }, []);
  return (
    <>
      <div className="page-head">
        <h1>History</h1>
        <span className="sub">The config repos’ commits, cached locally, with where each was deployed.</span>
      </div>
      <HistoryTabs current="commits" />
      {error && <div className="callout bad">{error}</div>}
      {commits && commits.length === 0 && (
        <p className="empty">No commits cached yet. Add a source and fetch it.</p>
      )}
      {commits && commits.length > 0 && (
        <div className="panel">
          <table aria-label="Commits">
            <thead>
              <tr>
                <th>Commit</th>
                <th>Message</th>
                <th>Stacks changed</th>
                <th>Deployed</th>
              </tr>
            </thead>
            <tbody>
              {commits.map((c) => (
                <tr key={`${c.source}/${c.id}`} data-commit={c.id}>
                  <td>
                    <code>{shortId(c.id)}</code>
                    <div className="cell-sub">{c.source}</div>
                  </td>
                  <td>
                    {firstLine(c.message)}
                    <div className="cell-sub">
                      {c.author} · {ago(c.time)}
                    </div>
                  </td>
                  <td>{c.stacks.join(', ') || '—'}</td>
                  <td>
                    {c.deploys.length === 0 ? (
                      <span className="cell-sub">not deployed here</span>
                    ) : (
                      c.deploys.slice(0, 4).map((d) => (
                        <div key={`${d.host}/${d.runId}`}>
                          {d.host === localHost ? (
                            <a href={href({ screen: 'history', runId: d.runId })}>#{d.runId}</a>
                          ) : (
                            <span className="mono">{d.host}</span>
                          )}{' '}
                          {d.stack} <ResultBadge result={d.result} />{' '}
                          <span className="cell-sub">{ago(d.at)}</span>
                          <RanImages images={d.images} />
                        </div>
                      ))
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
