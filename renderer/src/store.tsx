// The renderer's state: the latest snapshot pushed by the engine, live run progress and notices.
// Nothing here polls: the snapshot is fetched once, then replaced by every pushed one.
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { PushEvent, Snapshot } from '../../electron/shared/api.ts';
import { call, getApi, onConnectionState, type ConnectionState } from './api/client.ts';

export interface ActionProgress {
  index: number;
  kind: string;
  target: string;
  state: 'started' | 'succeeded' | 'failed';
  error: string | null;
  ms: number | null;
}

export interface Notice {
  id: number;
  level: 'info' | 'warn' | 'error';
  message: string;
}

interface StoreValue {
  snapshot: Snapshot | null;
  loadError: string | null;
  connection: ConnectionState;
  /** Per run id, the actions seen so far. */
  progress: Record<number, ActionProgress[]>;
  notices: Notice[];
  notify: (level: Notice['level'], message: string) => void;
  dismiss: (id: number) => void;
  reload: () => void;
}

const StoreContext = createContext<StoreValue | null>(null);

let noticeId = 1;

/** Desktop notifications in browser mode, once the user has allowed them (Electron's main process notifies by itself). */
function desktopNotify(title: string, body: string): void {
  if (getApi().transport !== 'browser' || typeof Notification === 'undefined') return;
  if (Notification.permission === 'granted') new Notification(title, { body });
}

function driftNews(before: Snapshot | null, after: Snapshot): string[] {
  if (!before) return [];
  const was = new Map(before.stacks.map((s) => [s.name, s.sync]));
  return after.stacks
    .filter((s) => s.sync === 'OutOfSync' && was.get(s.name) === 'Synced')
    .map(
      (s) =>
        `Stack "${s.name}" drifted from git: ${s.services
          .filter((x) => x.sync !== 'Synced')
          .map((x) => x.name)
          .join(', ')}`,
    );
}

export function StoreProvider({ children }: { children: ReactNode }): React.JSX.Element {
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [progress, setProgress] = useState<Record<number, ActionProgress[]>>({});
  const [notices, setNotices] = useState<Notice[]>([]);
  const last = useRef<Snapshot | null>(null);

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
    call('app:snapshot', {}).then(
      (s) => {
        last.current = s;
        setSnapshot(s);
        setLoadError(null);
      },
      (err: unknown) => {
        setLoadError((err as Error).message);
      },
    );
  };

  useEffect(() => {
    const offState = onConnectionState(setConnection);
    const off = getApi().subscribe((e: PushEvent) => {
      switch (e.type) {
        case 'snapshot':
          for (const news of driftNews(last.current, e.snapshot)) desktopNotify('Mooring: drift', news);
          last.current = e.snapshot;
          setSnapshot(e.snapshot);
          setLoadError(null);
          break;
        case 'progress':
          setProgress((p) => {
            const list = (p[e.runId] ?? []).filter((a) => a.index !== e.index);
            return { ...p, [e.runId]: [...list, e].sort((a, b) => a.index - b.index) };
          });
          break;
        case 'run-finished':
          if (e.result === 'failed') {
            notify('error', `Sync of "${e.stack}" failed: ${e.error ?? 'see History'}`);
            desktopNotify('Mooring: sync failed', `${e.stack}: ${e.error ?? ''}`);
          }
          break;
        case 'notice':
          notify(e.level, e.message);
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
      progress,
      notices,
      notify,
      dismiss: (id) => {
        setNotices((n) => n.filter((x) => x.id !== id));
      },
      reload,
    }),
    // notify and reload only use setters and refs: stable in effect.
    [snapshot, loadError, connection, progress, notices],
  );
  return <StoreContext.Provider value={value}>{children}</StoreContext.Provider>;
}

export function useStore(): StoreValue {
  const v = useContext(StoreContext);
  if (!v) throw new Error('useStore outside StoreProvider');
  return v;
}
