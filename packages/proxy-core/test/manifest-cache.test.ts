/**
 * ManifestCache's tag records: reads are memoised briefly (one store read for repeated and
 * concurrent lookups of a tag), this process's writes replace the memo at once, and a record
 * another replica writes to the shared store is seen once the memo's TAG_MEMO_MS has passed.
 * Against a real directory store, wrapped to count the reads that reach it.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestCache, TAG_MEMO_MS, type TagRecord } from '../src/cache/manifest-cache.js';
import { FsObjectStore, type ObjectStore } from '../src/cache/object-store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';
const MODERN = [DOCKER, 'application/vnd.docker.distribution.manifest.list.v2+json', OCI, 'application/vnd.oci.image.index.v1+json'].join(
  ', ',
);
const record = (n: number, mediaType = OCI): TagRecord => ({
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  mediaType,
  validatedAt: n,
});

/** A directory store that counts the reads reaching it, and can be made to fail them. */
class CountingStore implements ObjectStore {
  readonly inner: FsObjectStore;
  reads = 0;
  failReads = false;

  constructor() {
    const root = mkdtempSync(join(tmpdir(), 'docxy-manifest-cache-'));
    dirs.push(root);
    this.inner = new FsObjectStore(join(root, 'meta'), join(root, 'tmp'));
  }

  get(key: string): Promise<Buffer | undefined> {
    this.reads++;
    if (this.failReads) return Promise.reject(new Error('store unavailable'));
    return this.inner.get(key);
  }

  put(key: string, data: Buffer): Promise<void> {
    return this.inner.put(key, data);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

function cacheOn(store: ObjectStore, clock: { now: number }, maxEntries?: number): ManifestCache {
  return new ManifestCache(store, undefined, { now: () => clock.now, maxEntries });
}

describe('tag record memo', () => {
  test('repeated and concurrent lookups of a tag read the store once; after TAG_MEMO_MS it is read again', async () => {
    const store = new CountingStore();
    const clock = { now: 1_000_000 };
    // Recorded (by an earlier run) for a client taking every modern type: the tag's own
    // manifest, for all classes.
    await cacheOn(store, clock).putTag('docker.io', 'library/app', 'latest', MODERN, record(1));
    const cache = cacheOn(store, clock);
    store.reads = 0;

    // A client of another class: no record of its own, the tag's own (OCI) one answers it
    // (two keys read, as one request does).
    const accept = `${DOCKER}, ${OCI}`;
    const answers = await Promise.all(Array.from({ length: 10 }, () => cache.getTag('docker.io', 'library/app', 'latest', accept)));
    for (const answer of answers) expect(answer).toEqual(record(1));
    expect(store.reads).toBe(2);
    for (let i = 0; i < 5; i++) await cache.getTag('docker.io', 'library/app', 'latest', accept);
    expect(store.reads).toBe(2);
    // An unknown tag is remembered as absent too.
    expect(await cache.getTag('docker.io', 'library/app', 'none', OCI)).toBeUndefined();
    expect(await cache.getTag('docker.io', 'library/app', 'none', OCI)).toBeUndefined();
    expect(store.reads).toBe(4);

    clock.now += TAG_MEMO_MS - 1;
    await cache.getTag('docker.io', 'library/app', 'latest', accept);
    expect(store.reads).toBe(4);
    clock.now += 1;
    await cache.getTag('docker.io', 'library/app', 'latest', accept);
    expect(store.reads).toBe(6);
  });

  test("this process's writes are seen at once; another replica's once the memo has expired", async () => {
    const store = new CountingStore();
    const clock = { now: 1_000_000 };
    const here = cacheOn(store, clock);
    const replica = cacheOn(store, clock);
    expect(await here.getTag('docker.io', 'library/app', 'latest', OCI)).toBeUndefined(); // memoised: absent

    await here.putTag('docker.io', 'library/app', 'latest', OCI, record(1));
    const reads = store.reads;
    expect(await here.getTag('docker.io', 'library/app', 'latest', OCI)).toEqual(record(1));
    expect(store.reads).toBe(reads); // from the memo, updated by the write

    await replica.putTag('docker.io', 'library/app', 'latest', OCI, record(2));
    expect((await here.getTag('docker.io', 'library/app', 'latest', OCI))?.digest).toBe(record(1).digest);
    clock.now += TAG_MEMO_MS;
    expect(await here.getTag('docker.io', 'library/app', 'latest', OCI)).toEqual(record(2));
  });

  test('callers get copies; a failed read is not remembered; the memo holds at most maxEntries records', async () => {
    const store = new CountingStore();
    const clock = { now: 1_000_000 };
    const cache = cacheOn(store, clock, 2);
    for (const tag of ['a', 'b', 'c']) await cache.putTag('docker.io', 'library/app', tag, OCI, record(3));

    const first = await cache.getTag('docker.io', 'library/app', 'c', OCI);
    first!.validatedAt = 0;
    expect((await cache.getTag('docker.io', 'library/app', 'c', OCI))?.validatedAt).toBe(3);

    // 'b' and 'c' are remembered; 'a' was dropped to keep two entries: it is read from the store again.
    store.reads = 0;
    await cache.getTag('docker.io', 'library/app', 'b', OCI);
    await cache.getTag('docker.io', 'library/app', 'c', OCI);
    expect(store.reads).toBe(0);
    await cache.getTag('docker.io', 'library/app', 'a', OCI);
    expect(store.reads).toBe(1);

    const failing = cacheOn(store, clock);
    store.failReads = true;
    await expect(failing.getTag('docker.io', 'library/app', 'b', OCI)).rejects.toThrow('store unavailable');
    store.failReads = false;
    expect(await failing.getTag('docker.io', 'library/app', 'b', OCI)).toEqual(record(3));
  });
});
