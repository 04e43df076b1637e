// Where a Docker engine is and how to reach it (issue 15): the local socket, `tcp://` with TLS
// (client certificate checked by the engine, the engine's by our CA), or `ssh://user@host` through the
// docker CLI on that host. Plain `tcp://` is an unauthenticated root shell on the host, so it is
// accepted on loopback only. Certificates and keys stay in the user's files: their paths are kept.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { inspect } from 'node:util';
import type Docker from 'dockerode';
import { MooringError, errorMessage } from '../errors.ts';
import { SshAgent, parseSshUrl } from './ssh-transport.ts';

export interface EngineTls {
  ca: string;
  cert: string;
  key: string;
}

/** A named engine as the home's settings keep it. */
export interface EngineConfig {
  endpoint: string;
  tls?: EngineTls | undefined;
  /** SSH private key file; without it, ssh-agent (SSH_AUTH_SOCK). */
  sshKey?: string | undefined;
  /** known_hosts file to check an SSH host's key against, instead of ~/.ssh/known_hosts. */
  knownHosts?: string | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Refuses what cannot work or would be unsafe, saying what to give instead. */
export function checkEngineConfig(c: EngineConfig): void {
  const e = c.endpoint;
  const extra = (what: string, allowed: boolean): void => {
    if (!allowed) throw new MooringError('usage', `${what} does not apply to ${e}.`);
  };
  if (e.startsWith('unix://') || e.startsWith('/')) {
    extra('TLS', !c.tls);
    extra('An SSH key', !c.sshKey && !c.knownHosts);
    return;
  }
  if (e.startsWith('ssh://')) {
    parseSshUrl(e);
    extra('TLS', !c.tls);
    return;
  }
  if (e.startsWith('tcp://')) {
    extra('An SSH key', !c.sshKey && !c.knownHosts);
    let url: URL;
    try {
      url = new URL(e.replace(/^tcp:/, 'http:'));
    } catch {
      throw new MooringError('usage', `Not an endpoint: ${e} (tcp://HOST:PORT).`);
    }
    if (!url.port) throw new MooringError('usage', `${e} names no port (2376 for TLS, as tcp://HOST:2376).`);
    if (!c.tls && !LOOPBACK.has(url.hostname))
      throw new MooringError(
        'usage',
        `${e} without TLS would let anyone on the network run containers as root there. Give --tls-ca, --tls-cert and --tls-key, or reach it over ssh://user@${url.hostname}.`,
      );
    return;
  }
  throw new MooringError(
    'usage',
    `Unsupported endpoint ${e}: use unix:///path, tcp://HOST:PORT (with TLS) or ssh://user@host.`,
  );
}

function readFile(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new MooringError('usage', `The ${what} file ${file} cannot be read (${errorMessage(err)}).`);
  }
}

/** dockerode's options for an engine; `close` ends what they hold open (an SSH connection). */
export function connectionOptions(c: EngineConfig): { options: Docker.DockerOptions; close: () => void } {
  const e = c.endpoint;
  const none = (): void => undefined;
  if (e.startsWith('unix://')) return { options: { socketPath: e.slice('unix://'.length) }, close: none };
  if (e.startsWith('/')) return { options: { socketPath: e }, close: none };
  if (e.startsWith('ssh://')) {
    const agent = briefInInspect(
      new SshAgent({
        ...parseSshUrl(e),
        keyFile: c.sshKey,
        knownHosts: c.knownHosts ? [c.knownHosts] : undefined,
      }),
      'SSH agent',
    );
    // The host name is only the HTTP Host header: the connection is the SSH channel.
    // (`agent` is docker-modem's option that dockerode's types leave out.)
    const options = { protocol: 'http', host: 'docker', port: 80, agent } as Docker.DockerOptions;
    return {
      options,
      close: () => {
        agent.close();
      },
    };
  }
  const url = new URL(e.replace(/^tcp:/, 'http:'));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!c.tls) return { options: { protocol: 'http', host, port: Number(url.port || 2375) }, close: none };
  // Connections are kept and reused (a handshake each was most of a call's time), and TLS sessions are
  // not resumed: a daemon behind socat or another OpenSSL proxy that checks client certificates
  // answers a resumption attempt with an "internal error" alert.
  const agent = briefInInspect(new https.Agent({ keepAlive: true, maxCachedSessions: 0 }), 'TLS agent');
  const options = {
    protocol: 'https',
    host,
    port: Number(url.port || 2376),
    ca: readFile('TLS CA', c.tls.ca),
    cert: readFile('TLS client certificate', c.tls.cert),
    key: readFile('TLS client key', c.tls.key),
    agent,
  } as Docker.DockerOptions;
  return {
    options,
    close: () => {
      agent.destroy();
    },
  };
}

/**
 * docker-modem formats every request's options, agent included, for its debug log whether or not
 * that log is on (`util.inspect` with no depth limit). An agent holding live TLS sockets or SSH
 * connections took ~250 ms to format: most of a no-op sync's time over TLS or SSH. Formatted as a word.
 */
function briefInInspect<T extends object>(agent: T, name: string): T {
  return Object.assign(agent, { [inspect.custom]: () => `[${name}]` });
}
