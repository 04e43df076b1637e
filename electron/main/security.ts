// The Electron security checklist, applied to every web contents: navigation and new windows
// denied (https links open in the system browser), permission requests denied, downloads refused,
// and IPC accepted only from our own top-level page.
// https://www.electronjs.org/docs/latest/tutorial/security
import { app, shell, type Session, type WebContents, type WebFrameMain } from 'electron';
import { pathToFileURL } from 'node:url';

export function applySecurityRestrictions(session: Session, rendererFile: string): void {
  const page = pathToFileURL(rendererFile).href;
  // Checklist 5: we need no permission (camera, geolocation, the web Notification API…).
  session.setPermissionRequestHandler((_contents, _permission, callback) => {
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
  session.on('will-download', (event) => {
    event.preventDefault();
  });
  app.on('web-contents-created', (_event, contents: WebContents) => {
    // Checklist 13: no navigation away from our page (hash routes stay on it).
    contents.on('will-navigate', (event, url) => {
      if (!url.startsWith(page)) event.preventDefault();
    });
    // Checklist 14: no new windows; a web link opens in the user's browser.
    contents.setWindowOpenHandler(({ url }) => {
      if (url.startsWith('https://')) void shell.openExternal(url);
      return { action: 'deny' };
    });
    contents.on('will-attach-webview', (event) => {
      event.preventDefault();
    });
  });
}

/** Checklist 17: validate the sender of every IPC message. */
export function isTrustedSender(frame: WebFrameMain | null, rendererFile: string): boolean {
  if (!frame || frame.parent !== null) return false;
  try {
    const url = new URL(frame.url);
    return url.protocol === 'file:' && decodeURIComponent(url.pathname) === rendererFile;
  } catch {
    return false;
  }
}
