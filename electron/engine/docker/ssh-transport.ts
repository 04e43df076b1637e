// A Docker engine over SSH (issue 15), `ssh://user@host`: the Engine API's HTTP travels on SSH
// channels, one per HTTP connection, each the engine's socket forwarded (as `ssh -L` does), or where
// the server refuses that, a session running `docker system dial-stdio` there (as the docker CLI
// does: a login shell and a docker process per channel, ~0.6 s on a host whose .bashrc is slow).
// Connections are kept for the next request (docker-modem's own SSH transport opens a new SSH
// connection for every request). The host's key must be in known_hosts, checked as
// OpenSSH checks it (plain and hashed names, [host]:port, @revoked); nothing is added to it.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Client, ConnectConfig } from 'ssh2';
import { MooringError, errorMessage } from '../errors.ts';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** A private key file; else the agent at SSH_AUTH_SOCK. */
  keyFile?: string | undefined;
  /** known_hosts files to check the host key against; default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. */
  knownHosts?: string[] | undefined;
}

/** `ssh://[user@]host[:port]` to its parts; the user defaults to this machine's. */
export function parseSshUrl(endpoint: string): { host: string; port: number; user: string } {
  const url = new URL(endpoint);
  if (url.protocol !== 'ssh:' || !url.hostname)
    throw new MooringError('usage', `Not an SSH endpoint: ${endpoint}.`);
  if (url.pathname && url.pathname !== '/')
    throw new MooringError('usage', `An SSH endpoint has no path: ${endpoint} (ssh://user@host[:port]).`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 22),
    user: decodeURIComponent(url.username) || os.userInfo().username,
  };
}

/** How known_hosts names a host: bare on port 22, `[host]:port` otherwise. */
function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** A known_hosts pattern (`*`, `?` wildcards) against a name. */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hostsFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = field.split('|');
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

export type HostKeyVerdict = 'known' | 'unknown' | 'changed' | 'revoked';

/** The host key (its wire blob) against known_hosts text, for `host` on `port`. */
export function checkHostKey(knownHosts: string, host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = hostKeyName(host, port);
  const blob = key.toString('base64');
  let known = false;
  let named = false;
  for (const raw of knownHosts.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [hosts = '', , keyB64 = ''] = fields;
    if (marker === '@cert-authority' || !hostsFieldMatches(hosts, name)) continue;
    // A revoked key is refused wherever the line is, even after one that allows it.
    if (marker === '@revoked') {
      if (keyB64 === blob) return 'revoked';
    } else if (keyB64 === blob) known = true;
    else named = true;
  }
  return known ? 'known' : named ? 'changed' : 'unknown';
}

function readKnownHosts(files: string[]): string {
  return files
    .map((f) => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    })
    .join('\n');
}

const DEFAULT_KNOWN_HOSTS = [path.join(os.homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];

/** Where the engine listens on the host, forwarded when the server allows it. */
const REMOTE_SOCKET = '/var/run/docker.sock';

/**
 * OpenSSH's sshd allows 10 sessions per connection (MaxSessions); a sync's parallel requests and an
 * open event stream need more. A connection carries at most this many dial-stdio sessions (forwarded
 * sockets are not sessions); past it, another SSH connection is opened. Counted here, not by the http
 * agent: a channel the agent has let go of still counts at the server until its close is acknowledged.
 */
const CHANNELS_PER_CONNECTION = 8;

interface Connection {
  client: Promise<Client>;
  /** Session channels taken: open, or being opened. */
  channels: number;
  /** The server refused a session while others were taken: none more until one of them closes. */
  full: boolean;
}

/**
 * An http.Agent whose connections are channels of SSH connections (the forwarded socket, or
 * `docker system dial-stdio`), opened on first use and again after one drops. `close` ends them.
 */
export class SshAgent extends http.Agent {
  private connections: Connection[] = [];
  /** Sessions per connection: lowered when the server refuses one below it (a lower MaxSessions). */
  private sessionLimit = CHANNELS_PER_CONNECTION;
  /** Whether the server forwards the engine's socket; undefined until it was tried. */
  private forwarding: boolean | undefined;

  constructor(
    private readonly target: SshTarget,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    // Channels are kept for the next request, as the docker CLI keeps its dial-stdio connection: each
    // new one starts the docker CLI on the host, tens of milliseconds.
    super({ keepAlive: true });
  }

  private where(): string {
    return `ssh://${this.target.user}@${hostKeyName(this.target.host, this.target.port)}`;
  }

  /**
   * A connection with room for one more session channel, its count taken (`session`); a new one
   * where none has room.
   */
  private take(session: boolean): Connection {
    let conn = this.connections.find((c) => !c.full && c.channels < this.sessionLimit);
    if (!conn) {
      const fresh: Connection = {
        client: this.connect(() => {
          this.drop(fresh);
        }),
        channels: 0,
        full: false,
      };
      // A refused connection is not kept: the next request tries again.
      fresh.client.catch(() => {
        this.drop(fresh);
      });
      this.connections.push(fresh);
      conn = fresh;
    }
    if (session) conn.channels++;
    return conn;
  }

  private drop(conn: Connection): void {
    this.connections = this.connections.filter((c) => c !== conn);
  }

  private async connect(onClose: () => void): Promise<Client> {
    const { Client } = await import('ssh2');
    const t = this.target;
    let refusal: string | null = null;
    const cfg: ConnectConfig = {
      host: t.host,
      port: t.port,
      username: t.user,
      readyTimeout: 10_000,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        const files = t.knownHosts ?? DEFAULT_KNOWN_HOSTS;
        const verdict = checkHostKey(readKnownHosts(files), t.host, t.port, key);
        if (verdict === 'known') return true;
        refusal =
          verdict === 'unknown'
            ? `its host key is not in ${files.join(' or ')}. Check it and add it, as with \`ssh -p ${t.port} ${t.user}@${t.host}\` once`
            : verdict === 'revoked'
              ? `its host key is revoked in ${files.join(' or ')}`
              : `its host key is not the one ${files.join(' or ')} holds for it: it changed, or something is in between. Check with the host's owner before you replace the entry`;
        return false;
      },
    };
    if (t.keyFile) {
      try {
        cfg.privateKey = readFileSync(t.keyFile);
      } catch (err) {
        throw new MooringError('usage', `SSH key ${t.keyFile} cannot be read (${errorMessage(err)}).`);
      }
    } else if (this.env.SSH_AUTH_SOCK) {
      cfg.agent = this.env.SSH_AUTH_SOCK;
    } else {
      throw new MooringError(
        'usage',
        `No SSH key for ${this.where()}: give one (--ssh-key FILE) or start ssh-agent with it loaded (ssh-add).`,
      );
    }
    const client = new Client();
    return new Promise<Client>((resolve, reject) => {
      const fail = (err: Error): void => {
        reject(
          new MooringError('failed', `SSH to ${this.where()} failed: ${refusal ?? sshProblem(err)}.`, {
            cause: err,
          }),
        );
      };
      client
        .once('ready', () => {
          client.off('error', fail);
          client.on('error', onClose);
          // Requests are small and wait for their answers: Nagle's algorithm would hold each up.
          client.setNoDelay(true);
          resolve(client);
        })
        .once('error', fail)
        .on('close', onClose);
      try {
        client.connect(cfg);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  override createConnection(
    _options: unknown,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    const done = (err: Error | null, stream?: Duplex): void => {
      callback?.(err, stream as Duplex);
    };
    if (this.forwarding === false) {
      this.dialStdio(done);
      return undefined;
    }
    // The engine's socket forwarded as `ssh -L` does: no process on the host, and not a session, so
    // sshd's MaxSessions does not count it. A server that refuses it gets `docker system dial-stdio`.
    const conn = this.connections[0] ?? this.take(false);
    conn.client.then(
      (client) => {
        client.openssh_forwardOutStreamLocal(REMOTE_SOCKET, (err, channel) => {
          if (!err) {
            this.forwarding = true;
            done(null, asSocket(channel));
          } else if (this.forwarding === undefined) {
            this.forwarding = false;
            this.dialStdio(done);
          } else {
            done(
              new MooringError(
                'failed',
                `SSH to ${this.where()}: the engine's socket did not answer (${err.message}).`,
              ),
            );
          }
        });
      },
      (err: unknown) => {
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
    return undefined;
  }

  /** A channel running `docker system dial-stdio` on the host, as the docker CLI reaches it. */
  private dialStdio(done: (err: Error | null, stream?: Duplex) => void): void {
    const conn = this.take(true);
    let released = false;
    const release = (): void => {
      if (!released) conn.channels--;
      released = true;
    };
    conn.client.then(
      (client) => {
        client.exec('docker system dial-stdio', (err, channel) => {
          if (err) release();
          if (err && /open failed/i.test(err.message) && conn.channels > 0) {
            // The server allows fewer sessions than counted on (its MaxSessions): at most as many as
            // this connection has taken, for every connection from now on; asked again on another.
            conn.full = true;
            this.sessionLimit = Math.min(this.sessionLimit, conn.channels);
            this.dialStdio(done);
            return;
          }
          if (err) {
            done(
              new MooringError(
                'failed',
                `SSH to ${this.where()}: running docker there failed (${err.message}).`,
              ),
            );
            return;
          }
          channel.once('close', () => {
            release();
            conn.full = false;
          });
          // What the remote side says when docker is missing or cannot reach its daemon.
          let stderr = '';
          channel.stderr.on('data', (d: Buffer) => {
            stderr = (stderr + d.toString('utf8')).slice(-500);
          });
          channel.once('exit', (code: number | null) => {
            if (code)
              channel.emit(
                'error',
                new Error(
                  `docker system dial-stdio on ${this.where()} exited ${code}: ${stderr.trim() || 'no output'}`,
                ),
              );
          });
          done(null, asSocket(channel));
        });
      },
      (err: unknown) => {
        release();
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  close(): void {
    for (const c of this.connections) void c.client.then((client) => client.end()).catch(() => undefined);
    this.connections = [];
    this.destroy();
  }
}

/** What http asks of a socket it keeps alive, which a channel has no use for. */
function asSocket(channel: Duplex): Duplex {
  const noop = (): Duplex => channel;
  for (const method of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref'])
    if (!(method in channel)) Object.assign(channel, { [method]: noop });
  return channel;
}

/** ssh2's failures in words: which of them a person can act on. */
function sshProblem(err: Error): string {
  const m = err.message;
  if (/All configured authentication methods failed/i.test(m))
    return 'the key was refused (check the user, and that the key is in its authorized_keys)';
  if (/Encrypted private .*key detected|no passphrase given/i.test(m))
    return 'the key file is protected by a passphrase: load it into ssh-agent (ssh-add FILE) and leave out --ssh-key';
  if (/Cannot parse privateKey|Unsupported key format/i.test(m))
    return `the key file is not a private key (${m})`;
  if (/ECONNREFUSED/.test(m)) return 'nothing listens on that port (connection refused)';
  if (/ENOTFOUND|EAI_AGAIN/.test(m)) return 'the host name does not resolve';
  if (/Timed out/i.test(m)) return 'no answer in 10 s';
  return m;
}
