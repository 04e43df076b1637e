// Draws the app's icon for the installers (build/icon.png, 1024 px: electron-builder makes the .icns,
// the .ico and the Linux sizes from it): the tray's anchor (resources/icon.png) at full size. Run once
// after changing the drawing:
//   node scripts/make-app-icon.mjs
// Uses Debian's Chromium (CHROMIUM_PATH) through playwright-core, as scripts/make-tray-icons.mjs does.
import { chromium } from '@playwright/test';
import path from 'node:path';

const OUT = path.resolve(import.meta.dirname, '../build/icon.png');
const SIZE = 1024;

// A white anchor on the app's blue disc, drawn on a 64-unit grid like the tray icon.
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 64 64">
  <circle cx="32" cy="32" r="30" fill="#2563eb"/>
  <g fill="none" stroke="#fff" stroke-width="4.5" stroke-linecap="round" stroke-linejoin="round">
    <circle cx="32" cy="14.5" r="4"/>
    <path d="M32 18.5V50"/>
    <path d="M23 26h18"/>
    <path d="M15 36c1.5 9 8.5 14 17 14s15.5-5 17-14"/>
    <path d="M11 40l4-4 4 4M45 40l4-4 4 4"/>
  </g>
</svg>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage({ viewport: { width: SIZE, height: SIZE } });
  await page.setContent(`<body style="margin:0;background:transparent">${SVG}</body>`);
  await page.locator('svg').screenshot({ path: OUT, omitBackground: true });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
}
