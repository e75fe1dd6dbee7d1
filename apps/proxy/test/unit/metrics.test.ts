/** `/metrics`: cache answers, bytes, upstream exchanges, quota, store, refusals; where it is served. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { mirrorOf } from './fake-upstream.js';
import { fakeRegistry, pull, sample, type FakeRegistry } from './metrics-fake-registry.js';
import { freePort } from '../testbed/http-server.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import { createObservability } from '../../src/observe/observability.js';
import { tempDir } from '../testbed/tmp.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

describe('a pull, cold then warm', () => {
  let registry: FakeRegistry;
  let mirror: Awaited<ReturnType<typeof mirrorOf>>;
  let text: string;
  beforeAll(async () => {
    registry = await fakeRegistry({ blobSizes: [3000, 5000], remaining: 42 });
    mirror = await mirrorOf(registry.upstream);
    for (let round = 0; round < 2; round++) {
      expect((await pull(mirror.url, '/v2/library/app/manifests/latest')).status).toBe(200);
      for (const blob of registry.blobs) expect((await pull(mirror.url, `/v2/library/app/blobs/${blob.digest}`)).body).toEqual(blob.data);
      await mirror.cache.fills.settle(); // committed: the second round is answered from the cache
    }
    text = await scrape(`${mirror.url}/metrics`);
  });
  afterAll(async () => {
    await mirror?.stop();
    await registry?.upstream.close();
  });

  const docker = { registry: 'docker.io' };
  const blobBytes = (): number => registry.blobs.reduce((sum, b) => sum + b.data.length, 0);

  test('cache answers are counted by kind and outcome', () => {
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'tag', outcome: 'miss' })).toBe(1);
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'tag', outcome: 'hit' })).toBe(1);
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'blob', outcome: 'miss' })).toBe(2);
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'blob', outcome: 'hit' })).toBe(2);
  });

  test('bytes fetched upstream and bytes served from the cache', () => {
    expect(sample(text, 'docxy_upstream_bytes_total', docker)).toBe(registry.manifest.data.length + blobBytes());
    expect(sample(text, 'docxy_served_bytes_total', { ...docker, outcome: 'hit' })).toBe(registry.manifest.data.length + blobBytes());
    expect(sample(text, 'docxy_served_bytes_total', { ...docker, outcome: 'miss' })).toBe(registry.manifest.data.length + blobBytes());
  });

  test('upstream exchanges: latency histogram, outcomes, and the quota the upstream reported', () => {
    const upstreamGets = registry.calls.filter((c) => c.startsWith('GET /v2/library/app/')).length;
    expect(upstreamGets).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'docxy_upstream_request_duration_seconds_count', { ...docker, method: 'GET' })).toBeGreaterThanOrEqual(
      upstreamGets,
    );
    expect(
      sample(text, 'docxy_upstream_requests_total', { ...docker, method: 'GET', outcome: 'ok', status: '200' }),
    ).toBeGreaterThanOrEqual(upstreamGets);
    expect(sample(text, 'docxy_upstream_quota_remaining', { ...docker, account: 'last-seen' })).toBe(42);
  });

  test('requests by route class and status; store size and objects; fills idle', () => {
    expect(sample(text, 'docxy_http_requests_total', { route: 'blob', method: 'GET', status: '200' })).toBe(4);
    expect(sample(text, 'docxy_http_requests_total', { route: 'manifest', method: 'GET', status: '200' })).toBe(2);
    expect(sample(text, 'docxy_store_bytes')).toBe(blobBytes());
    expect(sample(text, 'docxy_store_objects')).toBe(2);
    expect(sample(text, 'docxy_fills_in_flight')).toBe(0);
    expect(sample(text, 'docxy_fill_readers')).toBe(0);
    expect(sample(text, 'docxy_store_evictions_total')).toBe(0);
  });

  test('no repository name and no certificate expiry (no TLS) in the exposition', () => {
    expect(text).not.toContain('library/app');
    expect(sample(text, 'docxy_certificate_expiry_timestamp_seconds')).toBeUndefined();
  });
});

test('denied and rate-limited requests are counted', async () => {
  const registry = await fakeRegistry();
  cleanup.push(() => registry.upstream.close());
  const mirror = await mirrorOf(registry.upstream, {
    access: {
      rules: { anonymous: { block: ['docker.io/library/blocked'] } },
      rateLimits: { anonymous: { requestsPerSecond: 0.001 } },
    },
  });
  cleanup.push(() => mirror.stop());
  expect((await pull(mirror.url, '/v2/library/blocked/manifests/latest')).status).toBe(403);
  expect((await pull(mirror.url, '/v2/library/app/manifests/latest')).status).toBe(429);
  const text = await scrape(`${mirror.url}/metrics`);
  expect(sample(text, 'docxy_denied_requests_total', { route: 'manifest' })).toBe(1);
  expect(sample(text, 'docxy_rate_limited_requests_total', { route: 'manifest' })).toBe(1);
});

test('evictions from the fs store are counted', async () => {
  // Three 4000-byte blobs in a 10 000-byte store: the third evicts the first.
  const registry = await fakeRegistry({ blobSizes: [4000, 4000, 4000] });
  cleanup.push(() => registry.upstream.close());
  const mirror = await mirrorOf(registry.upstream, { cache: { maxSize: 10_000 } });
  cleanup.push(() => mirror.stop());
  for (const blob of registry.blobs) {
    expect((await pull(mirror.url, `/v2/library/app/blobs/${blob.digest}`)).status).toBe(200);
    await mirror.cache.fills.settle();
  }
  const text = await scrape(`${mirror.url}/metrics`);
  expect(sample(text, 'docxy_store_evictions_total')).toBe(1);
  expect(sample(text, 'docxy_store_evicted_bytes_total')).toBe(4000);
  expect(sample(text, 'docxy_store_bytes')).toBe(8000);
  expect(sample(text, 'docxy_store_max_bytes')).toBe(10_000);
});

describe('where metrics are served', () => {
  test('metrics.listen: a listener of its own serves them; the main listener does not', async () => {
    const registry = await fakeRegistry();
    cleanup.push(() => registry.upstream.close());
    const port = await freePort();
    const mirror = await mirrorOf(registry.upstream, { metrics: { listen: `127.0.0.1:${port}`, path: '/internal/metrics' } });
    cleanup.push(() => mirror.stop());
    expect((await pull(mirror.url, '/v2/library/app/manifests/latest')).status).toBe(200);
    const text = await scrape(`http://127.0.0.1:${port}/internal/metrics`);
    expect(sample(text, 'docxy_cache_requests_total', { registry: 'docker.io', kind: 'tag', outcome: 'miss' })).toBe(1);
    expect((await fetch(`http://127.0.0.1:${port}/v2/`)).status).toBe(404);
    const onMain = await fetch(`${mirror.url}/internal/metrics`);
    expect(onMain.status).toBe(404);
    expect(((await onMain.json()) as { errors: unknown[] }).errors).toHaveLength(1);
  });

  test('metrics.enabled: false serves none', async () => {
    const registry = await fakeRegistry();
    cleanup.push(() => registry.upstream.close());
    const mirror = await mirrorOf(registry.upstream, { metrics: { enabled: false } });
    cleanup.push(() => mirror.stop());
    expect((await fetch(`${mirror.url}/metrics`)).status).toBe(404);
  });

  test('a metrics path the mirror serves itself is refused at start-up', () => {
    expect(() => validateConfig({ metrics: { path: '/v2/metrics' } })).toThrow(/metrics\.path/);
    expect(() => validateConfig({ metrics: { listen: 'nowhere' } })).toThrow(/metrics\.listen/);
  });
});

test('the certificate expiry is a gauge set by whoever serves TLS, absent without a certificate', async () => {
  const data = tempDir('metrics-cert');
  cleanup.push(() => data.remove());
  const port = await freePort();
  const config = validateConfig({ dataDir: data.path, metrics: { listen: `127.0.0.1:${port}` } });
  const observability = createObservability({ config, logger: createLogger('silent') });
  await observability.start();
  cleanup.push(() => observability.stop());
  const url = `http://127.0.0.1:${port}/metrics`;
  expect(sample(await scrape(url), 'docxy_certificate_expiry_timestamp_seconds')).toBeUndefined();
  observability.certificateExpiry(new Date('2031-02-03T04:05:06Z'));
  expect(sample(await scrape(url), 'docxy_certificate_expiry_timestamp_seconds')).toBe(Date.UTC(2031, 1, 3, 4, 5, 6) / 1000);
  observability.certificateExpiry(undefined);
  expect(sample(await scrape(url), 'docxy_certificate_expiry_timestamp_seconds')).toBeUndefined();
});
