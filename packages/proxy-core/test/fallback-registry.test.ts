/** Fallback mirrors: digests only, only when the primary is in trouble, always verified. */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedRegistry } from '../src/cache/cached-registry.js';
import { FsBlobStore } from '../src/cache/fs-blob-store.js';
import { FsObjectStore } from '../src/cache/object-store.js';
import { ManifestCache } from '../src/cache/manifest-cache.js';
import { FillCoordinator } from '../src/cache/fill-coordinator.js';
import { SpaceGuard } from '../src/cache/space-guard.js';
import type { UpstreamRegistry } from '../src/upstream/upstream-registry.js';
import { RepositoryLinks } from '../src/cache/repository-links.js';
import { FallbackRegistry } from '../src/upstream/fallback-registry.js';
import { AccessMemo } from '../src/cache/access-memo.js';
import { OCI_INDEX, OCI_MANIFEST, startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { upstreamAt, readAll } from './servers.js';

let primary: FakeRegistry;
let fallback: FakeRegistry;
let registry: CachedRegistry;
let store: FsBlobStore;
let root: string;

const upstreamOf = (fake: FakeRegistry): UpstreamRegistry => upstreamAt(fake.url);

beforeEach(async () => {
  [primary, fallback] = [await startFakeRegistry(), await startFakeRegistry()];
  fallback.open = true;
  root = mkdtempSync(join(tmpdir(), 'docxy-fallback-'));
  store = new FsBlobStore({ root, maxSize: 1 << 30 });
  await store.cleanup();
  registry = new CachedRegistry({
    registry: 'docker.io',
    upstream: new FallbackRegistry(upstreamOf(primary), [upstreamOf(fallback)]),
    store,
    fills: new FillCoordinator({ spoolDir: store.tmpDir, store, space: new SpaceGuard({ dir: store.tmpDir, marginBytes: 0 }) }),
    manifests: new ManifestCache(new FsObjectStore(join(root, 'meta'), store.tmpDir)),
    links: new RepositoryLinks(new FsObjectStore(join(root, 'meta'), store.tmpDir)),
    tagFreshnessMs: 60_000,
    maxStaleMs: 0,
  });
});
afterEach(async () => {
  await primary.close();
  await fallback.close();
  rmSync(root, { recursive: true, force: true });
});

const ACCEPT = `${OCI_MANIFEST}, ${OCI_INDEX}`;

describe('fallback mirrors', () => {
  test('blobs and manifests by digest come from the fallback while the primary is down; never the client token', async () => {
    const data = randomBytes(40_000);
    const blob = primary.blob(data);
    fallback.blob(data);
    const digest = primary.tag('library/app', 'latest', 'v1');
    fallback.tag('library/app', 'latest', 'v1');
    primary.fault = () => 'hang-up';
    const got = await registry.blob({ repo: 'library/app', digest: blob, method: 'GET', authorization: 'Bearer alice' });
    expect((await readAll(got.body)).equals(data)).toBe(true);
    const manifest = await registry.manifest({
      repo: 'library/app',
      reference: digest,
      method: 'GET',
      accept: ACCEPT,
      authorization: 'Bearer alice',
    });
    expect(manifest.headers['docker-content-digest']).toBe(digest);
    // The fake answers 401 without a token; the fallback must have been called without the client's.
    expect(fallback.calls.every((c) => c.authorization !== 'Bearer alice')).toBe(true);
  });

  test('tags are never taken from a fallback', async () => {
    fallback.tag('library/app', 'latest', 'v1');
    primary.fault = () => 'hang-up';
    await expect(
      registry.manifest({ repo: 'library/app', reference: 'latest', method: 'GET', accept: ACCEPT, authorization: 'Bearer anon' }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(fallback.calls).toEqual([]);
  });

  test('a fallback serving other bytes fails the transfer and caches nothing', async () => {
    const data = randomBytes(40_000);
    const blob = primary.blob(data);
    const wrong = Buffer.from(data);
    wrong[100]! ^= 1;
    // The fallback stores the wrong bytes, and is asked for them under the right digest.
    const wrongDigest = fallback.blob(wrong);
    primary.fault = () => 'hang-up';
    fallback.fault = (c) => {
      if (c.path.includes(blob)) c.path = c.path.replace(blob, wrongDigest);
      return undefined;
    };
    const got = await registry.blob({ repo: 'library/app', digest: blob, method: 'GET' });
    await expect(readAll(got.body)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    await new Promise((r) => setTimeout(r, 50));
    expect(await store.stat(blob)).toBeUndefined();
  });

  test('a primary that answers (even 404) is final: no fallback', async () => {
    const data = randomBytes(1000);
    fallback.blob(data);
    await expect(
      registry.blob({ repo: 'library/app', digest: `sha256:${'1'.repeat(64)}`, method: 'GET', authorization: 'Bearer anon' }),
    ).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    expect(fallback.calls).toEqual([]);
  });
});

test('a fallback’s answer is not the primary accepting a client: private cached content stays private', async () => {
  const access = new AccessMemo();
  const objects = new FsObjectStore(join(root, 'meta'), store.tmpDir);
  const guarded = new CachedRegistry({
    registry: 'docker.io',
    upstream: new FallbackRegistry(upstreamOf(primary), [upstreamOf(fallback)]),
    store,
    fills: new FillCoordinator({ spoolDir: store.tmpDir, store, space: new SpaceGuard({ dir: store.tmpDir, marginBytes: 0 }) }),
    manifests: new ManifestCache(objects),
    links: new RepositoryLinks(objects),
    access,
    tagFreshnessMs: 60_000,
    maxStaleMs: 0,
  });
  const data = randomBytes(10_000);
  const blob = primary.blob(data);
  fallback.blob(data);
  expect(
    (await readAll((await guarded.blob({ repo: 'private/app', digest: blob, method: 'GET', authorization: 'Bearer alice' })).body)).equals(
      data,
    ),
  ).toBe(true);
  primary.fault = () => 'hang-up';
  fallback.open = true;
  await expect(guarded.blob({ repo: 'private/app', digest: blob, method: 'GET', authorization: 'Bearer anon-2' })).rejects.toMatchObject({
    code: 'UNAVAILABLE',
  });
  expect(access.isAllowed('Bearer anon-2', 'docker.io', 'private/app')).toBe(false);
});
