// The local Docker engine reached as a remote one (issue 15): Debian's OpenSSH server on a loopback
// port, with a host key and a client key made here, and a TLS listener (socat) in front of the engine's
// socket that checks client certificates, with a CA and certificates made here by openssl.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SOCKET = '/var/run/docker.sock';

export function haveRemoteTools(): string | null {
  for (const [tool, pkg] of [
    ['/usr/sbin/sshd', 'openssh-server'],
    ['/usr/bin/socat', 'socat'],
    ['/usr/bin/openssl', 'openssl'],
    ['/usr/bin/ssh-keygen', 'openssh-client'],
  ] as const)
    if (!existsSync(tool))
      return `${tool} is missing (Debian's ${pkg}; scripts/setup-test-env.sh installs it)`;
  return null;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => {
        resolve(false);
      });
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listened on ${port}: ${output()}`);
}

function started(cmd: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out.slice(-2000) };
}

export interface Sshd {
  port: number;
  user: string;
  /** The client's private key, allowed in authorized_keys. */
  key: string;
  /** Another key, not allowed. */
  strangerKey: string;
  /** known_hosts holding this server's host key. */
  knownHosts: string;
  /** known_hosts holding another key for this host and port. */
  wrongKnownHosts: string;
  /** An empty known_hosts. */
  emptyKnownHosts: string;
  stop(): void;
}

/** `config`: further sshd_config lines (`AllowStreamLocalForwarding no`, `MaxSessions 3`). */
export async function startSshd(dir: string, config: string[] = []): Promise<Sshd> {
  await mkdir(dir, { recursive: true });
  await mkdir('/run/sshd', { recursive: true }); // privilege separation folder sshd insists on
  const keygen = (file: string): Promise<unknown> =>
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mooring-test', '-f', file]);
  await Promise.all(['host', 'other-host', 'client', 'stranger'].map((k) => keygen(path.join(dir, k))));
  await writeFile(path.join(dir, 'authorized_keys'), await readFile(path.join(dir, 'client.pub')), {
    mode: 0o600,
  });
  const port = await freePort();
  await writeFile(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      ...config,
      '',
    ].join('\n'),
  );
  const line = async (keyFile: string): Promise<string> =>
    `[127.0.0.1]:${port} ${(await readFile(`${keyFile}.pub`, 'utf8')).trim()}\n`;
  await writeFile(path.join(dir, 'known_hosts'), await line(path.join(dir, 'host')));
  await writeFile(path.join(dir, 'wrong_known_hosts'), await line(path.join(dir, 'other-host')));
  await writeFile(path.join(dir, 'empty_known_hosts'), '');
  const { child, output } = started('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')]);
  await waitForPort(port, child, output);
  return {
    port,
    user: (await run('id', ['-un'])).stdout.trim(),
    key: path.join(dir, 'client'),
    strangerKey: path.join(dir, 'stranger'),
    knownHosts: path.join(dir, 'known_hosts'),
    wrongKnownHosts: path.join(dir, 'wrong_known_hosts'),
    emptyKnownHosts: path.join(dir, 'empty_known_hosts'),
    stop: () => child.kill(),
  };
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface TlsProxy {
  port: number;
  /** The client's: the CA that signed the server, and a client certificate the server accepts. */
  client: TlsFiles;
  /** A CA that did not sign the server's certificate. */
  otherCa: string;
  /** A client certificate signed by the other CA: the server refuses it. */
  stranger: TlsFiles;
  stop(): void;
}

/** A CA, a server certificate for 127.0.0.1 and client certificates, made by openssl. */
async function makeCertificates(dir: string): Promise<void> {
  const ssl = (...args: string[]): Promise<unknown> => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca'])
    await ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=mooring test ${ca}`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.pem`,
    );
  await writeFile(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await writeFile(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const sign = async (name: string, ca: string, ext: string): Promise<void> => {
    await ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    await ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      `${name}.pem`,
    );
  };
  await sign('server', 'ca', 'server.ext');
  await sign('client', 'ca', 'client.ext');
  await sign('stranger', 'other-ca', 'client.ext');
}

export async function startTlsProxy(dir: string): Promise<TlsProxy> {
  await mkdir(dir, { recursive: true });
  await makeCertificates(dir);
  const port = await freePort();
  const f = (name: string): string => path.join(dir, name);
  const { child, output } = started('socat', [
    `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${f('server.pem')},key=${f('server.key')},cafile=${f('ca.pem')},verify=1`,
    `UNIX-CONNECT:${SOCKET}`,
  ]);
  await waitForPort(port, child, output);
  return {
    port,
    client: { ca: f('ca.pem'), cert: f('client.pem'), key: f('client.key') },
    otherCa: f('other-ca.pem'),
    stranger: { ca: f('ca.pem'), cert: f('stranger.pem'), key: f('stranger.key') },
    stop: () => child.kill(),
  };
}
