import { useEffect, useState } from 'react';
import type { Health, StackStatus, SyncStatus } from '../../../electron/shared/model.ts';

const SYNC_TONE: Record<SyncStatus, string> = {
  Synced: 'ok',
  OutOfSync: 'warn',
  Missing: 'violet',
  Orphaned: 'violet',
  Unknown: 'bad',
};
const HEALTH_TONE: Record<Health, string> = {
  Healthy: 'ok',
  Progressing: 'info',
  Degraded: 'bad',
  Suspended: 'quiet',
  Missing: 'violet',
  Unknown: 'quiet',
};
const LABEL: Record<string, string> = { OutOfSync: 'Out of sync' };

export function SyncBadge({ sync }: { sync: SyncStatus }): React.JSX.Element {
  return (
    <span className={`badge ${SYNC_TONE[sync]}`} data-sync={sync}>
      {LABEL[sync] ?? sync}
    </span>
  );
}

export function HealthBadge({ health }: { health: Health }): React.JSX.Element {
  return (
    <span className={`badge ${HEALTH_TONE[health]}`} data-health={health}>
      {health}
    </span>
  );
}

const RESULT_TONE: Record<string, string> = {
  succeeded: 'ok',
  failed: 'bad',
  running: 'info',
  interrupted: 'warn',
  skipped: 'quiet',
  pending: 'quiet',
};

export function ResultBadge({ result }: { result: string }): React.JSX.Element {
  return <span className={`badge ${RESULT_TONE[result] ?? 'quiet'}`}>{result}</span>;
}

/**
 * What the controller will do by itself and when: "self-heal in 0.5 s", "retry 2 of 5 at 10:42:05".
 * Ticks while it counts down; says "due now" once the time has come and the run has not shown yet.
 */
export function PendingNote({
  pending,
}: {
  pending: NonNullable<StackStatus['pending']>;
}): React.JSX.Element {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => {
      setNow(Date.now());
    }, 500);
    return () => {
      clearInterval(timer);
    };
  }, []);
  const at = Date.parse(pending.at);
  const left = at - now;
  const when =
    left <= 0
      ? 'due now'
      : left < 60_000
        ? `in ${(left / 1000).toFixed(left < 10_000 ? 1 : 0)} s`
        : `at ${new Date(at).toLocaleTimeString()}`;
  const what =
    pending.what === 'self-heal'
      ? 'self-heal'
      : `retry${pending.attempt !== undefined ? ` ${pending.attempt} of ${pending.of}` : ''}`;
  return (
    <span className="pending" data-pending={pending.what} title={`Due at ${new Date(at).toLocaleString()}`}>
      {what} {when}
    </span>
  );
}
