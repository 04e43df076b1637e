// The engine's own floor for a cold deploy: a plain dockerode script that creates a network and the
// same busybox containers as the benchmark's compose file (init, a 127.0.0.1 port each), all in
// parallel, and starts each as soon as it is created. No planning, no history, no checks.
//
//   node test/bench/floor.mjs SPEC.json     (SPEC: { project, network, image, containers: [{ name, service, port }] })
//
// Prints the milliseconds spent talking to the engine, after node and dockerode were loaded.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const docker = new Docker();
const started = performance.now();
await docker.createNetwork({
  Name: spec.network,
  Driver: 'bridge',
  Labels: { 'com.docker.compose.project': spec.project },
});
await Promise.all(
  spec.containers.map(async (c) => {
    const container = await docker.createContainer({
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
    });
    await container.start();
  }),
);
process.stdout.write(`${Math.round(performance.now() - started)}\n`);
