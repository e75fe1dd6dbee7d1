/**
 * The status page in a real browser (headless Chromium): it renders under its own CSP
 * without console errors and without asking any other host for anything, its setup
 * snippets carry the configured public URL, and its figures and chart follow the pulls.
 * Leaves a screenshot in apps/proxy/test-output/status-page.png for a person to look at.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { pullImage } from '../testbed/image-pull.js';
import { launchBrowser, type Browser } from '../testbed/browser.js';

const PUBLIC_URL = 'https://mirror.docxy.test';
const SCREENSHOT_DIR = join(import.meta.dirname, '..', '..', 'test-output');

const env = useSeededMirror({ config: { publicUrl: PUBLIC_URL } });
let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
  page = await browser.context.newPage();
  const origin = new URL(env.mirror.url).origin;
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('data:') && new URL(url).origin !== origin) problems.push(`request to another host: ${url}`);
  });
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

const text = async (selector: string): Promise<string> => ((await page.locator(selector).textContent()) ?? '').trim();

test('the page renders; its snippets carry the configured public URL', async () => {
  const response = await page.goto(`${env.mirror.url}/`);
  expect(response?.status()).toBe(200);
  expect(await page.title()).toContain('mirror.docxy.test');
  expect(await text('#snippet-dockerd')).toContain(`"${PUBLIC_URL}"`);
  expect(await text('#snippet-containerd')).toContain(`[host."${PUBLIC_URL}"]`);
  expect(await text('#snippet-podman')).toContain('location = "mirror.docxy.test"');
  // Before any pull: nothing fetched, an empty chart, no pulls.
  expect(await text('#upstream-bytes')).toBe('0 B');
  expect(await page.locator('#chart').getAttribute('data-active-minutes')).toBe('0');
  expect(await text('#pull-rows')).toContain('No pulls yet');
  expect(problems).toEqual([]);
}, 30_000);

test('figures, chart and recent pulls follow the pulls; a screenshot is left for a person', async () => {
  const { list, namespaced } = env.images;
  await pullImage(env.mirror.url, 'alpine', 'latest', list);
  await env.mirror.cache.fills.settle();
  await pullImage(env.mirror.url, 'alpine', 'latest', list);
  await pullImage(env.mirror.url, 'acme/tool', '1.0', namespaced);
  // The page refreshes itself every few seconds; wait for it to show the pulls.
  await page.waitForFunction(
    () => {
      // Runs in the page (this file is compiled without the DOM's types; the page's CSP forbids string evaluation).
      type Node = { textContent: string | null; getAttribute(name: string): string | null } | null;
      const doc = (globalThis as unknown as { document: { querySelector(selector: string): Node } }).document;
      return (
        doc.querySelector('#chart')?.getAttribute('data-active-minutes') !== '0' &&
        doc.querySelector('#upstream-bytes')?.textContent !== '0 B' &&
        (doc.querySelector('#pull-rows')?.textContent ?? '').includes('acme/tool')
      );
    },
    undefined,
    { timeout: 20_000, polling: 250 },
  );
  expect(await page.locator('#chart rect.bar-up').count()).toBeGreaterThan(0);
  expect(await page.locator('#chart rect.bar-cache').count()).toBeGreaterThan(0);
  expect(await text('#hit-ratio')).toMatch(/^\d+(\.\d)? %$/);
  expect(await text('#cache-bytes')).not.toBe('0 B');
  const rows = await text('#pull-rows');
  expect(rows).toContain('docker.io/library/alpine:latest');
  expect(rows).toContain('docker.io/acme/tool:1.0');
  expect(await page.locator('#chart').getAttribute('aria-label')).toMatch(/Traffic per minute over the last hour: [\d.]+ (B|KiB|MiB)/);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'status-page.png'), fullPage: true });
  expect(problems).toEqual([]);
}, 60_000);
