// "Start at login" for the tray (issue 16, item 3). macOS and Windows have Electron's login items; on
// Linux the desktop's XDG autostart folder holds a .desktop entry that starts the app (the AppImage's
// own path when run from one, else this executable), in the background: only the tray shows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LoginItemHost {
  platform: NodeJS.Platform;
  /** Electron's app.getLoginItemSettings / setLoginItemSettings (macOS, Windows). */
  get(): boolean;
  set(open: boolean): void;
  /** What starts the app: the AppImage when run from one, else the executable (with its arguments). */
  command: string[];
  /** $XDG_CONFIG_HOME, else ~/.config. */
  configHome?: string;
}

const FILE = 'mooring.desktop';

export function autostartFile(
  configHome: string = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'),
): string {
  return path.join(configHome, 'autostart', FILE);
}

export function startsAtLogin(host: LoginItemHost): boolean {
  if (host.platform !== 'linux') return host.get();
  return fs.existsSync(autostartFile(host.configHome));
}

export function setStartAtLogin(host: LoginItemHost, open: boolean): void {
  if (host.platform !== 'linux') {
    host.set(open);
    return;
  }
  const file = autostartFile(host.configHome);
  if (!open) {
    fs.rmSync(file, { force: true });
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    [
      '[Desktop Entry]',
      'Type=Application',
      'Name=Mooring',
      'Comment=GitOps for your Docker engine',
      `Exec=${[...host.command, '--hidden'].map(desktopQuote).join(' ')}`,
      'X-GNOME-Autostart-enabled=true',
      '',
    ].join('\n'),
  );
}

/** An Exec argument as the Desktop Entry Specification quotes it. */
function desktopQuote(arg: string): string {
  if (/^[\w/.:=@+,-]+$/.test(arg)) return arg;
  return `"${arg.replace(/[\\"`$]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`;
}
