// Host ports a plan is about to publish, checked before any change (issue 10): a port another
// container holds made the new container fail to start after the old one was already gone. The
// comparison is pure; `bindTest` asks this machine's kernel, for what no container list shows.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { PortBinding } from '../../shared/model.ts';
import type { PortHolder } from '../docker/docker-adapter.ts';

export interface WantedPort {
  service: string;
  binding: PortBinding;
}

const ANY = new Set(['', '0.0.0.0', '::']);

/** Two host addresses collide when they are equal or either listens on every address. */
function overlaps(a: string, b: string): boolean {
  return ANY.has(a) || ANY.has(b) || a === b;
}

/** A fixed host port (not ephemeral, not a range the engine picks from). */
export function fixedPort(b: PortBinding): number | null {
  return /^\d+$/.test(b.hostPort) ? Number(b.hostPort) : null;
}

const where = (ip: string, port: number, protocol: string): string =>
  `${ANY.has(ip) ? '' : `${ip.includes(':') ? `[${ip}]` : ip}:`}${port}/${protocol}`;

/**
 * Conflicts among the ports the plan publishes and with the containers that keep running (`holders`
 * without the containers the plan removes or replaces). One message per conflict, saying who holds it.
 */
export function portConflicts(wanted: WantedPort[], holders: PortHolder[]): string[] {
  const problems: string[] = [];
  wanted.forEach((w, i) => {
    const port = fixedPort(w.binding);
    if (port === null) return;
    const { hostIp, protocol } = w.binding;
    const holder = holders.find(
      (h) => h.hostPort === port && h.protocol === protocol && overlaps(h.hostIp, hostIp),
    );
    if (holder) {
      problems.push(
        `host port ${where(hostIp, port, protocol)} for service "${w.service}" is held by container ${holder.container}; stop it or publish another port`,
      );
      return;
    }
    const twin = wanted
      .slice(0, i)
      .find(
        (o) =>
          fixedPort(o.binding) === port &&
          o.binding.protocol === protocol &&
          overlaps(o.binding.hostIp, hostIp),
      );
    if (twin) {
      problems.push(
        `host port ${where(hostIp, port, protocol)} is published by both "${twin.service}" and "${w.service}"`,
      );
    }
  });
  return problems;
}

/**
 * Whether this machine lets a new listener have the port: catches a process that is not a container
 * (or a container the engine does not list with its port). Only meaningful when the engine is local.
 */
export async function bindTest(b: PortBinding, port: number): Promise<string | null> {
  const host = ANY.has(b.hostIp) ? (b.hostIp === '::' ? '::' : '0.0.0.0') : b.hostIp;
  if (b.protocol === 'sctp') return null; // Node cannot open one; the engine will say so itself
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    if (b.protocol === 'udp') {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      socket.once('error', (err) => {
        socket.close();
        resolve(err);
      });
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.close(() => {
          resolve(null);
        });
      });
      return;
    }
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err);
    });
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => {
        resolve(null);
      });
    });
  });
  // Only "in use" says anything: EACCES (a low port, Mooring not root) is the engine's to open, and
  // EADDRNOTAVAIL (an address this machine lacks) gets the engine's own error.
  return error?.code === 'EADDRINUSE'
    ? `host port ${where(b.hostIp, port, b.protocol)} is in use by another program on this machine; stop it or publish another port`
    : null;
}
