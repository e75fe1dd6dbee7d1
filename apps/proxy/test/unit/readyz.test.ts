/** `/readyz`: ready when the store takes writes; upstream reachability reported, never fatal. Liveness untouched. */
import { afterEach, expect, test } from '@jest/globals';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mirrorOf } from './fake-upstream.js';
import { fakeRegistry, loopbackRegistries } from './metrics-fake-registry.js';
import { freePort, type Started } from '../testbed/http-server.js';
import { tempDir } from '../testbed/tmp.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Report {
  ready: boolean;
  config: string;
  store: { writable: boolean; error?: string };
  upstreams: Record<string, { reachable: boolean | null; status?: number; error?: string }>;
}

async function readyz(base: string): Promise<{ status: number; report: Report }> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, report: (await res.json()) as Report };
}

test('ready: the store takes writes; the upstream answered /v2/ (401 is healthy)', async () => {
  const registry = await fakeRegistry();
  cleanup.push(() => registry.upstream.close());
  const mirror = await mirrorOf(registry.upstream, { registries: loopbackRegistries(registry.upstream.url) });
  cleanup.push(() => mirror.stop());
  const { status, report } = await readyz(mirror.url);
  expect(status).toBe(200);
  expect(report).toMatchObject({ ready: true, config: 'loaded', store: { writable: true } });
  expect(report.upstreams).toEqual({ 'docker.io': expect.objectContaining({ reachable: true, status: 401 }) });
});

test('an unreachable upstream is reported but does not make the mirror unready', async () => {
  const port = await freePort(); // nothing listens there
  const url = `http://127.0.0.1:${port}`;
  const mirror = await mirrorOf({ url } as Started, { registries: loopbackRegistries(url) });
  cleanup.push(() => mirror.stop());
  const { status, report } = await readyz(mirror.url);
  expect(status).toBe(200);
  expect(report.ready).toBe(true);
  expect(report.upstreams['docker.io']).toMatchObject({ reachable: false });
  expect(report.upstreams['docker.io']!.error).toBeTruthy();
});

test('a store that cannot be written is not ready (503), and ready again once it can', async () => {
  const registry = await fakeRegistry();
  cleanup.push(() => registry.upstream.close());
  const data = tempDir('readyz');
  cleanup.push(() => data.remove());
  const mirror = await mirrorOf(registry.upstream, { dataDir: data.path, registries: loopbackRegistries(registry.upstream.url) });
  cleanup.push(() => mirror.stop());
  // Root ignores permissions (CI runs as root): a file where the spool directory should be
  // makes every write there fail, as a full or read-only disk would.
  const tmp = join(data.path, 'tmp');
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(tmp, 'not a directory');
  const broken = await readyz(mirror.url);
  expect(broken.status).toBe(503);
  expect(broken.report).toMatchObject({ ready: false, store: { writable: false } });
  expect(broken.report.store.error).toMatch(/ENOTDIR|EEXIST|not a directory/i);
  // Liveness is not readiness.
  expect((await fetch(`${mirror.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${mirror.url}/health`)).status).toBe(200);
  rmSync(tmp);
  mkdirSync(tmp);
  expect((await readyz(mirror.url)).status).toBe(200);
});
