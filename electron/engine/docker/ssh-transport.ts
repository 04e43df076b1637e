// A Docker engine over SSH (issue 15), as the docker CLI reaches `ssh://user@host`: an SSH session to
// the host runs `docker system dial-stdio` there, and the Engine API's HTTP travels on that channel.
// One SSH connection per engine, a channel per HTTP connection (docker-modem's own SSH transport
// opens a new SSH connection for every request). The host's key must be in known_hosts, checked as
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

/**
 * An http.Agent whose connections are `docker system dial-stdio` channels of one SSH connection,
 * opened on first use and again after it drops. `close` ends it.
 */
export class SshAgent extends http.Agent {
  private client: Promise<Client> | null = null;
  private refusal: string | null = null;

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

  private async connect(): Promise<Client> {
    const { Client } = await import('ssh2');
    const t = this.target;
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
        this.refusal =
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
        this.client = null;
        const why = this.refusal ?? sshProblem(err);
        this.refusal = null;
        reject(new MooringError('failed', `SSH to ${this.where()} failed: ${why}.`, { cause: err }));
      };
      client
        .once('ready', () => {
          client.off('error', fail);
          client.on('error', () => {
            this.client = null;
          });
          resolve(client);
        })
        .once('error', fail)
        .on('close', () => {
          this.client = null;
        });
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
    this.client ??= this.connect();
    this.client.then(
      (client) => {
        client.exec('docker system dial-stdio', (err, channel) => {
          if (err) {
            done(
              new MooringError(
                'failed',
                `SSH to ${this.where()}: running docker there failed (${err.message}).`,
              ),
            );
            return;
          }
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
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
    return undefined;
  }

  close(): void {
    void this.client?.then((c) => c.end()).catch(() => undefined);
    this.client = null;
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
