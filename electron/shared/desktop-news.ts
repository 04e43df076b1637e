// What Mooring says outside its window: the tray's line and the desktop notifications for drift, a
// failed sync and trouble on another engine. Each names the engine it is about (issue 15). Pure and
// shared: Electron's main process shows them natively, browser mode through the Notification API.
import type { PushEvent, Snapshot } from './api.ts';
import { LOCAL_ENGINE } from './model.ts';

export interface DesktopNews {
  title: string;
  body: string;
}

/** The tray's tooltip and icon: the worst of the window's engine, named. */
export function trayStatus(s: Snapshot): { title: string; level: 'ok' | 'warn' | 'bad' } {
  const on = `Mooring (${s.engine.name ?? LOCAL_ENGINE})`;
  const drifting = s.stacks.filter((x) => x.sync !== 'Synced').length;
  const degraded = s.stacks.filter((x) => x.health === 'Degraded').length;
  if (!s.engine.reachable) return { title: `${on}: Docker engine unreachable`, level: 'bad' };
  if (degraded) return { title: `${on}: ${count(degraded)} degraded`, level: 'bad' };
  if (drifting) return { title: `${on}: ${count(drifting)} out of sync`, level: 'warn' };
  return { title: `${on}: everything in sync`, level: 'ok' };
}

/** A notification per stack of the window's engine that was in sync before and drifts now. */
export function driftNews(before: Snapshot | null, after: Snapshot): DesktopNews[] {
  if (!before) return [];
  const engine = after.engine.name ?? LOCAL_ENGINE;
  const was = new Map(before.stacks.map((s) => [s.name, s.sync]));
  return after.stacks
    .filter((s) => s.sync === 'OutOfSync' && was.get(s.name) === 'Synced')
    .map((s) => ({
      title: `Drift in ${s.name} on ${engine}`,
      body: `Differs from git: ${s.services
        .filter((x) => x.sync !== 'Synced')
        .map((x) => x.name)
        .join(', ')}`,
    }));
}

/**
 * A push that deserves a notification of its own: a failed sync (on the engine it ran on), or an
 * error or warning of another engine's controller, which no snapshot of the window shows.
 */
export function pushNews(e: PushEvent): DesktopNews | null {
  if (e.type === 'run-finished' && e.result === 'failed')
    return { title: `Sync of ${e.stack}${e.engine ? ` on ${e.engine}` : ''} failed`, body: e.error ?? '' };
  if (e.type === 'notice' && e.engine && e.level !== 'info')
    return { title: `Mooring: engine ${e.engine}`, body: e.message };
  return null;
}

function count(n: number): string {
  return `${n} stack${n === 1 ? '' : 's'}`;
}
