// Typed errors that cross every boundary (CLI exit codes, IPC, WebSocket) with a message a person can act on.

export type ErrorCode = 'usage' | 'unreachable' | 'manifest' | 'conflict' | 'not-found' | 'failed';

export class MooringError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MooringError';
  }
}

/** A git remote or the Docker engine could not be reached. */
export class UnreachableError extends MooringError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unreachable', message, options);
    this.name = 'UnreachableError';
  }
}

/** The engine answers, but speaks an older API than Mooring drives (issue 15): it cannot be used. */
export class EngineTooOldError extends UnreachableError {
  constructor(
    message: string,
    readonly apiVersion: string,
  ) {
    super(message);
    this.name = 'EngineTooOldError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
