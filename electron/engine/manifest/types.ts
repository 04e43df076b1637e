import type {
  DesiredFileMount,
  DesiredNetwork,
  DesiredStack,
  DesiredVolume,
  ManifestError,
  SafetySettings,
} from '../../shared/model.ts';
import type { DotenvResult } from './dotenv.ts';
import type { YamlFile } from './yaml-file.ts';

/** Reads the config repo at one revision; desired state never comes from a work tree. */
export interface RepoReader {
  /** Text of a repo-relative file at the revision, or null if absent. */
  readFile(path: string): Promise<string | null>;
  /**
   * Object at a repo-relative path: blob (file) or tree (folder) with its git oid, or null; `mode` is
   * the tree entry's (100755 for an executable file).
   */
  stat(path: string): Promise<{ type: 'blob' | 'tree'; oid: string; mode?: string } | null>;
}

export type LoadResult =
  { ok: true; stack: DesiredStack } | { ok: false; name: string; errors: ManifestError[] };

/** What reading one service needs to know about its stack. */
export interface StackContext {
  yaml: YamlFile;
  reader: RepoReader;
  stackDir: string;
  stack: string;
  safety: SafetySettings;
  homeDir: string;
  /** Variables of the stack's .env, also the values of bare `environment` entries. */
  vars: Readonly<Record<string, string>>;
  networks: ReadonlyMap<string, DesiredNetwork>;
  volumes: ReadonlyMap<string, DesiredVolume>;
  /** Env files read for this stack so far, by repo path (null: absent): each is read and parsed once. */
  envFiles: Map<string, DotenvResult | null>;
  /**
   * What the rest of the stack may still use. A small file can ask for a lot: many env_file entries
   * naming one large blob under different paths, or port ranges of 65,535 ports each.
   */
  budget: { envBytes: number; portBindings: number };
  /** The source the stack is read from: a refusal names the one command that trusts it (safety.ts). */
  source?: string | undefined;
  /** Where relative bind mounts that git does not hold are kept (LoadStackOptions.stateDir). */
  stateDir?: string | undefined;
  /** The top-level secrets and configs, which services name (secrets.ts). */
  files?: {
    secrets: ReadonlyMap<string, FileDefinition>;
    configs: ReadonlyMap<string, FileDefinition>;
  };
}

/** A top-level secret or config, as far as it is usable on one engine. */
export type FileDefinition =
  | { usable: true; from: DesiredFileMount['from']; digest: string; defaultMode: number }
  /** Swarm only (a `driver`): compose refuses a service that uses it; so does Mooring. */
  | { usable: false; why: string }
  /** Already reported (a missing file, a variable not set): its users add nothing. */
  | { usable: false; why: null };
