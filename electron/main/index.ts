// Electron main: a thin adapter. It opens the engine and the controller (the same code as
// `mooring watch` and `mooring serve`), wires them to a locked-down window over IPC, and adds
// what only a desktop has: a tray with the overall status and native notifications.
import {
  app,
  BrowserWindow,
  Menu,
  dialog,
  Notification,
  Tray,
  ipcMain,
  nativeImage,
  safeStorage,
  session,
} from 'electron';
import path from 'node:path';
import type { PushEvent, Snapshot } from '../shared/api.ts';
import { ApiService, type ApiClient } from '../engine/api-service.ts';
import { Engine } from '../engine/engine.ts';
import { errorMessage } from '../engine/errors.ts';
import { chooseSqliteBuild, useSqliteBuild } from '../engine/history/native-sqlite.ts';
import { defaultHome } from '../engine/home.ts';
import { Controller } from '../engine/reconcile/controller.ts';
import { DEFAULT_POLL_INTERVAL_SEC } from '../engine/settings.ts';
import { setStartAtLogin, startsAtLogin, type LoginItemHost } from './login-item.ts';
import { SafeStorageSecrets } from './secrets.ts';
import { applySecurityRestrictions, isTrustedSender } from './security.ts';

const RENDERER = path.join(import.meta.dirname, '../renderer/index.html');

let win: BrowserWindow | null = null;
let tray: Tray | null = null;

/** Where "Start at login" is kept: Electron's login items, or the XDG autostart folder on Linux. */
const loginItems: LoginItemHost = {
  platform: process.platform,
  get: () => app.getLoginItemSettings().openAtLogin,
  set: (open) => {
    app.setLoginItemSettings({ openAtLogin: open, args: ['--hidden'] });
  },
  // An AppImage is started by its own file; unpackaged, Electron needs the app's folder too.
  command: process.env.APPIMAGE
    ? [process.env.APPIMAGE]
    : [process.execPath, ...(app.isPackaged ? [] : [app.getAppPath()])],
};

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 560,
    title: 'Mooring',
    show: false,
    webPreferences: {
      preload: path.join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  w.once('ready-to-show', () => {
    w.show();
  });
  // Every window, the first or one opened later from the tray: a closed one is not shown again.
  w.on('closed', () => {
    if (win === w) win = null;
  });
  void w.loadFile(RENDERER);
  return w;
}

function summarize(s: Snapshot): { title: string; level: 'ok' | 'warn' | 'bad' } {
  const drifting = s.stacks.filter((x) => x.sync !== 'Synced').length;
  const degraded = s.stacks.filter((x) => x.health === 'Degraded').length;
  if (!s.engine.reachable) return { title: 'Mooring: Docker engine unreachable', level: 'bad' };
  if (degraded) return { title: `Mooring: ${degraded} stack(s) degraded`, level: 'bad' };
  if (drifting) return { title: `Mooring: ${drifting} stack(s) out of sync`, level: 'warn' };
  return { title: 'Mooring: everything in sync', level: 'ok' };
}

function notifyDesktop(before: Snapshot | null, after: Snapshot): void {
  if (!before || !Notification.isSupported()) return;
  const was = new Map(before.stacks.map((x) => [x.name, x.sync]));
  for (const st of after.stacks) {
    if (st.sync === 'OutOfSync' && was.get(st.name) === 'Synced') {
      new Notification({
        title: `Drift in ${st.name}`,
        body: st.services
          .filter((x) => x.sync !== 'Synced')
          .map((x) => x.name)
          .join(', '),
      }).show();
    }
  }
}

async function main(): Promise<void> {
  await app.whenReady();
  applySecurityRestrictions(session.defaultSession, RENDERER);
  // SQLite built for Electron's ABI, beside the Node build the CLI uses (issue 16, item 2); said in the
  // log, and a build that does not load stops here with the reason in a dialog.
  const sqlite = chooseSqliteBuild(app.getAppPath());
  useSqliteBuild(sqlite);
  console.log(`Mooring: SQLite from ${sqlite.label}`);
  const engine = await Engine.open({ home: defaultHome() });
  const service = new ApiService(engine, {
    createController: (e) =>
      new Controller(e, { pollIntervalMs: (e.settings.pollIntervalSec ?? DEFAULT_POLL_INTERVAL_SEC) * 1000 }),
    secrets: safeStorage.isEncryptionAvailable() ? new SafeStorageSecrets(engine.home) : undefined,
  });

  // Each window's own pushes (its log streams): they end when it is destroyed or loads a page again.
  const clients = new Map<number, ApiClient>();
  const clientOf = (sender: Electron.WebContents): ApiClient => {
    let client = clients.get(sender.id);
    if (client) return client;
    const c: ApiClient = {
      push: (e) => {
        if (!sender.isDestroyed()) sender.send('mooring:event', e);
      },
    };
    const release = (): void => {
      clients.delete(sender.id);
      service.release(c);
    };
    sender.once('destroyed', release);
    sender.on('did-start-navigation', (details) => {
      if (details.isMainFrame && !details.isSameDocument && clients.get(sender.id) === c) release();
    });
    clients.set(sender.id, c);
    client = c;
    return client;
  };

  // Every call is checked for its sender and parsed by the service against the shared schemas.
  ipcMain.handle('mooring:invoke', async (event, method: unknown, params: unknown) => {
    if (!isTrustedSender(event.senderFrame, RENDERER)) {
      return {
        ok: false,
        error: {
          code: 'invalid-input',
          message: 'Refused: the request did not come from Mooring’s own window.',
        },
      };
    }
    return service.handle(typeof method === 'string' ? method : '', params, clientOf(event.sender));
  });

  // The anchor, with an amber or red badge when something needs a look (scripts/make-tray-icons.mjs).
  const icon = (file: string): Electron.NativeImage =>
    nativeImage.createFromPath(path.join(import.meta.dirname, '../../resources', file));
  const icons = { ok: icon('icon.png'), warn: icon('icon-warn.png'), bad: icon('icon-bad.png') };
  let last: Snapshot | null = null;
  let level: keyof typeof icons = 'ok';
  service.subscribe((e: PushEvent) => {
    win?.webContents.send('mooring:event', e);
    // In this process the published snapshot is at hand: no need to apply the delta to a copy.
    const now = e.type === 'delta' ? service.current() : null;
    if (now) {
      notifyDesktop(last, now);
      last = now;
      const summary = summarize(now);
      tray?.setToolTip(summary.title);
      if (summary.level !== level) {
        level = summary.level;
        tray?.setImage(icons[level]);
      }
    } else if (e.type === 'run-finished' && e.result === 'failed' && Notification.isSupported()) {
      new Notification({ title: `Sync of ${e.stack} failed`, body: e.error ?? '' }).show();
    }
  });

  tray = new Tray(icons[level]);
  tray.setToolTip('Mooring');
  tray.setContextMenu(
    Menu.buildFromTemplate([
      {
        label: 'Open Mooring',
        click: () => {
          (win ??= createWindow()).show();
        },
      },
      {
        label: 'Fetch now',
        click: () => {
          void service.handle('sources:fetch', {});
        },
      },
      {
        label: 'Start at login',
        type: 'checkbox',
        checked: startsAtLogin(loginItems),
        click: (item) => {
          try {
            setStartAtLogin(loginItems, item.checked);
          } catch (err) {
            item.checked = !item.checked;
            dialog.showErrorBox('Mooring could not change "Start at login"', errorMessage(err));
          }
        },
      },
      { type: 'separator' },
      { label: 'Quit', role: 'quit' },
    ]),
  );

  // Started at login: the tray only, until the person opens the window.
  if (!process.argv.includes('--hidden')) win = createWindow();
  await service.start();

  app.on('activate', () => {
    win ??= createWindow();
  });
  app.on('before-quit', () => {
    void service.stop().finally(() => {
      engine.close();
    });
  });
}

app.on('window-all-closed', () => {
  // The controller keeps working from the tray; quit from its menu.
});

// One app per user: a second start shows the first one's window (two would run two controllers on one
// home, and fight over its stacks' locks).
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    win ??= createWindow();
    win.show();
    win.focus();
  });
  void main().catch((err: unknown) => {
    console.error(err);
    // A window app has no terminal to read: an unusable history (issue 10) must be said where it is seen.
    dialog.showErrorBox('Mooring could not start', errorMessage(err));
    app.exit(1);
  });
}
