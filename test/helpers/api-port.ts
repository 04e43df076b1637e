// The desktop's API transport under Node (issue 16, item 4): Electron's utility process and
// MessagePortMain cannot run here, so the tests put the same two ends (electron/engine/api-port.ts) on
// a worker_threads MessageChannel, in this thread or across a worker.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ApiClientOverPort, hostApi, type HostInit, type Port } from '../../electron/engine/api-port.ts';
import { ApiService, type ApiServiceOptions, type SecretStore } from '../../electron/engine/api-service.ts';
import type { Engine } from '../../electron/engine/engine.ts';

/** Node's MessagePort as the API's port (the utility process adapts Electron's the same way). */
export function portOfNode(p: MessagePort): Port {
  return {
    post: (m) => {
      p.postMessage(m);
    },
    onMessage: (listener) => {
      p.on('message', listener);
    },
    close: () => {
      p.close();
    },
  };
}

/** What the tests call on either transport: the service itself, or the main process's end of the port. */
export type ServedApi = Pick<ApiService, 'handle' | 'subscribe' | 'release' | 'current'> & {
  stop(): Promise<void>;
};

/**
 * `service` behind a message channel, as the desktop runs it: every call, reply, push and secret crosses
 * the channel by structured clone. `close` ends the channel.
 */
export async function serveOverPort(
  engine: Engine,
  options: ApiServiceOptions,
): Promise<{ api: ApiClientOverPort; service: ApiService; close: () => void }> {
  const { port1, port2 } = new MessageChannel();
  const host = hostApi(portOfNode(port2), options.secrets !== undefined);
  const service = new ApiService(engine, { ...options, secrets: host.secrets ?? undefined });
  void host.serve(service, () => service.stop());
  const api = new ApiClientOverPort(portOfNode(port1), options.secrets ?? null);
  await api.ready();
  return {
    api,
    service,
    close: () => {
      port1.close();
    },
  };
}

/**
 * The host in a worker thread, its own event loop and environment, as the utility process has: the
 * main thread gets the client end. `exited` resolves with the worker's exit code.
 */
export function startEngineWorker(
  init: HostInit,
  secrets: SecretStore | null,
): { api: ApiClientOverPort; worker: Worker; exited: Promise<number> } {
  const { port1, port2 } = new MessageChannel();
  // The worker loads TypeScript through tsx's loader, registered in the worker itself (its execArgv
  // `--import tsx` does not reach a worker's module loader on Node 20).
  const entry = new URL('./engine-worker.mts', import.meta.url).href;
  const worker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true, workerData: { init, port: port2 }, transferList: [port2] },
  );
  const api = new ApiClientOverPort(portOfNode(port1), secrets);
  worker.on('error', (err) => {
    api.closed(`The engine's thread failed: ${err.message}`);
  });
  const exited = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      api.closed(`The engine's thread stopped (exit code ${code}).`);
      port1.close();
      resolve(code);
    });
  });
  return { api, worker, exited };
}

/** The OS keychain's stand-in (safeStorage needs the Electron binary): secrets kept in a map. */
export function memorySecrets(): { kept: Map<string, string>; store: SecretStore } {
  const kept = new Map<string, string>();
  return {
    kept,
    store: {
      save: (source, token) => {
        kept.set(source, token);
        return Promise.resolve(`MOORING_TOKEN_${source.toUpperCase()}`);
      },
      remove: (source) => {
        kept.delete(source);
        return Promise.resolve();
      },
      saveVariable: (name, value) => {
        kept.set(name, value);
        return Promise.resolve();
      },
    },
  };
}
