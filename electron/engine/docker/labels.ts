// Labels on what Mooring creates. Compose's own, so `docker compose -p STACK ps` sees the stack,
// and Mooring's, which say what is ours to change (DESIGN.md, "Labels on the containers it manages").
export const LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  containerNumber: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  managed: 'dev.mooring.managed',
  source: 'dev.mooring.source',
  revision: 'dev.mooring.revision',
  specHash: 'dev.mooring.spec-hash',
  /** Which Mooring home made it: two homes on one engine never prune each other's stacks. */
  instance: 'dev.mooring.instance',
} as const;
