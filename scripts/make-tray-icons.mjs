// Draws the tray's status icons from resources/icon.png: the anchor with a badge in the corner,
// amber when a stack is out of sync, red when one is degraded or the engine cannot be reached
// (electron/main/index.ts picks one). Run once after changing icon.png:
//   node scripts/make-tray-icons.mjs
// Uses Debian's Chromium (CHROMIUM_PATH) through playwright-core for the drawing.
import { chromium } from '@playwright/test';
/* global document, Image -- used in the page, not in node */
import { Buffer } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const DIR = path.resolve(import.meta.dirname, '../resources');
const BADGES = { warn: '#d97706', bad: '#dc2626' };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  const icon = `data:image/png;base64,${readFileSync(path.join(DIR, 'icon.png')).toString('base64')}`;
  for (const [level, color] of Object.entries(BADGES)) {
    const dataUrl = await page.evaluate(
      async ({ icon, color }) => {
        const img = new Image();
        img.src = icon;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const r = img.width * 0.22;
        const c = img.width - r - 1;
        ctx.beginPath();
        ctx.arc(c, c, r + img.width * 0.05, 0, 2 * Math.PI);
        ctx.fillStyle = '#ffffff';
        ctx.fill();
        ctx.beginPath();
        ctx.arc(c, c, r, 0, 2 * Math.PI);
        ctx.fillStyle = color;
        ctx.fill();
        return canvas.toDataURL('image/png');
      },
      { icon, color },
    );
    writeFileSync(path.join(DIR, `icon-${level}.png`), Buffer.from(dataUrl.split(',')[1], 'base64'));
  }
} finally {
  await browser.close();
}
