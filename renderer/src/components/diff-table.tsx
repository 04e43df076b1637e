import type { DriftReason } from '../../../electron/shared/model.ts';

/** Desired (git) and live values side by side, one row per differing field path. */
export function DiffTable({ reasons }: { reasons: DriftReason[] }): React.JSX.Element {
  return (
    <div className="diff">
      <table>
        <thead>
          <tr>
            <th>Field</th>
            <th>In git (desired)</th>
            <th>Live</th>
          </tr>
        </thead>
        <tbody>
          {reasons.map((r) => (
            <tr key={r.path} data-field={r.path}>
              <td>{r.path}</td>
              <td className="desired">{r.desired ?? '—'}</td>
              <td className="live">{r.live ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
