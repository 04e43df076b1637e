// Entry of Electron's utility process that runs the engine (./host.ts). The main process forks it and
// sends one message: the host's settings, with the port the API travels on.
import { runHost } from './host.ts';
import { portOfElectron } from './electron-port.ts';

process.parentPort.once('message', (e) => {
  const port = e.ports[0];
  if (!port) {
    console.error('Mooring: the engine process was started without a port.');
    process.exit(1);
  }
  // Not exited when it is done (stopped, or failed to start): an exit now could lose the message that
  // says so on its way. The main process quits next, which ends this process.
  void runHost(e.data, portOfElectron(port));
});
