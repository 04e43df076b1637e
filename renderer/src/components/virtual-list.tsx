// Renders only the rows in view (plus a margin), so a list of 100k rows scrolls like one of 100.
import { useState, type ReactNode } from 'react';

export function VirtualList<T>(props: {
  items: T[];
  rowHeight: number;
  height: number | string;
  render: (item: T, index: number) => ReactNode;
  onEndReached?: () => void;
  label: string;
}): React.JSX.Element {
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const overscan = 8;
  const first = Math.max(0, Math.floor(scrollTop / props.rowHeight) - overscan);
  const last = Math.min(props.items.length, Math.ceil((scrollTop + viewport) / props.rowHeight) + overscan);
  return (
    <div
      className="virtual"
      role="list"
      aria-label={props.label}
      style={{ height: props.height }}
      ref={(el) => {
        if (el && el.clientHeight !== viewport) setViewport(el.clientHeight);
      }}
      onScroll={(e) => {
        const el = e.currentTarget;
        setScrollTop(el.scrollTop);
        if (props.onEndReached && el.scrollTop + el.clientHeight > el.scrollHeight - props.rowHeight * 20) {
          props.onEndReached();
        }
      }}
    >
      <div style={{ height: props.items.length * props.rowHeight, position: 'relative' }}>
        {props.items.slice(first, last).map((item, k) => (
          <div
            key={first + k}
            role="listitem"
            style={{
              position: 'absolute',
              top: (first + k) * props.rowHeight,
              left: 0,
              right: 0,
              height: props.rowHeight,
            }}
          >
            {props.render(item, first + k)}
          </div>
        ))}
      </div>
    </div>
  );
}
