// Numbered schema migrations: entry i is version i + 1. Append only; never edit a shipped entry.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('http', 'local')),
    branch TEXT,
    path TEXT NOT NULL DEFAULT '',
    token_env TEXT,
    created_at TEXT NOT NULL,
    head TEXT,
    last_fetch_at TEXT,
    last_success_at TEXT,
    failing_since TEXT,
    last_error TEXT
  );
  CREATE TABLE commits (
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    parents TEXT NOT NULL,
    author TEXT NOT NULL,
    email TEXT NOT NULL,
    time TEXT NOT NULL,
    message TEXT NOT NULL,
    stacks TEXT NOT NULL,
    PRIMARY KEY (source, id)
  );
  CREATE INDEX commits_by_time ON commits (source, time DESC);
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    stack TEXT NOT NULL,
    revision TEXT NOT NULL,
    trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    result TEXT NOT NULL,
    error TEXT,
    plan TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL
  );
  CREATE INDEX runs_by_stack ON runs (stack, id DESC);
  CREATE INDEX runs_by_result ON runs (result, id DESC);
  CREATE INDEX runs_by_trigger ON runs (trigger, id DESC);
  CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    result TEXT NOT NULL,
    error TEXT
  );
  CREATE INDEX actions_by_run ON actions (run_id);
  CREATE TABLE drifts (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    stack TEXT NOT NULL,
    service TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    resolved_at TEXT,
    resolution TEXT,
    fields TEXT NOT NULL
  );
  CREATE INDEX drifts_open ON drifts (source, stack, resolved_at);
  CREATE TABLE locks (
    source TEXT NOT NULL,
    stack TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    owner TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    PRIMARY KEY (source, stack)
  );
  `,
  // 2: the controller (issue 3). Suspensions are local and per stack name (a compose project name is
  // global to the engine); the lease keeps a second controller off the same home folder; retries keep
  // the backoff and give-up bookkeeping across restarts, so a crash loop cannot retry forever.
  `
  CREATE TABLE suspensions (
    stack TEXT PRIMARY KEY,
    since TEXT NOT NULL,
    reason TEXT
  );
  CREATE TABLE controller_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    token TEXT NOT NULL,
    started_at TEXT NOT NULL
  );
  CREATE TABLE retries (
    stack TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    transient INTEGER NOT NULL,
    last_transient INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    gave_up INTEGER NOT NULL
  );
  `,
  // 3: the pipeline stages (issue 5). Builds keep their log, so a failed build can be read later;
  // deploy_notes caches the deploys read from refs/notes/mooring (every machine's), note_blobs and
  // notes_index say what was read already, so a fetch only parses notes that changed.
  `
  CREATE TABLE builds (
    id INTEGER PRIMARY KEY,
    app_repo TEXT NOT NULL,
    rev TEXT,
    commit_id TEXT,
    tag TEXT,
    context TEXT NOT NULL,
    dockerfile TEXT NOT NULL,
    image_id TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    result TEXT NOT NULL,
    error TEXT,
    failed_step TEXT,
    log TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL
  );
  CREATE INDEX builds_by_repo ON builds (app_repo, id DESC);
  CREATE INDEX builds_by_tag ON builds (tag);
  CREATE TABLE deploy_notes (
    source TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    host TEXT NOT NULL,
    stack TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    time TEXT NOT NULL,
    trigger TEXT NOT NULL,
    result TEXT NOT NULL,
    images TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (source, commit_id, host, run_id, started_at, stack)
  );
  CREATE INDEX deploy_notes_by_commit ON deploy_notes (commit_id);
  CREATE TABLE note_blobs (
    source TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY (source, commit_id)
  );
  CREATE TABLE notes_index (
    source TEXT PRIMARY KEY,
    notes_commit TEXT NOT NULL
  );
  `,
  // 4: history at scale (issue 6; docs/benchmarks.md measures 1,000,000 runs). Each filter column's
  // index holds the run id (the page order) and then the other filter columns, so a page filtered by
  // several of them is found from index entries alone and only matching runs are read (stack + result
  // took 25-90 ms, now 2-7); started_at for the date filter; revision for the deploys of a commit
  // (the Commits screen read every run).
  `
  DROP INDEX runs_by_stack;
  CREATE INDEX runs_by_stack ON runs (stack, id DESC, result, trigger, source, started_at);
  DROP INDEX runs_by_result;
  CREATE INDEX runs_by_result ON runs (result, id DESC, stack, trigger, source, started_at);
  DROP INDEX runs_by_trigger;
  CREATE INDEX runs_by_trigger ON runs (trigger, id DESC, stack, result, source, started_at);
  CREATE INDEX runs_by_started ON runs (started_at);
  CREATE INDEX runs_by_revision ON runs (revision);
  `,
  // 5: pages in time order (started_at, then id), so a date range is one index range like any other
  // filter: the first half of 1,000,000 runs took 85 ms walking ids down past every newer run, now a
  // page is read from the range's newest end. Each filter's index holds (filter, started_at, id) and
  // the other filter columns; stack + result (the failures of one stack) has its own.
  `
  DROP INDEX runs_by_stack;
  CREATE INDEX runs_by_stack ON runs (stack, started_at, id, result, trigger, source);
  CREATE INDEX runs_by_stack_result ON runs (stack, result, started_at, id, trigger, source);
  DROP INDEX runs_by_result;
  CREATE INDEX runs_by_result ON runs (result, started_at, id, stack, trigger, source);
  DROP INDEX runs_by_trigger;
  CREATE INDEX runs_by_trigger ON runs (trigger, started_at, id, stack, result, source);
  DROP INDEX runs_by_started;
  CREATE INDEX runs_by_started ON runs (started_at, id, source, stack, result, trigger);
  `,
  // 6: what this home made (issue 10). Prune and recreate remove only containers and networks whose
  // engine id is recorded here when Mooring created them: labels can be copied by anyone with access to
  // the engine, ids cannot be chosen. A row without an id is a create in flight (see ownership.ts).
  `
  CREATE TABLE owned (
    kind TEXT NOT NULL CHECK (kind IN ('container', 'network')),
    id TEXT,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    stack TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE UNIQUE INDEX owned_by_id ON owned (kind, id) WHERE id IS NOT NULL;
  CREATE INDEX owned_pending ON owned (kind, name) WHERE id IS NULL;
  `,
  // 7: webhook deliveries (issue 13, item 9): what was sent and how it went, and (`told`) the drift or failure
  // last told per stack, so that the same one is not told again (across restarts too).
  `
  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    stack TEXT,
    format TEXT NOT NULL,
    status INTEGER,
    error TEXT
  );
  CREATE TABLE told (stack TEXT NOT NULL, event TEXT NOT NULL, signature TEXT NOT NULL, PRIMARY KEY (stack, event));
  `,
  // 8: signed commits (issue 17, item 3): the keys a source's commits must be signed by (an
  // allowed_signers text or an armored keyring, public keys only), and the verified signer of each run.
  `
  ALTER TABLE sources ADD COLUMN verify_format TEXT CHECK (verify_format IN ('ssh', 'openpgp'));
  ALTER TABLE sources ADD COLUMN verify_keys TEXT;
  ALTER TABLE runs ADD COLUMN signer TEXT;
  `,
  // 9: the named engine a run, or a deploy another machine noted, acted on (issue 15); those before it
  // were on \`local\`, kept as NULL.
  `
  ALTER TABLE runs ADD COLUMN engine TEXT;
  ALTER TABLE deploy_notes ADD COLUMN engine TEXT;
  `,
  // 10: each (stack, engine) pair is its own deployment (issue 15): its drift episodes, lock,
  // suspension, retry bookkeeping and what was last told of it are kept per engine, and a controller
  // holds the home for one engine. Rows before it were on \`local\`. SQLite cannot change a primary
  // key, so the keyed tables are made anew.
  `
  ALTER TABLE drifts ADD COLUMN engine TEXT NOT NULL DEFAULT 'local';
  DROP INDEX drifts_open;
  CREATE INDEX drifts_open ON drifts (source, stack, engine, resolved_at);
  CREATE TABLE locks10 (
    source TEXT NOT NULL,
    stack TEXT NOT NULL,
    engine TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    owner TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    PRIMARY KEY (source, stack, engine)
  );
  INSERT INTO locks10 SELECT source, stack, 'local', host, pid, owner, acquired_at FROM locks;
  DROP TABLE locks;
  ALTER TABLE locks10 RENAME TO locks;
  CREATE TABLE suspensions10 (
    stack TEXT NOT NULL,
    engine TEXT NOT NULL,
    since TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (stack, engine)
  );
  INSERT INTO suspensions10 SELECT stack, 'local', since, reason FROM suspensions;
  DROP TABLE suspensions;
  ALTER TABLE suspensions10 RENAME TO suspensions;
  CREATE TABLE retries10 (
    stack TEXT NOT NULL,
    engine TEXT NOT NULL,
    key TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    transient INTEGER NOT NULL,
    last_transient INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    gave_up INTEGER NOT NULL,
    PRIMARY KEY (stack, engine)
  );
  INSERT INTO retries10 SELECT stack, 'local', key, attempts, transient, last_transient, next_at, last_error, gave_up
    FROM retries;
  DROP TABLE retries;
  ALTER TABLE retries10 RENAME TO retries;
  CREATE TABLE told10 (
    stack TEXT NOT NULL,
    engine TEXT NOT NULL,
    event TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (stack, engine, event)
  );
  INSERT INTO told10 SELECT stack, 'local', event, signature FROM told;
  DROP TABLE told;
  ALTER TABLE told10 RENAME TO told;
  CREATE TABLE controller_lease10 (
    engine TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    token TEXT NOT NULL,
    started_at TEXT NOT NULL
  );
  INSERT INTO controller_lease10 SELECT 'local', host, pid, token, started_at FROM controller_lease;
  DROP TABLE controller_lease;
  ALTER TABLE controller_lease10 RENAME TO controller_lease;
  `,
];
