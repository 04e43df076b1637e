// Compose's short port syntax: `80`, `8080:80`, `127.0.0.1:8080:80`, `[::1]:8080:80`, `8080:80/udp`,
// ranges `8000-8001:80-81`, and a host range for one container port (`8000-8010:80`, any free port).
import { isIP } from 'node:net';
import type { PortBinding } from '../../shared/model.ts';

export type PortResult = { ok: true; bindings: PortBinding[] } | { ok: false; error: string };
type Protocol = PortBinding['protocol'];

const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];

export function isProtocol(value: string): value is Protocol {
  return PROTOCOLS.includes(value);
}

/** A port range `a-b` or a single port as [start, end], or an error message. */
export function parsePortRange(text: string): [number, number] | string {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (m === null) return `"${text}" is not a port or a port range`;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  for (const p of [start, end]) {
    if (p < 1 || p > 65535) return `port ${p} is out of range (1-65535)`;
  }
  if (end < start) return `port range "${text}" ends before it starts`;
  return [start, end];
}

/** `maxBindings`: how many bindings the spec may expand to (a range is expanded port by port). */
export function parsePortSpec(spec: string, maxBindings = Number.POSITIVE_INFINITY): PortResult {
  let rest = spec.trim();
  let protocol: Protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    if (!isProtocol(p)) return { ok: false, error: `unknown protocol "${p}"; use tcp, udp or sctp` };
    protocol = p;
    rest = rest.slice(0, slash);
  }

  let hostIp = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:');
    if (close < 0) return { ok: false, error: `"${spec}" has an unclosed [ around its IPv6 address` };
    hostIp = rest.slice(1, close);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  if (parts.length > 3 || (hostIp !== '' && parts.length !== 2)) {
    return {
      ok: false,
      error: `"${spec}" is not a port mapping; write [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`,
    };
  }
  if (parts.length === 3) hostIp = parts.shift()!;
  if (hostIp !== '' && isIP(hostIp) === 0) return { ok: false, error: `"${hostIp}" is not an IP address` };
  const containerText = parts.pop()!;
  const hostText = parts.pop() ?? '';

  const container = parsePortRange(containerText);
  if (typeof container === 'string') return { ok: false, error: container };
  const host = hostText === '' ? null : parsePortRange(hostText);
  if (typeof host === 'string') return { ok: false, error: host };

  const count = container[1] - container[0] + 1;
  if (count === 1) {
    const hostPort = host === null ? '' : host[0] === host[1] ? String(host[0]) : hostText;
    return { ok: true, bindings: [{ hostIp, hostPort, containerPort: container[0], protocol }] };
  }
  if (host !== null && host[1] - host[0] + 1 !== count) {
    return { ok: false, error: `"${spec}": the host and container port ranges differ in length` };
  }
  if (count > maxBindings) {
    return {
      ok: false,
      error: `"${spec}" publishes ${count} ports, more than the ${maxBindings} this stack may still publish`,
    };
  }
  const bindings: PortBinding[] = [];
  for (let i = 0; i < count; i++) {
    bindings.push({
      hostIp,
      hostPort: host === null ? '' : String(host[0] + i),
      containerPort: container[0] + i,
      protocol,
    });
  }
  return { ok: true, bindings };
}
