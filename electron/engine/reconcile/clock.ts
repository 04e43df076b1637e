// Time as a dependency: the controller's timers (debounce, backoff, polling) run on a Clock so that
// their logic is tested with a fake one instead of by waiting.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the timer does not keep the process alive on its own. */
  after(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    // A pending retry or poll must not stop `mooring watch` from exiting once it is stopped.
    t.unref();
    return {
      cancel: () => {
        clearTimeout(t);
      },
    };
  },
};
