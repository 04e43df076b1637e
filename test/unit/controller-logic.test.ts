// The controller's pure helpers on a fake clock: backoff and give-up bookkeeping, and
// which drift it acts on. No engine, no timers, no waiting. The decisions built from them are
// tested in controller-decide.test.ts.
import { describe, expect, it } from 'vitest';
import type { ServiceStatus, StackStatus } from '../../electron/shared/model.ts';
import type { Clock, TimerHandle } from '../../electron/engine/reconcile/clock.ts';
import { needsRun } from '../../electron/engine/reconcile/controller-decide.ts';
import {
  DEFAULT_RETRY,
  RetryBook,
  backoffDelay,
  type RetryEntry,
} from '../../electron/engine/reconcile/retry.ts';

class FakeClock implements Clock {
  private t = 1_000_000;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): TimerHandle {
    const timer = { at: this.t + Math.max(0, ms), fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves time forward, firing due timers in order (a timer may schedule another). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => !x.cancelled && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

const policy = { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 5_000 };

describe('backoff', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy))).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000, 5_000,
    ]);
    expect(backoffDelay(0, policy)).toBe(0);
    expect(backoffDelay(10_000, DEFAULT_RETRY)).toBe(DEFAULT_RETRY.maxDelayMs);
  });

  it('the documented default is 5 tries, 5 s doubling', () => {
    expect(DEFAULT_RETRY.maxAttempts).toBe(5);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, DEFAULT_RETRY))).toEqual([5_000, 10_000, 20_000, 40_000]);
  });
});

describe('RetryBook', () => {
  it('waits out the backoff between tries and gives up after maxAttempts of the same key', () => {
    const clock = new FakeClock();
    const book = new RetryBook(policy);
    expect(book.decide('web', 'r1:a', clock.now())).toEqual({ kind: 'go', attempt: 1 });

    book.failed('web', 'r1:a', 'port taken', clock.now());
    expect(book.decide('web', 'r1:a', clock.now())).toEqual({ kind: 'wait', ms: 1_000 });
    clock.advance(999);
    expect(book.decide('web', 'r1:a', clock.now())).toEqual({ kind: 'wait', ms: 1 });
    clock.advance(1);
    expect(book.decide('web', 'r1:a', clock.now())).toEqual({ kind: 'go', attempt: 2 });

    book.failed('web', 'r1:a', 'port taken', clock.now());
    expect(book.decide('web', 'r1:a', clock.now())).toEqual({ kind: 'wait', ms: 2_000 });
    clock.advance(2_000);
    const last = book.failed('web', 'r1:a', 'port still taken', clock.now());
    expect(last.gaveUp).toBe(true);
    // However long one waits, the same (revision, spec) is not tried again…
    clock.advance(24 * 3600_000);
    expect(book.decide('web', 'r1:a', clock.now())).toEqual({
      kind: 'gave-up',
      attempts: 3,
      lastError: 'port still taken',
    });
    // …but a new revision or spec is.
    expect(book.decide('web', 'r2:a', clock.now())).toEqual({ kind: 'go', attempt: 1 });
    // Other stacks are not affected.
    expect(book.decide('db', 'r1:a', clock.now()).kind).toBe('go');
  });

  it('a permanent failure (invalid manifest) gives up at once: recorded once per revision', () => {
    const clock = new FakeClock();
    const book = new RetryBook(policy);
    book.failed('web', 'r1:invalid', 'bad yaml', clock.now(), { permanent: true });
    expect(book.decide('web', 'r1:invalid', clock.now()).kind).toBe('gave-up');
    expect(book.decide('web', 'r2:invalid', clock.now()).kind).toBe('go');
  });

  it('transient failures back off but do not count, and are released when the engine is back', () => {
    const clock = new FakeClock();
    const book = new RetryBook(policy);
    for (let i = 0; i < 10; i++) {
      const e = book.failed('web', 'r1:a', 'engine gone', clock.now(), { transient: true });
      expect(e.gaveUp).toBe(false);
      expect(e.attempts).toBe(0);
    }
    expect(book.decide('web', 'r1:a', clock.now())).toEqual({ kind: 'wait', ms: 5_000 });
    expect(book.releaseTransient(['web', 'db'])).toEqual(['web']);
    expect(book.decide('web', 'r1:a', clock.now())).toEqual({ kind: 'go', attempt: 1 });

    // A real failure after a transient one keeps its backoff when the engine comes back.
    book.failed('web', 'r1:a', 'port taken', clock.now());
    expect(book.releaseTransient(['web'])).toEqual([]);
    expect(book.decide('web', 'r1:a', clock.now()).kind).toBe('wait');
  });

  it('success and forget clear the entry', () => {
    const clock = new FakeClock();
    const book = new RetryBook(policy);
    book.failed('web', 'r1:a', 'x', clock.now(), { permanent: true });
    book.forget('web');
    expect(book.decide('web', 'r1:a', clock.now()).kind).toBe('go');
    book.failed('web', 'r1:a', 'x', clock.now());
    book.succeeded('web');
    expect(book.entry('web')).toBeUndefined();
  });

  it('keeps its entries in the store it is given (the database, in the controller)', () => {
    const store = new Map<string, RetryEntry>();
    const clock = new FakeClock();
    new RetryBook(policy, store).failed('web', 'r1:a', 'x', clock.now(), { permanent: true });
    // A new book over the same store (a restarted controller) remembers.
    expect(new RetryBook(policy, store).decide('web', 'r1:a', clock.now()).kind).toBe('gave-up');
  });
});

describe('which drift the controller acts on', () => {
  const svc = (name: string, sync: ServiceStatus['sync']): ServiceStatus => ({
    name,
    sync,
    health: 'Healthy',
    container: null,
    containerId: null,
    image: { desired: null, live: null },
    state: null,
    ports: [],
    startedAt: null,
    reasons: [],
  });
  const stack = (services: ServiceStatus[], sync: StackStatus['sync'] = 'OutOfSync'): StackStatus => ({
    source: 'cfg',
    name: 'web',
    revision: 'r1',
    sync,
    health: 'Healthy',
    services,
    errors: [],
    warnings: [],
    policy: { sync: 'auto', selfHeal: true, prune: false },
    suspended: false,
  });
  const keep = { sync: 'auto' as const, selfHeal: true, prune: false };
  const prune = { ...keep, prune: true };

  it('out of sync and missing services always; orphans only where the policy prunes', () => {
    expect(needsRun(stack([svc('a', 'Synced')], 'Synced'), keep)).toBe(false);
    expect(needsRun(stack([svc('a', 'OutOfSync')]), keep)).toBe(true);
    expect(needsRun(stack([svc('a', 'Missing')], 'Missing'), keep)).toBe(true);
    expect(needsRun(stack([svc('a', 'Synced'), svc('old', 'Orphaned')]), keep)).toBe(false);
    expect(needsRun(stack([svc('a', 'Synced'), svc('old', 'Orphaned')]), prune)).toBe(true);
  });

  it('never when the status is unknown (engine gone, manifest invalid)', () => {
    expect(needsRun(stack([svc('a', 'Unknown')], 'Unknown'), keep)).toBe(false);
  });
});
