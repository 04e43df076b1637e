// Retry bookkeeping for the controller's runs: capped exponential backoff, and a limit on how often the
// same failing attempt is repeated. Pure (the clock is a number passed in), so it is unit-tested
// without timers; the controller keeps the entries in SQLite so the limit holds across restarts.

export interface RetryPolicy {
  /** Failed tries of one (revision, spec) before the controller gives up on it. */
  maxAttempts: number;
  /** Wait after the first failure; doubled after each further one. */
  baseDelayMs: number;
  /** Upper bound of the wait. */
  maxDelayMs: number;
}

/** 5 tries, 5 s, 10 s, 20 s, 40 s apart: about a minute and a quarter, then the controller stops. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 5_000, maxDelayMs: 5 * 60_000 };

/** What the controller remembers of one stack's failing attempts. */
export interface RetryEntry {
  /** The attempt that failed: revision and a fingerprint of the desired spec. */
  key: string;
  /** Failures that count towards giving up. */
  attempts: number;
  /**
   * Failures that do not count (the Docker engine was unreachable, so the attempt says nothing about
   * the revision or the spec); they still back off.
   */
  transient: number;
  /** Whether the latest failure was a transient one: only those are released when the engine is back. */
  lastTransient: boolean;
  /** Epoch ms before which no new attempt is made. */
  nextAt: number;
  lastError: string | null;
  gaveUp: boolean;
}

/** Where entries live: a Map in tests, the history database in the controller. */
export interface RetryStore {
  get(stack: string): RetryEntry | undefined;
  set(stack: string, entry: RetryEntry): void;
  delete(stack: string): void;
}

export type RetryDecision =
  | { kind: 'go'; attempt: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'gave-up'; attempts: number; lastError: string | null };

/** Wait after the n-th consecutive failure (n ≥ 1): base · 2^(n−1), capped. */
export function backoffDelay(failures: number, policy: RetryPolicy): number {
  if (failures <= 0) return 0;
  // Beyond 2^30 the cap has long been reached; stop doubling before the number overflows.
  const factor = 2 ** Math.min(failures - 1, 30);
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * factor);
}

export class RetryBook {
  constructor(
    readonly policy: RetryPolicy = DEFAULT_RETRY,
    private readonly store: RetryStore = new Map<string, RetryEntry>(),
  ) {}

  /** May an attempt with this key be made now? A new key (new revision or spec) starts afresh. */
  decide(stack: string, key: string, now: number): RetryDecision {
    const e = this.store.get(stack);
    if (!e || e.key !== key) return { kind: 'go', attempt: 1 };
    if (e.gaveUp) return { kind: 'gave-up', attempts: e.attempts, lastError: e.lastError };
    if (now < e.nextAt) return { kind: 'wait', ms: e.nextAt - now };
    return { kind: 'go', attempt: e.attempts + 1 };
  }

  /**
   * Records a failed attempt. `permanent`: retrying cannot help (an invalid manifest at a revision), so
   * give up at once. `transient`: the failure was not the attempt's fault (engine unreachable): back
   * off, but do not count it towards giving up.
   */
  failed(
    stack: string,
    key: string,
    error: string,
    now: number,
    opts: { permanent?: boolean; transient?: boolean } = {},
  ): RetryEntry {
    const prev = this.store.get(stack);
    const same = prev?.key === key ? prev : undefined;
    const attempts = (same?.attempts ?? 0) + (opts.transient ? 0 : 1);
    const transient = (same?.transient ?? 0) + (opts.transient ? 1 : 0);
    const gaveUp = !opts.transient && (opts.permanent === true || attempts >= this.policy.maxAttempts);
    const entry: RetryEntry = {
      key,
      attempts,
      transient,
      lastTransient: opts.transient === true,
      nextAt: gaveUp ? Number.MAX_SAFE_INTEGER : now + backoffDelay(attempts + transient, this.policy),
      lastError: error,
      gaveUp,
    };
    this.store.set(stack, entry);
    return entry;
  }

  /** The stack converged (by our run, a person's, or by itself): forget its failures. */
  succeeded(stack: string): void {
    if (this.store.get(stack)) this.store.delete(stack);
  }

  /** Forget, whatever the state: after `mooring resume`, a person wants the controller to try again. */
  forget(stack: string): void {
    this.store.delete(stack);
  }

  /**
   * The engine is back: failures that happened because it was gone need not wait out their backoff.
   * Returns the stacks that may now be retried.
   */
  releaseTransient(stacks: Iterable<string>): string[] {
    const released: string[] = [];
    for (const stack of stacks) {
      const e = this.store.get(stack);
      if (!e || e.gaveUp || !e.lastTransient) continue;
      this.store.set(stack, { ...e, nextAt: 0 });
      released.push(stack);
    }
    return released;
  }

  entry(stack: string): RetryEntry | undefined {
    return this.store.get(stack);
  }
}
