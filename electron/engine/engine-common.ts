// What the engine's services share: the shapes of a stack read from git and of a sync's result, and
// the small helpers more than one service needs. Types only and pure functions: nothing here imports a
// service, so every service (and the pipeline) can depend on it without a cycle.
import type {
  CommitRecord,
  DesiredStack,
  ManifestError,
  Plan,
  StackPolicy,
  StackStatus,
  Trigger,
} from '../shared/model.ts';
import { specHash } from './manifest/index.ts';
import type { NoteOutcome } from './pipeline/deploy-notes.ts';
import type { DeployRecord } from './pipeline/pipeline-store.ts';
import type { ProgressEvent } from './reconcile/apply.ts';

/** One stack as read from git at a revision. */
export interface LoadedStack {
  source: string;
  name: string;
  /** Repo-relative folder of the stack (its compose file is in it). */
  dir?: string;
  revision: string | null;
  desired: DesiredStack | null;
  errors: ManifestError[];
  policy: StackPolicy;
  warnings: string[];
  /** Who signed `revision`, verified, where the source asks for signatures. */
  signer?: string | null;
}

export interface FetchResult {
  source: string;
  head: string | null;
  newCommits: number;
  error: string | null;
  /** The remote's deploy notes could not be fetched (the fetch itself worked). */
  notesError?: string | null;
}

export interface SyncResult {
  stack: string;
  source: string;
  revision: string | null;
  plan: Plan | null;
  runId: number | null;
  result: 'succeeded' | 'failed' | 'invalid' | 'planned' | 'locked';
  error: string | null;
  /** The run was stopped part way by `signal` (result 'failed'; history says 'interrupted'). */
  interrupted?: boolean;
  /**
   * The stack's status as the run left it, looked at as soon as it ended (null: the engine could not
   * be asked). What happens after that (a person stopping a container again) is not the run's doing.
   */
  after?: StackStatus | null;
  /** The deploy note written on the revision after the run (refs/notes/mooring), and whether it was pushed. */
  note?: NoteOutcome | null;
}

/** A cached commit with every known deploy of it: this machine's runs and other machines' notes. */
export type CommitWithDeploys = CommitRecord & { deploys: DeployRecord[] };

export interface SyncOptions {
  prune?: boolean;
  dryRun?: boolean;
  trigger?: Trigger;
  onProgress?: (e: ProgressEvent) => void;
  /** Stops the run between levels; see ApplyInput.signal. */
  signal?: AbortSignal;
  /** Who holds the stack's lock, as a person reads it in "being synced by …". Default `mooring TRIGGER`. */
  owner?: string;
  /** Prune even a commit that deletes most of a source's stacks (see reconcile/prune-guard.ts). */
  allowEmpty?: boolean;
}

export const ago = (iso: string): string => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
};

/** A manifest warning as a note: where it is, then what it says. */
export const placed = (w: ManifestError): string => `${w.file}:${w.line}:${w.column}: ${w.message}`;

/** Names safe to use as folder names and compose project names. */
export const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function hashService(s: DesiredStack['services'][number]): string {
  // depends_on orders the apply and replicas is how many there are: changing either must not recreate
  // the containers that are there; swarmOnly and swarm are what this engine does not act on.
  return specHash({ ...s, dependsOn: [], replicas: undefined, swarmOnly: undefined, swarm: undefined });
}
