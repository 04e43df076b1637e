// The build stage of a two-stage pipeline: build an image from an app repo at a commit, watch its
// output live, optionally write the new tag into a stack's compose file (promote), and look back
// at past builds.
import { useEffect, useRef, useState } from 'react';
import type { BuildRecord } from '../../../electron/shared/model.ts';
import { call } from '../api/client.ts';
import { ResultBadge } from '../components/badges.tsx';
import { Dialog } from '../components/dialog.tsx';
import { ago, duration, shortId } from '../format.ts';
import { useStore, type LiveBuild } from '../store.tsx';

export function BuildsScreen(): React.JSX.Element {
  const { builds: live, notify } = useStore();
  const [past, setPast] = useState<BuildRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState({
    appRepo: '',
    rev: '',
    dockerfile: '',
    context: '',
    tag: '',
    promote: '',
  });
  const [running, setRunning] = useState<number | null>(null);
  const [starting, setStarting] = useState(false);
  const [shown, setShown] = useState<(BuildRecord & { log: string }) | null>(null);

  const reload = (): void => {
    call('builds:list', { limit: 100 }).then(setPast, (err: unknown) => {
      setError((err as Error).message);
    });
  };
  useEffect(reload, []);

  // The newest build this window saw, followed live from pushed events.
  const newestLive = Object.values(live).sort((a, b) => b.id - a.id)[0];

  const start = async (e: React.SyntheticEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    setRunning(null);
    setStarting(true);
    const params = Object.fromEntries(Object.entries(form).filter(([, v]) => v.trim() !== '')) as {
      appRepo: string;
    };
    try {
      const r = await call('builds:start', params);
      setRunning(r.build.buildId);
      if (r.build.result === 'succeeded') {
        const promoted = r.promoted
          ? `, promoted in commit ${shortId(r.promoted.commit)}${r.promoted.pushed ? ' (pushed)' : ''}`
          : '';
        notify('info', `Built ${r.build.tag ?? ''}${promoted}.`);
      } else notify('error', `Build failed: ${r.build.error ?? ''}`);
    } catch (err) {
      notify('error', (err as Error).message);
    } finally {
      setStarting(false);
      reload();
    }
  };

  const field = (
    key: keyof typeof form,
    label: string,
    placeholder: string,
    required = false,
  ): React.JSX.Element => (
    <label className="field">
      <span>{label}</span>
      <input
        aria-label={label}
        required={required}
        value={form[key]}
        placeholder={placeholder}
        onChange={(e) => {
          setForm((f) => ({ ...f, [key]: e.target.value }));
        }}
      />
    </label>
  );

  const current: LiveBuild | undefined = running !== null ? live[running] : newestLive;
  // Follow the output as it grows, like a terminal.
  const logRef = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [current?.lines.length]);

  return (
    <>
      <div className="page-head">
        <h1>Builds</h1>
        <span className="sub">
          Build an image from an app repo at a commit; promote writes its tag into the config repo.
        </span>
      </div>
      <form className="panel pad" style={{ display: 'grid', gap: 12 }} onSubmit={(e) => void start(e)}>
        <div className="grid-2">
          {field('appRepo', 'App repo', 'https://git.example.com/team/app.git or /home/me/app', true)}
          {field('rev', 'Revision', 'default branch')}
          {field('context', 'Context folder', '/ (repo root)')}
          {field('dockerfile', 'Dockerfile', 'Dockerfile in the context')}
          {field('tag', 'Image name', "the repo's name; tagged with the commit")}
          {field('promote', 'Promote to (STACK/SERVICE)', 'optional, e.g. web/app')}
        </div>
        <div>
          <button className="primary" type="submit" disabled={starting}>
            {starting ? 'Building…' : 'Build'}
          </button>
        </div>
      </form>
      {current && (
        <section aria-label="Build output">
          <h2 style={{ display: 'flex', gap: 10, alignItems: 'center' }}>
            Build #{current.id} {current.tag && <code>{current.tag}</code>}{' '}
            <ResultBadge result={current.result} />
          </h2>
          {current.step && <p className="sub">{current.step}</p>}
          {current.error && <div className="callout bad">{current.error}</div>}
          <pre className="logs" aria-live="polite" ref={logRef} tabIndex={0} aria-label="Output">
            {current.lines.join('\n') || 'Waiting for output…'}
          </pre>
        </section>
      )}
      <h2>Past builds</h2>
      {error && <div className="callout bad">{error}</div>}
      {past && past.length === 0 && <p className="sub">No builds yet.</p>}
      {past && past.length > 0 && (
        <div className="panel">
          <table aria-label="Builds">
            <thead>
              <tr>
                <th>Build</th>
                <th>App repo</th>
                <th>Commit</th>
                <th>Tag</th>
                <th>Started</th>
                <th>Took</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {past.map((b) => (
                <tr
                  key={b.id}
                  className="clickable"
                  data-build={b.id}
                  onClick={() => {
                    void call('builds:get', { id: b.id }).then(setShown, (err: unknown) => {
                      notify('error', (err as Error).message);
                    });
                  }}
                >
                  <td className="mono">
                    <button className="link">#{b.id}</button>
                  </td>
                  <td className="mono">{b.appRepo}</td>
                  <td className="mono">{shortId(b.commit)}</td>
                  <td className="mono">{b.tag ?? '—'}</td>
                  <td>{ago(b.startedAt)}</td>
                  <td>{duration(b.startedAt, b.finishedAt)}</td>
                  <td>
                    <ResultBadge result={b.result} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown && (
        <Dialog
          title={`Build #${shown.id}`}
          onClose={() => {
            setShown(null);
          }}
          actions={
            <button
              autoFocus
              onClick={() => {
                setShown(null);
              }}
            >
              Close
            </button>
          }
        >
          <dl className="kv">
            <dt>App repo</dt>
            <dd className="mono">{shown.appRepo}</dd>
            <dt>Commit</dt>
            <dd className="mono">{shown.commit ?? '—'}</dd>
            <dt>Image</dt>
            <dd className="mono">
              {shown.tag ?? '—'} {shown.imageId ? `(${shown.imageId.slice(7, 19)})` : ''}
            </dd>
            <dt>Result</dt>
            <dd>
              <ResultBadge result={shown.result} />
            </dd>
          </dl>
          <pre className="logs" style={{ marginTop: 12 }} tabIndex={0} aria-label="Output">
            {shown.log || '(no output)'}
          </pre>
        </Dialog>
      )}
    </>
  );
}
