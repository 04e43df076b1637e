// Named engines' endpoints (issue 15): what is refused before any connection, and the host key check
// of an SSH engine, read as OpenSSH reads known_hosts (plain, hashed, [host]:port, wildcards,
// negation, @revoked, @cert-authority lines not taken as keys).
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkEngineConfig } from '../../electron/engine/docker/endpoint.ts';
import { checkHostKey, parseSshUrl } from '../../electron/engine/docker/ssh-transport.ts';

const KEY = randomBytes(51);
const OTHER = randomBytes(51);
const b64 = (b: Buffer): string => b.toString('base64');
const hashed = (name: string): string => {
  const salt = randomBytes(20);
  return `|1|${b64(salt)}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

describe('known_hosts', () => {
  it('finds a host by name on port 22 and by [name]:port elsewhere', () => {
    const kh = `# comment\nbox.example ssh-ed25519 ${b64(KEY)} me@there\n[box.example]:2222 ssh-ed25519 ${b64(OTHER)}\n`;
    expect(checkHostKey(kh, 'box.example', 22, KEY)).toBe('known');
    expect(checkHostKey(kh, 'box.example', 2222, OTHER)).toBe('known');
    expect(checkHostKey(kh, 'box.example', 2222, KEY)).toBe('changed');
    expect(checkHostKey(kh, 'other.example', 22, KEY)).toBe('unknown');
    expect(checkHostKey(kh, 'box.example', 2200, KEY)).toBe('unknown');
  });

  it('reads hashed names, comma lists, wildcards and negations', () => {
    const kh = [
      `${hashed('[10.0.0.5]:2222')} ssh-ed25519 ${b64(KEY)}`,
      `alpha,beta ssh-ed25519 ${b64(KEY)}`,
      `*.lab,!secret.lab ssh-ed25519 ${b64(KEY)}`,
    ].join('\n');
    expect(checkHostKey(kh, '10.0.0.5', 2222, KEY)).toBe('known');
    expect(checkHostKey(kh, '10.0.0.5', 22, KEY)).toBe('unknown');
    expect(checkHostKey(kh, 'beta', 22, KEY)).toBe('known');
    expect(checkHostKey(kh, 'node1.lab', 22, KEY)).toBe('known');
    expect(checkHostKey(kh, 'secret.lab', 22, KEY)).toBe('unknown');
  });

  it('a revoked key is refused even where another line allows it; a CA line is not a host key', () => {
    const kh = `box ssh-ed25519 ${b64(KEY)}\n@revoked * ssh-ed25519 ${b64(KEY)}\n@cert-authority box ssh-ed25519 ${b64(OTHER)}\n`;
    expect(checkHostKey(kh, 'box', 22, KEY)).toBe('revoked');
    expect(checkHostKey(kh, 'box', 22, OTHER)).toBe('changed');
  });
});

describe('engine endpoints', () => {
  it('parses ssh://[user@]host[:port], defaulting the port and the user', () => {
    expect(parseSshUrl('ssh://deploy@box.example:2222')).toEqual({
      host: 'box.example',
      port: 2222,
      user: 'deploy',
    });
    expect(parseSshUrl('ssh://box.example')).toMatchObject({ host: 'box.example', port: 22 });
    expect(parseSshUrl('ssh://box.example').user).not.toBe('');
    expect(() => parseSshUrl('ssh://box.example/var/run')).toThrow(/no path/);
  });

  it('refuses plain tcp off loopback, a missing port, options of another transport, other schemes', () => {
    expect(() => {
      checkEngineConfig({ endpoint: 'tcp://192.0.2.1:2375' });
    }).toThrow(/without TLS/);
    expect(() => {
      checkEngineConfig({ endpoint: 'tcp://127.0.0.1:2375' });
    }).not.toThrow();
    expect(() => {
      checkEngineConfig({ endpoint: 'tcp://localhost:2375' });
    }).not.toThrow();
    const tls = { ca: 'a', cert: 'b', key: 'c' };
    expect(() => {
      checkEngineConfig({ endpoint: 'tcp://192.0.2.1:2376', tls });
    }).not.toThrow();
    expect(() => {
      checkEngineConfig({ endpoint: 'tcp://192.0.2.1', tls });
    }).toThrow(/names no port/);
    expect(() => {
      checkEngineConfig({ endpoint: 'unix:///var/run/docker.sock', tls });
    }).toThrow(/TLS does not apply/);
    expect(() => {
      checkEngineConfig({ endpoint: 'ssh://box', tls });
    }).toThrow(/TLS does not apply/);
    expect(() => {
      checkEngineConfig({ endpoint: 'tcp://127.0.0.1:2375', sshKey: 'k' });
    }).toThrow(/SSH key does not apply/);
    expect(() => {
      checkEngineConfig({ endpoint: 'http://127.0.0.1:2375' });
    }).toThrow(/Unsupported endpoint/);
  });
});
