// Where keyboard focus goes when what had it is gone: the current screen's title, so that a screen
// reader says where the person is and Tab goes on from the top of the screen (issue 13, item 10).

/** Focuses the screen's h1 (or, on a screen without one, the main region). */
export function focusScreen(): void {
  const main = document.querySelector<HTMLElement>('main');
  const target = main?.querySelector<HTMLElement>('h1') ?? main;
  if (!target) return;
  // Focusable from script only: a title is not a Tab stop.
  if (!target.hasAttribute('tabindex')) target.tabIndex = -1;
  target.focus({ preventScroll: false });
}

// The last element outside a dialog that had the focus. A button that starts something is often
// disabled while it runs (Preview sync fetches the plan first), and a disabled button loses the focus
// to <body>: the dialog that then opens still knows what opened it.
let lastFocused: HTMLElement | null = null;
if (typeof document !== 'undefined') {
  document.addEventListener('focusin', (e) => {
    if (e.target instanceof HTMLElement && !e.target.closest('dialog')) lastFocused = e.target;
  });
}

/** The element focus should go back to when a dialog opened now is closed. */
export function currentOpener(): HTMLElement | null {
  const active = document.activeElement;
  if (active instanceof HTMLElement && active !== document.body) return active;
  return lastFocused?.isConnected ? lastFocused : null;
}
