// A table that renders only the rows in view (plus a margin), so 100k rows scroll like 100, and
// that is still a table to assistive technology and to the keyboard (issue 13, item 10):
// role=table with its header row and aria-rowcount/aria-rowindex for the rows not rendered, and one
// Tab stop — the current row's link — with the arrows, Page Up/Down, Home and End moving between rows
// (the WAI-ARIA grid pattern's roving focus).
import { useEffect, useRef, useState, type ReactNode } from 'react';

export function VirtualTable<T>(props: {
  label: string;
  columns: string[];
  items: T[];
  rowHeight: number;
  height: number | string;
  /** One node per column; `focusable` says whether this row's link is the table's Tab stop. */
  cells: (item: T, focusable: boolean) => ReactNode[];
  rowAttributes?: (item: T) => Record<string, string | number>;
  onEndReached?: () => void;
  className?: string;
}): React.JSX.Element {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const [active, setActive] = useState(0);
  const focusPending = useRef(false);
  const { rowHeight, items } = props;
  const current = Math.min(active, Math.max(0, items.length - 1));
  const overscan = 8;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);

  // After a key moved the current row (and scrolled it into the rendered range), focus its link.
  useEffect(() => {
    if (!focusPending.current) return;
    focusPending.current = false;
    scroller.current
      ?.querySelector<HTMLElement>(`[aria-rowindex="${current + 2}"] a`)
      ?.focus({ preventScroll: true });
  });

  const moveTo = (index: number): void => {
    const el = scroller.current;
    if (!el || items.length === 0) return;
    const i = Math.max(0, Math.min(items.length - 1, index));
    const top = i * rowHeight;
    let next = el.scrollTop;
    if (top < next) next = top;
    else if (top + rowHeight > next + el.clientHeight) next = top + rowHeight - el.clientHeight;
    if (next !== el.scrollTop) {
      el.scrollTop = next;
      setScrollTop(next);
    }
    focusPending.current = true;
    setActive(i);
  };

  const onKeyDown = (e: React.KeyboardEvent): void => {
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? rowHeight) / rowHeight) - 1);
    const to: Record<string, number> = {
      ArrowDown: current + 1,
      ArrowUp: current - 1,
      PageDown: current + page,
      PageUp: current - page,
      Home: 0,
      End: items.length - 1,
    };
    if (!(e.key in to) || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    moveTo(to[e.key]!);
  };

  const end = (el: HTMLDivElement): void => {
    if (props.onEndReached && el.scrollTop + el.clientHeight > el.scrollHeight - rowHeight * 20) {
      props.onEndReached();
    }
  };

  return (
    <div role="table" aria-label={props.label} aria-rowcount={items.length + 1} className="vtable">
      <div role="rowgroup">
        <div role="row" aria-rowindex={1} className={`${props.className ?? ''} head`}>
          {props.columns.map((c) => (
            <span key={c} role="columnheader">
              {c}
            </span>
          ))}
        </div>
      </div>
      <div
        className="virtual"
        style={{ height: props.height }}
        ref={(el) => {
          scroller.current = el;
          if (el && el.clientHeight !== viewport) setViewport(el.clientHeight);
        }}
        onScroll={(e) => {
          setScrollTop(e.currentTarget.scrollTop);
          end(e.currentTarget);
        }}
        onKeyDown={onKeyDown}
      >
        <div role="rowgroup" style={{ height: items.length * rowHeight, position: 'relative' }}>
          {items.slice(first, last).map((item, k) => {
            const index = first + k;
            return (
              <div
                key={index}
                role="row"
                aria-rowindex={index + 2}
                className={props.className}
                {...props.rowAttributes?.(item)}
                style={{ position: 'absolute', top: index * rowHeight, left: 0, right: 0, height: rowHeight }}
                onFocus={() => {
                  if (index !== current) setActive(index);
                }}
                onClick={(e) => {
                  // A click anywhere on the row is a click on its link, which then keeps the focus.
                  if ((e.target as HTMLElement).closest('a, button')) return;
                  const link = e.currentTarget.querySelector<HTMLElement>('a');
                  link?.focus();
                  link?.click();
                }}
              >
                {props.cells(item, index === current).map((cell, c) => (
                  <span key={c} role="cell">
                    {cell}
                  </span>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
