// A stack's drift timeline (issue 13, item 7): what the history keeps of each drift — which service,
// which fields, when it was first seen, and which run (or look) found it back in line.
import { useEffect, useState } from 'react';
import type { DriftRecord, StackStatus } from '../../../electron/shared/model.ts';
import { call } from '../api/client.ts';
import { onEngine, useEngineScope } from '../engine-scope.tsx';
import { ago } from '../format.ts';
import { href } from '../router.ts';
import './diff-table.css';

/** Drifts listed; older ones stay in the history database. */
const LIMIT = 20;

export function DriftTimeline({ stack }: { stack: StackStatus }): React.JSX.Element | null {
  const [drifts, setDrifts] = useState<DriftRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { engine } = useEngineScope();
  // The store keeps a stack's object while nothing of it changed: a new one may mean a drift opened
  // or was resolved, so the timeline is read again then, and not on a timer.
  useEffect(() => {
    let stale = false;
    call('history:drifts', { stack: stack.name, limit: LIMIT, ...onEngine({ engine }) }).then(
      (d) => {
        if (!stale) {
          setDrifts(d);
          setError(null);
        }
      },
      (err: unknown) => {
        if (!stale) setError((err as Error).message);
      },
    );
    return () => {
      stale = true;
    };
  }, [stack, engine]);

  if (!drifts && !error) return null;
  return (
    <section className="panel drift-history" aria-labelledby="drift-history-title">
      <h2 id="drift-history-title">Drift timeline</h2>
      {error && <div className="callout bad">{error}</div>}
      {drifts?.length === 0 && <p className="sub">No drift recorded: what runs has matched git.</p>}
      {drifts && drifts.length > 0 && (
        <ol className="drift-timeline">
          {drifts.map((d) => (
            <li key={d.id} data-drift={d.service} data-open={d.resolvedAt === null}>
              <span>
                <span className="name">{d.service}</span>{' '}
                {d.resolvedAt === null ? (
                  <span className="badge warn">drifting</span>
                ) : (
                  <span className="badge ok">resolved</span>
                )}
              </span>
              <span className="fields">{d.fields.map((f) => f.path).join(', ') || '—'}</span>
              <span className="when">
                first seen <Time iso={d.firstSeen} />
                {d.resolvedAt && (
                  <>
                    {' · resolved '}
                    <Time iso={d.resolvedAt} /> <Resolution text={d.resolution} />
                  </>
                )}
              </span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Time({ iso }: { iso: string }): React.JSX.Element {
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {ago(iso)}
    </time>
  );
}

/** `run 12` as a link to that run; what a look said otherwise. */
function Resolution({ text }: { text: string | null }): React.JSX.Element | null {
  if (!text) return null;
  const run = /^run (\d+)$/.exec(text);
  if (run?.[1]) {
    const runId = Number(run[1]);
    return (
      <>
        by <a href={href({ screen: 'history', runId })}>run #{runId}</a>
      </>
    );
  }
  return <>({text})</>;
}
