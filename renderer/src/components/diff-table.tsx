import { Fragment } from 'react';
import type { DriftReason } from '../../../electron/shared/model.ts';
import { prettyValue, wordDiff, type Segment } from '../drift-format.ts';
import './diff-table.css';

/**
 * Desired (git) and live values side by side, one row per differing field path: commands and lists
 * pretty-printed, the words that differ marked on each side.
 */
export function DiffTable({
  reasons,
  desiredLabel = 'In git (desired)',
}: {
  reasons: DriftReason[];
  /** Where the desired values come from, when not from a commit (a work tree's preview). */
  desiredLabel?: string;
}): React.JSX.Element {
  return (
    <div className="diff">
      <table>
        <colgroup>
          <col className="diff-field" />
          <col />
          <col />
        </colgroup>
        <thead>
          <tr>
            <th>Field</th>
            <th>{desiredLabel}</th>
            <th>Live</th>
          </tr>
        </thead>
        <tbody>
          {reasons.map((r) => {
            const desired = prettyValue(r.path, r.desired);
            const live = prettyValue(r.path, r.live);
            const diff = desired !== null && live !== null ? wordDiff(desired, live) : null;
            return (
              <tr key={r.path} data-field={r.path}>
                <td className="diff-path">
                  {/* A long path wraps after a dot, not inside a name. */}
                  {r.path.split('.').map((part, i) => (
                    <Fragment key={i}>
                      {i > 0 && (
                        <>
                          .<wbr />
                        </>
                      )}
                      {part}
                    </Fragment>
                  ))}
                </td>
                <td className="desired diff-value">
                  {diff ? <Value segments={diff.desired} /> : (desired ?? '—')}
                </td>
                <td className="live diff-value">{diff ? <Value segments={diff.live} /> : (live ?? '—')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** A value with what the other side lacks marked. */
function Value({ segments }: { segments: Segment[] }): React.JSX.Element {
  return (
    <>
      {segments.map((s, i) =>
        s.changed ? (
          <mark key={i} className="word-changed">
            {s.text}
          </mark>
        ) : (
          s.text
        ),
      )}
    </>
  );
}
