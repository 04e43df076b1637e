// Helpers for controller tests: wait for a condition, and record what a controller reports.
import type { ControllerEvent, DecideEvent } from '../../electron/engine/reconcile/controller.ts';

/** Polls `check` until it returns something truthy, or fails naming what it waited for. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A suffix for stack names, so that two runs of the suite on one engine do not share containers. */
export const UNIQUE = `-${process.pid.toString(36)}`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Keeps every event a controller emits; `lines()` is the log, as `mooring watch` would print it. */
export class EventLog {
  readonly events: ControllerEvent[] = [];

  readonly listener = (e: ControllerEvent): void => {
    this.events.push(e);
  };

  lines(): string[] {
    return this.events.flatMap((e) => (e.type === 'log' ? [`${e.level} ${e.message}`] : []));
  }

  text(): string {
    return this.lines().join('\n');
  }

  /**
   * Waits until the controller, from event number `from` of this log on, was given an event that
   * `match` picks and decided to do nothing on it: it saw the thing and let it be. What it would have
   * done instead (a run, a timer for one) is no `no-action` event, so a controller that wrongly acts
   * makes this time out. Instead of a sleep before asserting that nothing happened.
   */
  letBe(what: string, match: (e: DecideEvent) => boolean, from = 0): Promise<DecideEvent> {
    return waitFor(what, () => {
      for (const e of this.events.slice(from)) if (e.type === 'no-action' && match(e.event)) return e.event;
      return null;
    });
  }
}

/** `slow` turns healthy after ~3 s; `after` waits for that, so the run is mid-apply for a while. */
export const SLOW_STACK = `services:
  slow:
    image: local/busybox:1
    init: true
    command: ["sh", "-c", "sleep 3; echo ok > /tmp/ready; exec sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      timeout: 2s
      retries: 100
  after:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    depends_on:
      slow:
        condition: service_healthy
`;
