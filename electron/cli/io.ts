// Where the CLI prints, passed to every command: its own module so that main.ts and the command files
// it registers both import it, instead of the command files importing main.ts back (issue 12: no
// import cycles, scripts/check-imports.mjs).

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  color: boolean;
  /** stderr is a terminal a person watches: a spinner may say what a long wait is (never in a log). */
  live?: boolean;
}
