// Compose's project-name normalization, so that `docker compose -p NAME` finds what Mooring creates.
export function projectName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}
