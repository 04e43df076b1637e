import type { Health, SyncStatus } from '../../../electron/shared/model.ts';

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
