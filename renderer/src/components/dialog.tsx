// A modal built on <dialog>: focus moves into it, Escape closes it, the page behind is inert, and
// focus goes back to what opened it once it is gone (issue 13, item 10).
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { currentOpener, focusScreen } from './focus.ts';

/**
 * What each open dialog gives focus back to. A dialog opened from inside another (Apply in the
 * preview, which then closes) inherits the first one's opener, so focus never lands on a button that
 * left with its dialog.
 */
const openers = new WeakMap<HTMLDialogElement, HTMLElement | null>();

function openerOf(active: HTMLElement | null): HTMLElement | null {
  const inside = active?.closest('dialog');
  return inside ? (openers.get(inside) ?? null) : active;
}

export function Dialog(props: {
  title: string;
  children: ReactNode;
  onClose: () => void;
  actions: ReactNode;
}): React.JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  // Read while rendering, before the dialog exists and takes focus: the element that opened it.
  const [opener] = useState(() => openerOf(currentOpener()));
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    openers.set(d, opener);
    if (!d.open) d.showModal();
    return () => {
      // React removes the element without close(), so the browser's own focus restore does not run.
      // The next frame: by then the dialog is gone and the page behind is no longer inert.
      requestAnimationFrame(() => {
        if (document.querySelector('dialog[open]')) return; // another dialog took over
        if (opener?.isConnected && !opener.closest('[inert]')) opener.focus();
        if (document.activeElement !== opener) focusScreen(); // its opener is gone: the screen's title
      });
    };
  }, [opener]);
  return (
    <dialog
      ref={ref}
      aria-label={props.title}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <div className="dialog-body">
        <h2>{props.title}</h2>
        {props.children}
      </div>
      <div className="dialog-actions">{props.actions}</div>
    </dialog>
  );
}
