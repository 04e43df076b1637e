// A modal built on <dialog>: focus moves into it, Escape closes it, the page behind is inert.
import { useEffect, useRef, type ReactNode } from 'react';

export function Dialog(props: {
  title: string;
  children: ReactNode;
  onClose: () => void;
  actions: ReactNode;
}): React.JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
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
