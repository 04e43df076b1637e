// The engine's own floor for a cold deploy: a plain dockerode script that creates a network and the
// same busybox containers as the benchmark's compose file (init, a 127.0.0.1 port each), all in
// parallel, and starts each as soon as it is created. No planning, no history, no checks.
//
//   node test/bench/floor.mjs SPEC.json     (SPEC: { project, network, image, containers: [{ name, service, port }] })
//
// Prints the milliseconds spent talking to the engine, after node and dockerode were loaded. When the
// engine refuses a request, every container still runs to its end, then one line per failure gives
// the engine's own message (not a stack trace) and the script exits 1.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const docker = new Docker();
const started = performance.now();

/** The engine's message of a refused request (dockerode keeps the response body in `json`). */
function engineMessage(err) {
  const own = err?.json?.message;
  if (own) return `${err.statusCode}: ${own}`;
  return err instanceof Error ? err.message : String(err);
}

async function step(what, fn) {
  const at = performance.now();
  try {
    return await fn();
  } catch (err) {
    const after = ((performance.now() - at) / 1000).toFixed(1);
    throw new Error(`${what} refused after ${after} s (${engineMessage(err)})`, { cause: err });
  }
}

await step('network create', () =>
  docker.createNetwork({
    Name: spec.network,
    Driver: 'bridge',
    Labels: { 'com.docker.compose.project': spec.project },
  }),
);
const results = await Promise.allSettled(
  spec.containers.map(async (c) => {
    const container = await step(`${c.name} create`, () =>
      docker.createContainer({
        name: c.name,
        Image: spec.image,
        Cmd: ['sleep', '3600'],
        Labels: { 'com.docker.compose.project': spec.project, 'com.docker.compose.service': c.service },
        ExposedPorts: c.port ? { '80/tcp': {} } : {},
        HostConfig: {
          Init: true,
          NetworkMode: spec.network,
          PortBindings: c.port ? { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(c.port) }] } : {},
        },
      }),
    );
    await step(`${c.name} start`, () => container.start());
  }),
);
const failed = results.filter((r) => r.status === 'rejected');
if (failed.length) {
  const first = failed[0].reason.message;
  process.stderr.write(
    `floor: ${failed.length} of ${spec.containers.length} containers failed; first: ${first}\n`,
  );
  for (const r of failed.slice(1)) process.stderr.write(`floor: ${r.reason.message}\n`);
  process.exit(1);
}
process.stdout.write(`${Math.round(performance.now() - started)}\n`);
