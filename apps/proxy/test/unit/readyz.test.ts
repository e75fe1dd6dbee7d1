/**
 * `/readyz`: ready when the store takes writes; upstream reachability reported, never fatal.
 * Liveness untouched. The store probe is shared and reused for a few seconds: `/readyz` is
 * open to everyone, and in S3 mode a probe is a write to the bucket.
 */
import { afterEach, expect, test } from '@jest/globals';
import http from 'node:http';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsBlobStore, type Fetcher } from '@docxy/proxy-core';
import { mirrorOf } from './fake-upstream.js';
import { fakeRegistry, loopbackRegistries } from './metrics-fake-registry.js';
import { validateConfig } from '../../src/config/load.js';
import { Readiness, STORE_PROBE_MAX_AGE_MS } from '../../src/observe/readiness.js';
import { createS3Stores } from '../../src/s3.js';
import { freePort, startHttp, type Started } from '../testbed/http-server.js';
import { startS3rver } from '../testbed/s3rver.js';
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

test('a store that cannot be written is not ready (503); liveness stays 200', async () => {
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
});

const BUCKET = 'readyz';

/** s3rver behind a forwarder that counts the blob PUTs (PutObject) it passes on. */
async function countingS3(): Promise<{ endpoint: string; blobPuts: () => number; close(): Promise<void> }> {
  const s3 = await startS3rver(BUCKET);
  const target = new URL(s3.endpoint);
  let puts = 0;
  const front = await startHttp((req, res) => {
    if (req.method === 'PUT' && req.url?.includes('/blobs/')) puts += 1;
    const forward = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  return {
    endpoint: front.url,
    blobPuts: () => puts,
    close: async () => {
      await front.close();
      await s3.close();
    },
  };
}

const s3Options = (endpoint: string) =>
  ({ bucket: BUCKET, endpoint, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', prefix: 'mirror/' }) as const;

test('S3 mode: concurrent and repeated /readyz within the probe age write to the bucket once', async () => {
  const registry = await fakeRegistry();
  cleanup.push(() => registry.upstream.close());
  const s3 = await countingS3();
  cleanup.push(() => s3.close());
  const mirror = await mirrorOf(registry.upstream, {
    registries: loopbackRegistries(registry.upstream.url),
    cache: { store: 's3', s3: s3Options(s3.endpoint) },
  });
  cleanup.push(() => mirror.stop());
  const before = s3.blobPuts(); // whatever start-up wrote (nothing expected, but not this test's point)
  const concurrent = await Promise.all(Array.from({ length: 20 }, () => readyz(mirror.url)));
  for (const { status, report } of concurrent) {
    expect(status).toBe(200);
    expect(report.store.writable).toBe(true);
  }
  for (let i = 0; i < 5; i++) expect((await readyz(mirror.url)).status).toBe(200);
  expect(s3.blobPuts() - before).toBe(1);
});

/** A Readiness on a clock the test moves; no upstreams, so only the store is probed. */
function readinessAt(spoolDir: string, clock: { now: number }): Readiness {
  const unused: Fetcher = () => Promise.reject(new Error('no upstream in this test'));
  return new Readiness({ spoolDir, fetcher: unused, registries: [], now: () => clock.now });
}

test(`a new store probe (one write) once the last is ${STORE_PROBE_MAX_AGE_MS} ms old, not before`, async () => {
  const s3 = await countingS3();
  cleanup.push(() => s3.close());
  const spool = tempDir('readyz-spool');
  cleanup.push(() => spool.remove());
  const config = validateConfig({ dataDir: spool.path, cache: { store: 's3', s3: s3Options(s3.endpoint) } });
  const stores = createS3Stores(config.cache.s3!);
  cleanup.push(() => stores.close());
  const clock = { now: 1_000_000 };
  const readiness = readinessAt(spool.path, clock);
  readiness.attach(stores.store);

  await Promise.all([readiness.check(), readiness.check(), readiness.check()]);
  expect(s3.blobPuts()).toBe(1);
  clock.now += STORE_PROBE_MAX_AGE_MS - 1;
  expect((await readiness.check()).ready).toBe(true);
  expect(s3.blobPuts()).toBe(1);
  clock.now += 1;
  expect((await readiness.check()).ready).toBe(true);
  expect(s3.blobPuts()).toBe(2);
});

test('a failed store probe is reused too, and a later one sees the store recovered', async () => {
  const data = tempDir('readyz-fs');
  cleanup.push(() => data.remove());
  const store = new FsBlobStore({ root: data.path, maxSize: 1 << 20 });
  await store.cleanup();
  const clock = { now: 1_000_000 };
  const readiness = readinessAt(store.tmpDir, clock);
  readiness.attach(store);
  // A file where the spool directory should be (root ignores permissions).
  rmSync(store.tmpDir, { recursive: true, force: true });
  writeFileSync(store.tmpDir, 'not a directory');
  expect(await readiness.check()).toMatchObject({ ready: false, store: { writable: false } });
  rmSync(store.tmpDir);
  mkdirSync(store.tmpDir);
  clock.now += STORE_PROBE_MAX_AGE_MS - 1;
  expect((await readiness.check()).ready).toBe(false);
  clock.now += 1;
  expect((await readiness.check()).ready).toBe(true);
});
