// A stack's logs as they come (issue 13, item 6): the engine's follow stream pushed to this window
// (`logs:follow`), ANSI colours drawn as spans, one combined view of every service with a colour per
// service, sticking to the newest line while following, search with Enter for the next match, and the
// engine's timestamps on demand. The stream ends when the pane goes or shows other containers.
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { call, getApi, onConnectionState } from '../api/client.ts';
import { onEngine, useEngineScope } from '../engine-scope.tsx';
import { markMatches } from '../logs/ansi.ts';
import './log-view.css';
import { appendLines, findMatches, shortTime, toViewLine, type ViewLine } from '../logs/log-buffer.ts';

export interface LogSource {
  service: string;
  container: string;
  /** When the container started: a restart or recreate follows it again. */
  startedAt: string | null;
}

/** Lines of each container's past read when the pane opens. */
const TAIL = 500;
/** Colours per service (styles: .svc-0 … .svc-7), by the service's place in the stack. */
const SERVICE_COLOURS = 8;

export function LogView({
  sources,
  service,
  onService,
  onClose,
}: {
  /** Every service of the stack that has a container. */
  sources: LogSource[];
  /** The one service shown; null: all of them, combined. */
  service: string | null;
  onService: (service: string | null) => void;
  onClose: () => void;
}): React.JSX.Element {
  const shown = service === null ? sources : sources.filter((s) => s.service === service);
  const key = shown.map((s) => `${s.container}@${s.startedAt ?? ''}`).join(' ');
  // Keyed by a string, so that a new array of the same services keeps every row's props (rows are memo).
  const names = sources.map((s) => `${s.container}=${s.service}`).join(' ');
  const serviceOf = useMemo(
    () =>
      new Map(
        names.split(' ').map((pair, index) => {
          const [container = '', name = ''] = pair.split('=');
          return [container, { name, index }] as const;
        }),
      ),
    [names],
  );

  // Service labels padded to the longest name, so that the text of every line starts in one column.
  const width = Math.max(...shown.map((s) => s.service.length));
  const [lines, setLines] = useState<ViewLine[]>([]);
  const [ended, setEnded] = useState<Record<string, string | null>>({});
  const [error, setError] = useState<string | null>(null);
  const [skipped, setSkipped] = useState(0);
  const [follow, setFollow] = useState(true);
  const [timestamps, setTimestamps] = useState(false);
  const [query, setQuery] = useState('');
  const [current, setCurrent] = useState(0);
  // Bumped when the connection comes back: the server ended this window's streams when it dropped.
  const [generation, setGeneration] = useState(0);
  const pane = useRef<HTMLDivElement>(null);
  const shownMatch = useRef(false);
  const { engine } = useEngineScope();

  // Opened from a button above it: brought into view, or it would open unseen below the fold.
  const section = useRef<HTMLElement>(null);
  useEffect(() => {
    section.current?.scrollIntoView({ block: 'nearest' });
  }, []);

  useEffect(() => {
    let lost = false;
    return onConnectionState((s) => {
      if (s === 'closed') lost = true;
      if (s === 'open' && lost) {
        lost = false;
        setGeneration((g) => g + 1);
      }
    });
  }, []);

  useEffect(() => {
    const containers = key ? key.split(' ').map((k) => k.slice(0, k.lastIndexOf('@'))) : [];
    if (containers.length === 0) return;
    const stream = newStreamId();
    setLines([]);
    setEnded({});
    setError(null);
    setSkipped(0);
    const off = getApi().subscribe((e) => {
      if (e.type === 'logs' && e.stream === stream) {
        const incoming = e.lines.map(toViewLine);
        setLines((b) => appendLines(b, incoming));
        if (e.skipped) setSkipped((n) => n + (e.skipped ?? 0));
      } else if (e.type === 'logs-end' && e.stream === stream) {
        setEnded((m) => ({ ...m, [e.container]: e.error }));
      }
    });
    call('logs:follow', { stream, containers, tail: TAIL, ...onEngine({ engine }) }).catch((err: unknown) => {
      setError((err as Error).message);
    });
    return () => {
      off();
      void call('logs:stop', { stream }).catch(() => undefined);
    };
  }, [key, generation, engine]);

  // Where following last put the view: a view above it was scrolled up since, even when its scroll event
  // has not come yet (a line that came first would otherwise pull it back down, and the scroll be lost).
  const pinnedAt = useRef<number | null>(null);
  // While following, the newest line stays in view.
  useLayoutEffect(() => {
    const el = pane.current;
    if (!follow || !el) return;
    // (Content that shrank clamps the view down to its end: that is no scroll up.)
    if (pinnedAt.current !== null && el.scrollTop < pinnedAt.current - 40 && !nearEnd(el)) {
      pinnedAt.current = null;
      setFollow(false);
      return;
    }
    el.scrollTop = el.scrollHeight;
    pinnedAt.current = el.scrollTop;
  }, [lines, follow, timestamps]);

  const matches = useMemo(() => findMatches(lines, query), [lines, query]);
  const currentId = matches.length ? matches[Math.min(current, matches.length - 1)] : undefined;
  const goTo = (i: number): void => {
    if (matches.length === 0) return;
    const n = ((i % matches.length) + matches.length) % matches.length;
    setCurrent(n);
    setFollow(false);
    shownMatch.current = true;
    // Scrolls the pane alone (scrollIntoView would move the page too): the match in its middle.
    const el = pane.current;
    const row = el?.querySelector<HTMLElement>(`[data-line="${matches[n]}"]`);
    if (el && row) el.scrollTop = row.offsetTop - el.clientHeight / 2;
  };

  const stopped = Object.entries(ended);
  return (
    <section ref={section} className="log-view panel" aria-label="Logs">
      <div className="log-bar">
        <h2>Logs</h2>
        <select
          aria-label="Service"
          value={service ?? ''}
          onChange={(e) => {
            onService(e.target.value || null);
          }}
        >
          <option value="">All services</option>
          {sources.map((s) => (
            <option key={s.service} value={s.service}>
              {s.service}
            </option>
          ))}
        </select>
        <label className="check">
          <input
            type="checkbox"
            checked={follow}
            onChange={(e) => {
              pinnedAt.current = null;
              setFollow(e.target.checked);
            }}
          />
          Follow
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={timestamps}
            onChange={(e) => {
              setTimestamps(e.target.checked);
            }}
          />
          Timestamps
        </label>
        <span className="grow" />
        <input
          type="search"
          className="log-search"
          placeholder="Search logs"
          aria-label="Search logs"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setCurrent(0);
            shownMatch.current = false;
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              // The first Enter after typing shows the first match; each next one the match after.
              if (!shownMatch.current) goTo(current);
              else goTo(e.shiftKey ? current - 1 : current + 1);
            }
          }}
        />
        <span className="sub log-count" aria-live="polite">
          {query
            ? matches.length
              ? `${Math.min(current, matches.length - 1) + 1} of ${matches.length}`
              : 'no match'
            : ''}
        </span>
        <button onClick={onClose}>Close</button>
      </div>
      {error && <div className="callout bad">{error}</div>}
      <div
        ref={pane}
        className="log-pane"
        style={{ '--service-width': `${width}ch` } as React.CSSProperties}
        role="log"
        aria-live="off"
        aria-label={service === null ? 'Logs of all services' : `Logs of ${service}`}
        tabIndex={0}
        onScroll={(e) => {
          // Scrolling up stops following; coming back to the bottom takes it up again.
          const el = e.currentTarget;
          // Within two lines of the end counts: lines that came between the scroll and this event
          // must not read as the user having scrolled up.
          const atBottom = nearEnd(el);
          if (atBottom !== follow) {
            pinnedAt.current = null;
            setFollow(atBottom);
          }
        }}
      >
        {skipped > 0 && <div className="log-note">{skipped} lines skipped: they came faster than shown</div>}
        {lines.length === 0 && !error && <div className="log-note">(no output yet)</div>}
        {lines.map((l) => (
          <LogRow
            key={l.id}
            line={l}
            service={shown.length > 1 ? serviceOf.get(l.container) : undefined}
            timestamps={timestamps}
            query={query}
            current={l.id === currentId}
          />
        ))}
        {stopped.map(([container, err]) => (
          <div key={container} className="log-note">
            {err ? `${container}: ${err}` : `${container} stopped; its output ends here.`}
          </div>
        ))}
      </div>
    </section>
  );
}

const LogRow = memo(function LogRow({
  line,
  service,
  timestamps,
  query,
  current,
}: {
  line: ViewLine;
  service: { name: string; index: number } | undefined;
  timestamps: boolean;
  query: string;
  current: boolean;
}): React.JSX.Element {
  return (
    <div
      className={`log-line${line.stderr ? ' stderr' : ''}${current ? ' current' : ''}`}
      data-line={line.id}
      data-service={service?.name}
    >
      {timestamps && <span className="log-time">{shortTime(line.time)} </span>}
      {service && (
        <>
          <span className={`log-service svc-${service.index % SERVICE_COLOURS}`}>{service.name}</span>
          <span className="log-sep"> | </span>
        </>
      )}
      <span className="log-text">
        {markMatches(line.parts, query).map((p, i) => {
          const style =
            p.color || p.background
              ? {
                  ...(p.color ? { color: p.color } : {}),
                  ...(p.background ? { background: p.background } : {}),
                }
              : undefined;
          const span = (
            <span key={i} className={p.className || undefined} style={style}>
              {p.text}
            </span>
          );
          return p.match ? <mark key={i}>{span}</mark> : span;
        })}
      </span>
    </div>
  );
});

function newStreamId(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Within two lines of the end of the pane's content. */
function nearEnd(el: HTMLElement): boolean {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 40;
}
