// A hash router: `#/`, `#/stack/NAME`, `#/stack/NAME/ENGINE`, `#/fleet`, `#/history`, `#/history/ID`, `#/commits`, `#/settings`.
// Hash routes work the same from file:// (Electron) and from the browser-mode server.
import { useEffect, useState } from 'react';

export type Route =
  | { screen: 'overview' }
  /** `engine`: the named engine the stack is shown on (issue 15); null: the window's. */
  | { screen: 'stack'; name: string; engine?: string | null }
  | { screen: 'fleet' }
  | { screen: 'history'; runId: number | null }
  | { screen: 'commits' }
  | { screen: 'builds' }
  | { screen: 'settings' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case 'stack':
      return parts[1]
        ? { screen: 'stack', name: parts[1], engine: parts[2] ?? null }
        : { screen: 'overview' };
    case 'fleet':
      return { screen: 'fleet' };
    case 'history':
      return { screen: 'history', runId: parts[1] ? Number(parts[1]) : null };
    case 'commits':
      return { screen: 'commits' };
    case 'builds':
      return { screen: 'builds' };
    case 'settings':
      return { screen: 'settings' };
    default:
      return { screen: 'overview' };
  }
}

export function href(route: Route): string {
  switch (route.screen) {
    case 'overview':
      return '#/';
    case 'stack':
      return `#/stack/${encodeURIComponent(route.name)}${route.engine ? `/${encodeURIComponent(route.engine)}` : ''}`;
    case 'fleet':
      return '#/fleet';
    case 'history':
      return route.runId ? `#/history/${route.runId}` : '#/history';
    case 'commits':
      return '#/commits';
    case 'builds':
      return '#/builds';
    case 'settings':
      return '#/settings';
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = (): void => {
      setRoute(parseRoute(window.location.hash));
    };
    window.addEventListener('hashchange', on);
    return () => {
      window.removeEventListener('hashchange', on);
    };
  }, []);
  return route;
}
