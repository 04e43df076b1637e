// What to do about a failed action, in a sentence, for the engine's own errors. Mooring's errors
// already end with what to do; the engine's (a port taken, a disk full) say only what went wrong.

const ADVICE: [RegExp, string][] = [
  [
    /port is already allocated|address already in use|bind: .*in use/i,
    'Another program or container holds that host port: stop it, or publish another port in git.',
  ],
  [
    /no space left on device/i,
    'The disk is full: free space (docker system prune removes unused data), then apply again.',
  ],
  [
    /not healthy after|is unhealthy|healthcheck said/i,
    "Open the service's logs to see why its healthcheck fails, then fix the service or its healthcheck in git.",
  ],
  [
    /exited with code|keeps restarting|right after it started/i,
    "The service's command fails at start: read its last output above, then fix the command or its configuration in git.",
  ],
  [
    /unreachable|ECONNREFUSED|ENOENT .*docker\.sock/i,
    'Start Docker, or set the engine endpoint in Settings, then apply again.',
  ],
  [
    /permission denied/i,
    'The engine was refused access to a file or device: check the path and its permissions on the host.',
  ],
  [/timed? ?out/i, 'The engine or a registry did not answer in time: check the network, then apply again.'],
];

/** A sentence saying what to do about `error`, or null when it already says so or nothing fits. */
export function adviceFor(error: string): string | null {
  for (const [pattern, advice] of ADVICE) if (pattern.test(error)) return advice;
  return null;
}
