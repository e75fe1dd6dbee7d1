/**
 * Observability against the real registry bed: pulls through the mirror show up in
 * /metrics (cache misses then hits by kind, bytes from upstream and from the cache,
 * upstream latency and outcomes per registry) and in the request log lines.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { pullImage } from '../testbed/image-pull.js';
import { sample } from '../unit/metrics-fake-registry.js';

const env = useSeededMirror();
let text: string;

beforeAll(async () => {
  const { list } = env.images;
  await pullImage(env.mirror.url, 'alpine', 'latest', list); // cold
  await env.mirror.cache.fills.settle();
  await pullImage(env.mirror.url, 'alpine', 'latest', list); // warm
  // A response is counted when its socket closes, which may be just after the client has
  // read its last byte: wait (bounded) until the last warm response has been counted.
  const total = [...list.manifests, ...list.blobs].reduce((sum, x) => sum + x.data.length, 0);
  for (let attempt = 0; attempt < 100; attempt++) {
    const res = await fetch(`${env.mirror.url}/metrics`);
    expect(res.status).toBe(200);
    text = await res.text();
    if ((sample(text, 'docxy_served_bytes_total', { registry: 'docker.io', outcome: 'hit' }) ?? 0) >= total) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}, 60_000);

const docker = { registry: 'docker.io' };

describe('/metrics after a cold and a warm pull', () => {
  test('cache answers by kind: misses first, hits after', () => {
    const { list } = env.images;
    const children = list.manifests.length - 1;
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'tag', outcome: 'miss' })).toBe(1);
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'tag', outcome: 'hit' })).toBe(1);
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'digest', outcome: 'miss' })).toBe(children);
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'digest', outcome: 'hit' })).toBe(children);
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'blob', outcome: 'miss' })).toBe(list.blobs.length);
    expect(sample(text, 'docxy_cache_requests_total', { ...docker, kind: 'blob', outcome: 'hit' })).toBe(list.blobs.length);
  });

  test('bytes: everything fetched upstream once, then served from the cache', () => {
    const { list } = env.images;
    const total = [...list.manifests, ...list.blobs].reduce((sum, x) => sum + x.data.length, 0);
    expect(sample(text, 'docxy_upstream_bytes_total', docker)).toBe(total);
    expect(sample(text, 'docxy_served_bytes_total', { ...docker, outcome: 'hit' })).toBe(total);
  });

  test('upstream latency and outcomes per registry (token handshake, manifests, CDN redirects)', () => {
    const gets = sample(text, 'docxy_upstream_request_duration_seconds_count', { ...docker, method: 'GET' }) ?? 0;
    expect(gets).toBeGreaterThanOrEqual(1 + (env.images.list.manifests.length - 1) + env.images.list.blobs.length);
    expect(sample(text, 'docxy_upstream_requests_total', { ...docker, method: 'GET', outcome: 'ok', status: '200' })).toBeGreaterThan(0);
    // The bed's front counted the same exchanges the histogram did (GET and HEAD, 401 challenges included).
    const heads = sample(text, 'docxy_upstream_request_duration_seconds_count', { ...docker, method: 'HEAD' }) ?? 0;
    expect(gets + heads).toBeGreaterThanOrEqual(env.bed.front.calls.length);
  });
});

test('request log lines carry registry, repository, reference kind, cache outcome, bytes and duration', () => {
  const lines = env.mirror.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'request' && String(l.url).startsWith('/v2/alpine/'));
  const blob = env.images.list.blobs[0]!;
  const blobLines = lines.filter((l) => l.url === `/v2/alpine/blobs/${blob.digest}`);
  expect(blobLines).toHaveLength(2);
  expect(blobLines[0]).toMatchObject({
    registry: 'docker.io',
    repository: 'library/alpine',
    kind: 'blob',
    cache: 'miss',
    bytes: blob.data.length,
  });
  expect(blobLines[1]).toMatchObject({
    registry: 'docker.io',
    repository: 'library/alpine',
    kind: 'blob',
    cache: 'hit',
    bytes: blob.data.length,
  });
  const tagLines = lines.filter((l) => l.url === '/v2/alpine/manifests/latest');
  expect(tagLines.map((l) => [l.kind, l.cache])).toEqual([
    ['tag', 'miss'],
    ['tag', 'hit'],
  ]);
  for (const line of lines) expect(typeof line.ms).toBe('number');
});
