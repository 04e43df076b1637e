// Electron's MessagePortMain as the API's port (both ends: the main process and the utility process).
import type { MessagePortMain } from 'electron';
import type { Port } from '../engine/api-port.ts';

export function portOfElectron(p: MessagePortMain): Port {
  return {
    post: (m) => {
      p.postMessage(m);
    },
    onMessage: (listener) => {
      p.on('message', (e) => {
        listener(e.data);
      });
      p.start();
    },
    close: () => {
      p.close();
    },
  };
}
