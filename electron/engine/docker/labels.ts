// Labels on what Mooring creates. Compose's own, so `docker compose -p STACK ps` sees the stack,
// and Mooring's, which say what is ours to change (DESIGN.md, "Labels on the containers it manages").
export const LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  containerNumber: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  version: 'com.docker.compose.version',
  configHash: 'com.docker.compose.config-hash',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  dependsOn: 'com.docker.compose.depends_on',
  managed: 'dev.mooring.managed',
  source: 'dev.mooring.source',
  revision: 'dev.mooring.revision',
  specHash: 'dev.mooring.spec-hash',
  /** Which Mooring home made it: two homes on one engine never prune each other's stacks. */
  instance: 'dev.mooring.instance',
} as const;

/**
 * What `com.docker.compose.version` says on what Mooring makes: the compose behaviour it follows (v2).
 * docker compose 1.x reads it as a version and fails on a container without it (issue 11).
 */
export const COMPOSE_VERSION = '2.0.0';
