// The renderer's state: the engine's snapshot, live run progress and notices. Nothing here polls: the
// snapshot is fetched on connect, then kept current by the deltas the engine pushes; one that does not
// follow the version held (a push missed) fetches it whole again.
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { ActionState, PushEvent, Snapshot } from '../../electron/shared/api.ts';
import { driftNews, pushNews, type DesktopNews } from '../../electron/shared/desktop-news.ts';
import { applyDelta } from '../../electron/shared/snapshot-delta.ts';
import { call, getApi, messageReceivedAt, onConnectionState, type ConnectionState } from './api/client.ts';

export interface ActionProgress {
  index: number;
  kind: string;
  target: string;
  state: ActionState;
  error: string | null;
  ms: number | null;
  waitingFor: string | null;
  detail: string | null;
}

/** A run seen in this window: its actions as they go, and its result once it ended. */
export interface LiveRun {
  runId: number;
  stack: string;
  /** Set when this window asked for it (`stacks:sync` with a requestId). */
  requestId: string | null;
  actions: Record<number, ActionProgress>;
  finished: { result: string; error: string | null } | null;
}

export interface Notice {
  id: number;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface LiveBuild {
  id: number;
  lines: string[];
  step: string | null;
  result: 'running' | 'succeeded' | 'failed';
  error: string | null;
  tag: string | null;
}

interface StoreValue {
  snapshot: Snapshot | null;
  loadError: string | null;
  connection: ConnectionState;
  /** Per run id, the runs seen since this window opened. */
  runs: Record<number, LiveRun>;
  /** The run a sync of this window started, by the requestId it sent. */
  runOf: (requestId: string) => LiveRun | null;
  /** Builds seen running in this window, with their live output. */
  builds: Record<number, LiveBuild>;
  notices: Notice[];
  notify: (level: Notice['level'], message: string) => void;
  dismiss: (id: number) => void;
  reload: () => void;
}

const StoreContext = createContext<StoreValue | null>(null);

let noticeId = 1;

/** Desktop notifications in browser mode, once the user has allowed them (Electron's main process notifies by itself). */
function desktopNotify(news: DesktopNews | null): void {
  if (!news || getApi().transport !== 'browser' || typeof Notification === 'undefined') return;
  if (Notification.permission === 'granted') new Notification(news.title, { body: news.body });
}

export function StoreProvider({ children }: { children: ReactNode }): React.JSX.Element {
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [runs, setRuns] = useState<Record<number, LiveRun>>({});
  // Runs this window asked for: their dialog shows how they end, so no toast repeats it.
  const asked = useRef(new Set<number>());
  const [notices, setNotices] = useState<Notice[]>([]);
  const [builds, setBuilds] = useState<Record<number, LiveBuild>>({});
  const last = useRef<Snapshot | null>(null);
  // False from a connection's start (or a missed delta) until a whole snapshot arrived: deltas wait.
  const synced = useRef(false);
  const loading = useRef(false);
  // What the next commit of a snapshot is timed as, and from when (test/bench/push.ts reads it).
  const applying = useRef<{ name: string; start: number } | null>(null);
  // The benchmarks (issue 6) time the overview's first render from navigation start to this mark.
  useEffect(() => {
    if (snapshot && !performance.getEntriesByName('mooring:first-render').length)
      performance.mark('mooring:first-render');
    const a = applying.current;
    if (snapshot && a) {
      applying.current = null;
      // Only the latest is kept: a long session pushes often, and the entries would pile up.
      performance.clearMeasures(a.name);
      performance.measure(a.name, { start: a.start });
      if (a.name === 'mooring:push-applied') {
        // A task queued from the next animation frame runs after that frame is painted: the push is
        // on screen by then (issue 14: a change painted within 50 ms).
        requestAnimationFrame(() => {
          setTimeout(() => {
            performance.clearMeasures('mooring:push-painted');
            performance.measure('mooring:push-painted', { start: a.start });
          }, 0);
        });
      }
    }
  }, [snapshot]);

  /** Remembers where a snapshot came from, so that its commit is timed from the message's arrival. */
  const timeApply = (name: 'mooring:snapshot-applied' | 'mooring:push-applied'): void => {
    applying.current = { name, start: messageReceivedAt() ?? performance.now() };
  };

  const notify = (level: Notice['level'], message: string): void => {
    const id = noticeId++;
    // The same message twice (a retry, a reconnect) is shown once; errors stay until dismissed.
    setNotices((n) => [...n.filter((x) => x.message !== message).slice(-2), { id, level, message }]);
    if (level !== 'error') {
      setTimeout(
        () => {
          setNotices((n) => n.filter((x) => x.id !== id));
        },
        level === 'info' ? 4000 : 8000,
      );
    }
  };

  const reload = (): void => {
    synced.current = false;
    if (loading.current) return;
    loading.current = true;
    call('app:snapshot', {}).then(
      (s) => {
        loading.current = false;
        timeApply('mooring:snapshot-applied');
        last.current = s;
        synced.current = true;
        setSnapshot(s);
        setLoadError(null);
      },
      (err: unknown) => {
        loading.current = false;
        setLoadError((err as Error).message);
      },
    );
  };

  useEffect(() => {
    let wasClosed = false;
    const offState = onConnectionState((state) => {
      setConnection(state);
      // A new connection may reach a restarted server, whose versions start again: fetch it whole.
      if (state === 'closed') wasClosed = true;
      else if (state === 'open' && wasClosed) {
        wasClosed = false;
        reload();
      }
    });
    const off = getApi().subscribe((e: PushEvent) => {
      switch (e.type) {
        case 'delta': {
          const held = synced.current ? last.current : null;
          // Before the first snapshot, or already in the one held: nothing to do.
          if (!held || e.version <= held.version) break;
          const next = applyDelta(held, e);
          if (!next) {
            reload();
            break;
          }
          timeApply('mooring:push-applied');
          for (const news of driftNews(held, next)) desktopNotify(news);
          last.current = next;
          setSnapshot(next);
          setLoadError(null);
          break;
        }
        case 'run-started':
          if (e.requestId) asked.current.add(e.runId);
          setRuns((all) => ({
            ...all,
            [e.runId]: {
              runId: e.runId,
              stack: e.stack,
              requestId: e.requestId ?? null,
              actions: {},
              finished: null,
            },
          }));
          break;
        case 'progress':
          setRuns((all) => {
            const run = all[e.runId] ?? {
              runId: e.runId,
              stack: e.stack,
              requestId: null,
              actions: {},
              finished: null,
            };
            const action: ActionProgress = {
              index: e.index,
              kind: e.kind,
              target: e.target,
              state: e.state,
              error: e.error,
              ms: e.ms,
              waitingFor: e.waitingFor,
              detail: e.detail,
            };
            return { ...all, [e.runId]: { ...run, actions: { ...run.actions, [e.index]: action } } };
          });
          break;
        case 'run-finished':
          setRuns((all) => {
            const run = all[e.runId];
            return run
              ? { ...all, [e.runId]: { ...run, finished: { result: e.result, error: e.error } } }
              : all;
          });
          if (e.result === 'failed' && !asked.current.has(e.runId)) {
            notify(
              'error',
              `Sync of "${e.stack}"${e.engine ? ` on ${e.engine}` : ''} failed: ${e.error ?? 'see History'}`,
            );
            desktopNotify(pushNews(e));
          }
          break;
        case 'notice':
          notify(e.level, e.message);
          desktopNotify(pushNews(e));
          break;
        case 'build':
          setBuilds((all) => {
            const ev = e.event;
            const b: LiveBuild = all[ev.buildId] ?? {
              id: ev.buildId,
              lines: [],
              step: null,
              result: 'running',
              error: null,
              tag: null,
            };
            // Output is capped so a chatty build cannot grow the page without end.
            if (ev.type === 'build-output')
              return { ...all, [ev.buildId]: { ...b, lines: [...b.lines.slice(-1999), ev.line] } };
            if (ev.type === 'build-step')
              return {
                ...all,
                [ev.buildId]: { ...b, step: `Step ${ev.step}/${ev.total}: ${ev.instruction}` },
              };
            if (ev.type === 'build-started') return { ...all, [ev.buildId]: { ...b, tag: ev.tag } };
            return {
              ...all,
              [ev.buildId]: { ...b, result: ev.result, error: ev.error, tag: ev.tag ?? b.tag },
            };
          });
          break;
      }
    });
    reload();
    return () => {
      off();
      offState();
    };
  }, []);

  const value = useMemo<StoreValue>(
    () => ({
      snapshot,
      loadError,
      connection,
      runs,
      runOf: (requestId) => Object.values(runs).find((r) => r.requestId === requestId) ?? null,
      builds,
      notices,
      notify,
      dismiss: (id) => {
        setNotices((n) => n.filter((x) => x.id !== id));
      },
      reload,
    }),
    // notify and reload only use setters and refs: stable in effect.
    [snapshot, loadError, connection, runs, builds, notices],
  );
  return <StoreContext.Provider value={value}>{children}</StoreContext.Provider>;
}

export function useStore(): StoreValue {
  const v = useContext(StoreContext);
  if (!v) throw new Error('useStore outside StoreProvider');
  return v;
}
