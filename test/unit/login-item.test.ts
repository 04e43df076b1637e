// "Start at login" (issue 16, item 3): Electron's login items on macOS and Windows; on Linux an XDG
// autostart entry written to (and removed from) a scratch config folder, starting the app hidden.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  autostartFile,
  setStartAtLogin,
  startsAtLogin,
  type LoginItemHost,
} from '../../electron/main/login-item.ts';

describe('start at login', () => {
  let config: string;
  beforeEach(async () => {
    config = await mkdtemp(path.join(os.tmpdir(), 'mooring-autostart-'));
  });
  afterEach(async () => {
    await rm(config, { recursive: true, force: true });
  });

  it('on Linux writes an autostart entry that starts the app hidden, and removes it', async () => {
    const host: LoginItemHost = {
      platform: 'linux',
      get: () => {
        throw new Error('Electron login items are not used on Linux');
      },
      set: () => {
        throw new Error('Electron login items are not used on Linux');
      },
      command: ['/opt/My Apps/Mooring.AppImage'],
      configHome: config,
    };
    expect(startsAtLogin(host)).toBe(false);
    setStartAtLogin(host, true);
    expect(startsAtLogin(host)).toBe(true);
    const entry = await readFile(autostartFile(config), 'utf8');
    expect(entry).toContain('[Desktop Entry]\nType=Application\nName=Mooring\n');
    expect(entry).toContain('Exec="/opt/My Apps/Mooring.AppImage" --hidden\n');
    setStartAtLogin(host, false);
    expect(existsSync(autostartFile(config))).toBe(false);
    expect(startsAtLogin(host)).toBe(false);
  });

  it("elsewhere asks Electron's login items", () => {
    let open = false;
    const host: LoginItemHost = {
      platform: 'darwin',
      get: () => open,
      set: (v) => {
        open = v;
      },
      command: ['/Applications/Mooring.app/Contents/MacOS/Mooring'],
      configHome: config,
    };
    setStartAtLogin(host, true);
    expect(open).toBe(true);
    expect(startsAtLogin(host)).toBe(true);
    expect(existsSync(autostartFile(config))).toBe(false);
  });
});
