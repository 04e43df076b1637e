// A loopback proxy in front of the Docker socket, to take "the engine" away from a client and give it
// back without touching the shared dockerd that other tests use: cut() drops every connection and
// stops listening (the client sees its socket vanish, as when dockerd restarts), restore() listens
// again on the same path.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface DockerProxy {
  /** unix:///…/docker.sock, for EngineOptions.dockerHost or DOCKER_HOST. */
  endpoint: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startDockerProxy(target = '/var/run/docker.sock'): Promise<DockerProxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-docker-proxy-'));
  const socketPath = path.join(dir, 'docker.sock');
  const open = new Set<net.Socket>();
  let server: net.Server | null = null;

  const listen = async (): Promise<void> => {
    const s = net.createServer((client) => {
      const upstream = net.connect(target);
      open.add(client);
      open.add(upstream);
      const done = (): void => {
        client.destroy();
        upstream.destroy();
        open.delete(client);
        open.delete(upstream);
      };
      client.on('error', done);
      upstream.on('error', done);
      client.on('close', done);
      upstream.on('close', done);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(socketPath, () => {
        s.off('error', reject);
        resolve();
      });
    });
    server = s;
  };

  const cut = async (): Promise<void> => {
    const s = server;
    server = null;
    if (!s) return;
    const closed = new Promise<void>((resolve) => {
      s.close(() => {
        resolve();
      });
    });
    for (const c of open) c.destroy();
    open.clear();
    await closed;
  };

  await listen();
  return {
    endpoint: `unix://${socketPath}`,
    cut,
    restore: async () => {
      if (!server) await listen();
    },
    close: async () => {
      await cut();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
