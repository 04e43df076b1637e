// A Node worker thread standing in for the desktop's utility process: it runs the same host
// (electron/utility/host.ts) on the port it is given. Started by startEngineWorker (./api-port.ts).
import { workerData, type MessagePort } from 'node:worker_threads';
import { runHost } from '../../electron/utility/host.ts';
import { portOfNode } from './api-port.ts';

const { init, port } = workerData as { init: unknown; port: MessagePort };
await runHost(init, portOfNode(port));
port.close();
