// The preload: one typed `api` object on window.mooring. The renderer never sees ipcRenderer;
// method names are checked here against the contract, and inputs are parsed again in main.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { MooringApi, Params, PushEvent, Reply, Results } from '../shared/api.ts';
import { METHOD_NAMES, type Method } from '../shared/methods.ts';

const METHODS = new Set<string>(METHOD_NAMES);

const api: MooringApi = {
  transport: 'electron',
  invoke<M extends Method>(method: M, params: Params<M>): Promise<Reply<Results[M]>> {
    if (!METHODS.has(method)) {
      return Promise.resolve({
        ok: false,
        error: { code: 'invalid-input', message: `Unknown method "${method}".` },
      });
    }
    return ipcRenderer.invoke('mooring:invoke', method, params) as Promise<Reply<Results[M]>>;
  },
  subscribe(listener: (event: PushEvent) => void): () => void {
    const handler = (_e: IpcRendererEvent, event: PushEvent): void => {
      listener(event);
    };
    ipcRenderer.on('mooring:event', handler);
    return () => {
      ipcRenderer.off('mooring:event', handler);
    };
  },
};

contextBridge.exposeInMainWorld('mooring', api);
