/**
 * Headless Chromium (Debian's `chromium`) driven by playwright-core, for tests of pages
 * the mirror serves. A fresh profile directory per launch, removed on close; nothing
 * reaches the network but the pages the test opens (no updates, sync or background calls).
 */
import { chromium, type BrowserContext } from 'playwright-core';
import { tempDir } from './tmp.js';

export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(options: { width?: number; height?: number } = {}): Promise<Browser> {
  const profile = tempDir('chromium-profile');
  try {
    const context = await chromium.launchPersistentContext(profile.path, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    });
    return {
      context,
      async close() {
        await context.close().catch(() => {});
        profile.remove();
      },
    };
  } catch (err) {
    profile.remove();
    throw err;
  }
}
