// Preload: will expose one typed `api` object over contextBridge (never ipcRenderer itself).
import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('mooring', { version: '0.1.0' });
