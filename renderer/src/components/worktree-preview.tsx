// What a stack's uncommitted files would change (issue 17, item 1), for a source added by its local path.
// Asked of the engine when the screen opens, when the stack changes, and when the window gets the focus
// back (the person was in their editor). Only a preview: the app never deploys a work tree.
import { useEffect, useState } from 'react';
import type { Results } from '../../../electron/shared/api.ts';
import { call } from '../api/client.ts';
import { onEngine, useEngineScope } from '../engine-scope.tsx';
import { shortId } from '../format.ts';
import { DiffTable } from './diff-table.tsx';

export function WorktreePreview({
  stack,
  watch,
}: {
  stack: string;
  watch: string;
}): React.JSX.Element | null {
  const [preview, setPreview] = useState<Results['stacks:worktree']>(null);
  const [open, setOpen] = useState(false);
  const { engine } = useEngineScope();
  useEffect(() => {
    let live = true;
    const look = (): void => {
      call('stacks:worktree', { stack, ...onEngine({ engine }) }).then(
        (p) => {
          if (live) setPreview(p);
        },
        () => {
          if (live) setPreview(null);
        },
      );
    };
    look();
    window.addEventListener('focus', look);
    return () => {
      live = false;
      window.removeEventListener('focus', look);
    };
  }, [stack, watch, engine]);
  if (!preview) return null;
  const { worktree, actions, error } = preview;
  const n = worktree.changed.length;
  const withFields = actions.filter((a) => a.diff.length > 0);
  return (
    <div className={`callout ${error ? 'bad' : 'info'} worktree-preview`} role="status">
      <strong>{error ? 'Uncommitted changes would break this stack:' : 'Uncommitted changes would:'}</strong>{' '}
      {error ? (
        <ul>
          {error.split('\n').map((line) => (
            <li key={line}>
              <code>{line}</code>
            </li>
          ))}
        </ul>
      ) : (
        actions
          .map(
            (a) =>
              `${a.kind} ${a.target}${a.diff.length ? ` (${a.diff.map((d) => d.path).join(', ')})` : ''}`,
          )
          .join('; ')
      )}
      <p className="worktree-where">
        {n} file{n === 1 ? '' : 's'} changed in <code>{worktree.dir}</code> since{' '}
        <code>{shortId(worktree.head)}</code>
        {worktree.branch ? ` on ${worktree.branch}` : ' (detached HEAD)'}. A preview only: commit to deploy,
        or run <code>mooring sync --worktree {stack}</code>.
        {withFields.length > 0 && (
          <>
            {' '}
            <button
              className="link"
              aria-expanded={open}
              onClick={() => {
                setOpen(!open);
              }}
            >
              {open ? 'Hide fields' : 'Show fields'}
            </button>
          </>
        )}
      </p>
      {open &&
        withFields.map((a) => (
          <div key={`${a.kind} ${a.target}`} className="worktree-action">
            <h4>
              {a.kind} {a.target}
            </h4>
            <DiffTable reasons={a.diff} desiredLabel="Work tree" />
          </div>
        ))}
    </div>
  );
}
