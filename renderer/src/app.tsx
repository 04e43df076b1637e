// The shell: navigation, the screen for the route, a status bar everywhere, toasts, and the
// keyboard shortcuts (/ filter, r fetch now, g then o/f/h/c/b/s to go to a screen, ? to list them).
import { useEffect, useRef, useState } from 'react';
import { call } from './api/client.ts';
import { Dialog } from './components/dialog.tsx';
import { focusScreen } from './components/focus.ts';
import { ago } from './format.ts';
import { href, navigate, useRoute, type Route } from './router.ts';
import { BuildsScreen } from './screens/builds.tsx';
import { FleetScreen } from './screens/fleet.tsx';
import { CommitsScreen, HistoryScreen } from './screens/history.tsx';
import { Overview } from './screens/overview.tsx';
import { SettingsScreen } from './screens/settings.tsx';
import { StackScreen } from './screens/stack.tsx';
import { StoreProvider, useStore } from './store.tsx';

export function App(): React.JSX.Element {
  return (
    <StoreProvider>
      <Shell />
    </StoreProvider>
  );
}

const NAV: { route: Route; label: string; key: string }[] = [
  { route: { screen: 'overview' }, label: 'Overview', key: 'g o' },
  { route: { screen: 'fleet' }, label: 'Fleet', key: 'g f' },
  { route: { screen: 'history', runId: null }, label: 'History', key: 'g h' },
  { route: { screen: 'commits' }, label: 'Commits', key: 'g c' },
  { route: { screen: 'builds' }, label: 'Builds', key: 'g b' },
  { route: { screen: 'settings' }, label: 'Sources & settings', key: 'g s' },
];

/** Every shortcut, as the `?` dialog lists them. */
const SHORTCUTS: { keys: string[]; what: string }[] = [
  ...NAV.map((n) => ({ keys: n.key.split(' '), what: `Go to ${n.label}` })),
  { keys: ['/'], what: 'Filter the stacks (on the Overview)' },
  { keys: ['r'], what: 'Fetch every source now' },
  { keys: ['?'], what: 'Show these shortcuts' },
  { keys: ['Esc'], what: 'Close a dialog' },
];

/** The navigation entry a route is under: a stack on another engine is reached from the Fleet. */
function navOf(route: Route): Route['screen'] {
  if (route.screen !== 'stack') return route.screen;
  return route.engine ? 'fleet' : 'overview';
}

function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return (
    !!t &&
    (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)
  );
}

function Shell(): React.JSX.Element {
  const route = useRoute();
  const { snapshot, notify, notices, dismiss, loadError, connection } = useStore();
  const filterRef = useRef<HTMLInputElement>(null);
  const pendingG = useRef(false);
  // A `g` jump lands on the new screen's title once it shows, not on the body (issue 13, item 10).
  const jumped = useRef(false);
  const [showKeys, setShowKeys] = useState(false);

  useEffect(() => {
    const here = NAV.find((n) => n.route.screen === navOf(route));
    document.title =
      route.screen === 'stack'
        ? `${route.name}${route.engine ? ` on ${route.engine}` : ''} · Mooring`
        : `${here?.label ?? ''} · Mooring`;
    if (jumped.current) {
      jumped.current = false;
      focusScreen();
    }
  }, [route]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e) || document.querySelector('dialog[open]')) return;
      if (pendingG.current) {
        pendingG.current = false;
        const target = NAV.find((n) => n.key === `g ${e.key}`);
        if (target) {
          e.preventDefault();
          if (href(target.route) === href(route)) focusScreen();
          else {
            jumped.current = true;
            navigate(target.route);
          }
        }
        return;
      }
      if (e.key === 'g') {
        pendingG.current = true;
        setTimeout(() => (pendingG.current = false), 1200);
      } else if (e.key === '/') {
        e.preventDefault();
        if (route.screen !== 'overview') navigate({ screen: 'overview' });
        setTimeout(() => filterRef.current?.focus(), 0);
      } else if (e.key === '?') {
        e.preventDefault();
        setShowKeys(true);
      } else if (e.key === 'r') {
        e.preventDefault();
        notify('info', 'Fetching every source…');
        void call('sources:fetch', {}).catch((err: unknown) => {
          notify('error', (err as Error).message);
        });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
    };
  }, [route, notify]);

  const current = navOf(route);
  const attention =
    snapshot?.stacks.filter((s) => s.sync !== 'Synced' || s.health === 'Degraded').length ?? 0;

  return (
    <div className="app">
      <a
        className="skip-link"
        href="#main"
        onClick={(e) => {
          // The router owns the URL's fragment: move focus without navigating.
          e.preventDefault();
          focusScreen();
        }}
      >
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Screens">
        <div className="brand">
          <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden>
            <path
              fill="none"
              stroke="currentColor"
              strokeWidth="2.2"
              strokeLinecap="round"
              d="M12 3v18M7 7h10M4 14a8 8 0 0 0 16 0"
            />
          </svg>
          Mooring
        </div>
        {NAV.map((n) => (
          <a
            key={n.label}
            className="nav-link"
            href={href(n.route)}
            aria-current={current === n.route.screen ? 'page' : undefined}
          >
            <span>
              {n.label}
              {n.route.screen === 'overview' && attention > 0 && (
                <span
                  className="badge warn"
                  style={{ marginLeft: 6 }}
                  aria-label={`${attention} need attention`}
                >
                  {attention}
                </span>
              )}
            </span>
            <kbd>{n.key}</kbd>
          </a>
        ))}
        <span className="spacer" />
        <p className="hint">
          <kbd>/</kbd> filter · <kbd>r</kbd> fetch now
          <br />
          <button
            className="link"
            onClick={() => {
              setShowKeys(true);
            }}
          >
            <kbd>?</kbd> shortcuts
          </button>
        </p>
      </nav>
      <main id="main">
        {connection === 'unauthorized' && (
          <div className="callout bad" role="alert">
            This browser session has no access token for Mooring. Open the full URL that{' '}
            <code>mooring serve</code> printed: other tabs of this browser then get in too, until it closes.
          </div>
        )}
        {connection === 'closed' && (
          <div className="callout warn" role="alert">
            Lost the connection to Mooring; reconnecting…
          </div>
        )}
        {loadError && connection !== 'unauthorized' && <div className="callout bad">{loadError}</div>}
        {route.screen === 'overview' && <Overview filterRef={filterRef} />}
        {route.screen === 'stack' && <StackScreen name={route.name} engine={route.engine ?? null} />}
        {route.screen === 'history' && <HistoryScreen runId={route.runId} />}
        {route.screen === 'commits' && <CommitsScreen />}
        {route.screen === 'fleet' && <FleetScreen />}
        {route.screen === 'builds' && <BuildsScreen />}
        {route.screen === 'settings' && <SettingsScreen />}
      </main>
      <StatusBar />
      {showKeys && (
        <ShortcutsDialog
          onClose={() => {
            setShowKeys(false);
          }}
        />
      )}
      <div className="toasts" aria-live="polite">
        {notices.map((n) => (
          <div key={n.id} className={`toast ${n.level}`} role={n.level === 'error' ? 'alert' : 'status'}>
            <p>{n.message}</p>
            <button
              className="link"
              aria-label="Dismiss"
              onClick={() => {
                dismiss(n.id);
              }}
            >
              ✕
            </button>
          </div>
        ))}
      </div>
    </div>
  );
}

function ShortcutsDialog({ onClose }: { onClose: () => void }): React.JSX.Element {
  return (
    <Dialog
      title="Keyboard shortcuts"
      onClose={onClose}
      actions={
        <button autoFocus onClick={onClose}>
          Close
        </button>
      }
    >
      <table aria-label="Keyboard shortcuts" className="shortcuts">
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">What they do</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.what} data-shortcut={s.keys.join(' ')}>
              <td>
                {s.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && ' then '}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </td>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="sub">Shortcuts work when no field has the focus.</p>
    </Dialog>
  );
}

function StatusBar(): React.JSX.Element {
  const { snapshot, connection } = useStore();
  if (!snapshot)
    return <footer className="statusbar">{connection === 'open' ? 'Loading…' : 'Connecting…'}</footer>;
  const { engine, sources, controller } = snapshot;
  return (
    <footer className="statusbar" aria-label="Status">
      <span className="item" data-status="engine">
        <span className={`dot ${engine.reachable ? 'ok' : 'bad'}`} />
        {engine.reachable ? 'Docker connected' : `Docker unreachable (${engine.endpoint})`}
      </span>
      {sources.map((s) => (
        <span key={s.name} className="item" data-status={`source-${s.name}`} title={s.lastError ?? s.url}>
          <span className={`dot ${s.lastError ? 'bad' : 'ok'}`} />
          {s.name}: {s.lastError ? `offline since ${ago(s.failingSince)}` : `fetched ${ago(s.lastSuccessAt)}`}
        </span>
      ))}
      <span className="item" data-status="controller">
        <span className={`dot ${controller.running ? 'ok' : 'quiet'}`} />
        Controller {controller.running ? 'on' : 'off'}
        {controller.running && controller.alsoOn?.length ? ` (also ${controller.alsoOn.join(', ')})` : ''}
      </span>
    </footer>
  );
}
