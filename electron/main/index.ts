// Electron main: a thin adapter. The engine and the controller (the same code as `mooring watch` and
// `mooring serve`) run in a utility process (../utility), off the event loop that draws the window;
// this process wires their API to a locked-down window over IPC, and adds what only a desktop has: a
// tray with the overall status, native notifications and the OS keychain for secrets.
import {
  app,
  BrowserWindow,
  Menu,
  dialog,
  Notification,
  MessageChannelMain,
  Tray,
  ipcMain,
  nativeImage,
  safeStorage,
  session,
  utilityProcess,
} from 'electron';
import path from 'node:path';
import type { PushEvent, Snapshot } from '../shared/api.ts';
import { driftNews, pushNews, trayStatus } from '../shared/desktop-news.ts';
import { ApiClientOverPort, type HostInit } from '../engine/api-port.ts';
import type { ApiClient } from '../engine/api-service.ts';
import { errorMessage } from '../engine/errors.ts';
import { chooseSqliteBuild } from '../engine/history/native-sqlite.ts';
import { defaultHome } from '../engine/home.ts';
import { portOfElectron } from '../utility/electron-port.ts';
import { setStartAtLogin, startsAtLogin, type LoginItemHost } from './login-item.ts';
import { SafeStorageSecrets } from './secrets.ts';
import { applySecurityRestrictions, isTrustedSender } from './security.ts';

const RENDERER = path.join(import.meta.dirname, '../renderer/index.html');
const ENGINE_PROCESS = path.join(import.meta.dirname, 'utility.js');

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

/** Forks the engine's process and waits until it serves; its failure to start is thrown with its reason. */
async function startEngineProcess(
  init: HostInit,
  secrets: SafeStorageSecrets | null,
): Promise<{
  api: ApiClientOverPort;
  exited: Promise<number>;
}> {
  const { port1, port2 } = new MessageChannelMain();
  // The environment as it is now: the secrets store has put the decrypted tokens in it.
  const child = utilityProcess.fork(ENGINE_PROCESS, [], { serviceName: 'Mooring engine', stdio: 'inherit' });
  const api = new ApiClientOverPort(portOfElectron(port1), secrets);
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code) => {
      api.closed(`Mooring's engine process stopped (exit code ${code}); see the log for why.`);
      resolve(code);
    });
  });
  child.postMessage(init, [port2]);
  // Its exit before it served rejects this with the exit code (api.closed).
  await api.ready();
  return { api, exited };
}

async function main(): Promise<void> {
  await app.whenReady();
  applySecurityRestrictions(session.defaultSession, RENDERER);
  // SQLite built for Electron's ABI, beside the Node build the CLI uses (issue 16, item 2); said in the
  // log, and a build that does not load stops here with the reason in a dialog.
  const sqlite = chooseSqliteBuild(app.getAppPath());
  console.log(`Mooring: SQLite from ${sqlite.label}`);
  const home = defaultHome();
  // Decrypts the kept tokens into this process's environment, which the engine's process inherits.
  const secrets = safeStorage.isEncryptionAvailable() ? new SafeStorageSecrets(home) : null;
  const startedAt = Date.now();
  const { api: service, exited } = await startEngineProcess(
    { home, sqlite, secrets: secrets !== null },
    secrets,
  );

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
    // The port's end holds the snapshot the pushes brought it to.
    const now = e.type === 'delta' ? service.current() : null;
    const news = now ? driftNews(last, now) : [pushNews(e)].filter((n) => n !== null);
    if (Notification.isSupported()) for (const n of news) new Notification(n).show();
    if (now) {
      last = now;
      const summary = trayStatus(now);
      tray?.setToolTip(summary.title);
      if (summary.level !== level) {
        level = summary.level;
        tray?.setImage(icons[level]);
      }
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

  app.on('activate', () => {
    win ??= createWindow();
  });
  // Quitting waits (5 s at most) for the engine to stop its controller and close the history.
  let quitting = false;
  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    if (quitting) return;
    quitting = true;
    void Promise.race([service.stop(), new Promise((r) => setTimeout(r, 5000))]).finally(() => {
      stopped = true;
      app.quit();
    });
  });
  // The engine's process went on its own (a crash): start the app again, unless it went right away,
  // which a restart would only repeat.
  void exited.then((code) => {
    if (quitting) return;
    const message = `Mooring's engine process stopped (exit code ${code}).`;
    console.error(message);
    if (Date.now() - startedAt < 10_000) {
      dialog.showErrorBox('Mooring stopped', `${message} See the log for why.`);
      app.exit(1);
      return;
    }
    app.relaunch();
    app.exit(1);
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
