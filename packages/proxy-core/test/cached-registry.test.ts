/**
 * The quota economy and the access rules of CachedRegistry, against an in-process
 * registry that counts every request, with a controllable clock.
 */
import { afterAll, afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedRegistry } from '../src/cache/cached-registry.js';
import { FsBlobStore } from '../src/cache/fs-blob-store.js';
import { FsObjectStore } from '../src/cache/object-store.js';
import { ManifestCache } from '../src/cache/manifest-cache.js';
import { FillCoordinator } from '../src/cache/fill-coordinator.js';
import { BlobFill } from '../src/cache/blob-fill.js';
import { Readable } from 'node:stream';
import { SpaceGuard } from '../src/cache/space-guard.js';
import { AccessMemo } from '../src/cache/access-memo.js';
import { RepositoryLinks } from '../src/cache/repository-links.js';
import { RegistryError } from '../src/errors.js';
import type { ManifestRequest, RegistryResponse } from '../src/registry-source.js';
import { OCI_INDEX, OCI_MANIFEST, startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { readAll, upstreamAt } from './servers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const FRESH = 60_000;
const MAX_STALE = 7 * 24 * 3600_000;
/** Lets a test hand the registry a fill as a late joiner would find it (one that ended meanwhile). */
class JoinableFills extends FillCoordinator {
  found: BlobFill | undefined;
  override get(digest: string): BlobFill | undefined {
    return this.found ?? super.get(digest);
  }
}

let upstream: FakeRegistry;
let registry: CachedRegistry;
let fills: JoinableFills;
let root: string;
let events: string[] = [];
let upstreamBytes = 0;
let access: AccessMemo;
let clock: number;

async function build(withAccess: boolean): Promise<void> {
  root = mkdtempSync(join(tmpdir(), 'docxy-cached-'));
  dirs.push(root);
  const store = new FsBlobStore({ root, maxSize: 1 << 30 });
  await store.cleanup();
  access = new AccessMemo({ now: () => clock });
  fills = new JoinableFills({ spoolDir: store.tmpDir, store, space: new SpaceGuard({ dir: store.tmpDir, marginBytes: 0 }) });
  registry = new CachedRegistry({
    registry: 'docker.io',
    upstream: upstreamAt(upstream.url),
    store,
    fills,
    manifests: new ManifestCache(new FsObjectStore(join(root, 'meta'), store.tmpDir)),
    links: new RepositoryLinks(new FsObjectStore(join(root, 'meta'), store.tmpDir)),
    access: withAccess ? access : undefined,
    tagFreshnessMs: FRESH,
    maxStaleMs: MAX_STALE,
    events: {
      cacheOutcome: (e) => events.push(`${e.kind}:${e.outcome}`),
      upstreamBytes: (e) => {
        upstreamBytes += e.bytes;
      },
    },
    now: () => clock,
  });
}

beforeEach(async () => {
  events = [];
  upstreamBytes = 0;
  clock = 1_000_000;
  upstream = await startFakeRegistry();
  await build(false);
});
afterEach(async () => {
  await upstream.close();
});

const ACCEPT = [OCI_MANIFEST, OCI_INDEX].join(', ');
const req = (reference: string, extra: Partial<ManifestRequest> = {}): ManifestRequest => ({
  repo: 'library/app',
  reference,
  method: 'GET',
  accept: ACCEPT,
  authorization: 'Bearer anon',
  ...extra,
});

async function body(response: RegistryResponse): Promise<string> {
  return (await readAll(response.body)).toString();
}

describe('manifests and tags: the quota economy', () => {
  test('20 pulls of an unchanged tag cost one manifest GET; the rest are free HEADs or nothing', async () => {
    upstream.tag('library/app', 'latest', 'v1');
    for (let i = 0; i < 20; i++) {
      await body(await registry.manifest(req('latest')));
      clock += 10_000; // a pull every 10 s: revalidated with a HEAD every minute
    }
    expect(upstream.count('GET', 'manifests')).toBe(1);
    expect(upstream.count('HEAD', 'manifests')).toBeGreaterThan(0);
    expect(upstream.count('HEAD', 'manifests')).toBeLessThanOrEqual(4);
  });

  test('within tagFreshness there is no upstream call at all', async () => {
    upstream.tag('library/app', 'latest', 'v1');
    await body(await registry.manifest(req('latest')));
    const before = upstream.calls.length;
    clock += FRESH - 1;
    const again = await registry.manifest(req('latest'));
    expect(again.status).toBe(200);
    expect(upstream.calls.length).toBe(before);
  });

  test('a changed tag is revalidated with a HEAD and fetched with one GET', async () => {
    upstream.tag('library/app', 'latest', 'v1');
    await body(await registry.manifest(req('latest')));
    const v2 = upstream.tag('library/app', 'latest', 'v2');
    clock += FRESH;
    const response = await registry.manifest(req('latest'));
    expect(response.headers['docker-content-digest']).toBe(v2);
    expect(await body(response)).toContain('v2');
    expect(upstream.count('HEAD', 'manifests')).toBe(1);
    expect(upstream.count('GET', 'manifests')).toBe(2);
  });

  test('a client HEAD of a stale tag stays a HEAD upstream', async () => {
    upstream.tag('library/app', 'latest', 'v1');
    await body(await registry.manifest(req('latest')));
    upstream.tag('library/app', 'latest', 'v2');
    clock += FRESH;
    const head = await registry.manifest(req('latest', { method: 'HEAD' }));
    expect(head.body).toBeNull();
    expect(upstream.count('GET', 'manifests')).toBe(1);
  });

  test('a manifest by digest is never fetched again', async () => {
    const digest = upstream.tag('library/app', 'latest', 'v1');
    for (let i = 0; i < 5; i++) {
      expect(await body(await registry.manifest(req(digest)))).toContain('v1');
      clock += MAX_STALE;
    }
    expect(upstream.count('GET', 'manifests')).toBe(1);
  });

  test('a cached manifest is served only to a client whose Accept names its type', async () => {
    upstream.tag('library/app', 'latest', 'v1');
    await body(await registry.manifest(req('latest')));
    const err = await registry
      .manifest(req('latest', { accept: 'application/vnd.docker.distribution.manifest.v2+json' }))
      .catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('MANIFEST_UNKNOWN');
    expect(upstream.count('GET', 'manifests')).toBe(2);
  });

  test('a manifest whose bytes do not match its digest is refused and not cached', async () => {
    const digest = upstream.tag('library/app', 'latest', 'v1');
    upstream.corrupt.add(digest);
    for (const ref of ['latest', digest]) {
      const err = await registry.manifest(req(ref)).catch((e: unknown) => e);
      expect((err as RegistryError).code).toBe('DIGEST_INVALID');
    }
    upstream.corrupt.clear();
    await body(await registry.manifest(req(digest)));
    expect(upstream.count('GET', 'manifests')).toBe(3);
  });
});

describe('stale serving when the upstream is in trouble', () => {
  test.each([
    ['503', () => ({ status: 503 })],
    ['429', () => ({ status: 429, headers: { 'retry-after': '60' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"x"}]}' })],
    ['down', () => 'hang-up' as const],
  ])('upstream %s: a cached tag is served with a Warning, up to maxStale', async (_name, fault) => {
    upstream.tag('library/app', 'latest', 'v1');
    await body(await registry.manifest(req('latest')));
    upstream.fault = fault;
    clock += FRESH;
    const stale = await registry.manifest(req('latest'));
    expect(stale.headers.warning).toBe('110 - "Response is Stale"');
    expect(await body(stale)).toContain('v1');
    clock += MAX_STALE;
    await expect(registry.manifest(req('latest'))).rejects.toBeInstanceOf(RegistryError);
  });

  test('with nothing cached, a 429 is passed on with its Retry-After', async () => {
    upstream.fault = () => ({ status: 429, headers: { 'retry-after': '42' } });
    const err = (await registry.manifest(req('latest')).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('TOOMANYREQUESTS');
    expect(err.headers['retry-after']).toBe('42');
  });

  test('cached digests and blobs are served while the upstream is down', async () => {
    const digest = upstream.tag('library/app', 'latest', 'v1');
    const data = randomBytes(50_000);
    const blob = upstream.blob(data);
    await body(await registry.manifest(req(digest)));
    await readAll((await registry.blob({ repo: 'library/app', digest: blob, method: 'GET', authorization: 'Bearer anon' })).body);
    upstream.fault = () => 'hang-up';
    expect(await body(await registry.manifest(req(digest)))).toContain('v1');
    const warm = await registry.blob({ repo: 'library/app', digest: blob, method: 'GET', authorization: 'Bearer anon' });
    expect((await readAll(warm.body)).equals(data)).toBe(true);
  });
});

describe('blobs', () => {
  test('warm blobs are served from the store, with ranges, without upstream', async () => {
    const data = randomBytes(100_000);
    const digest = upstream.blob(data);
    const cold = await registry.blob({ repo: 'library/app', digest, method: 'GET', authorization: 'Bearer anon' });
    expect((await readAll(cold.body)).equals(data)).toBe(true);
    const before = upstream.calls.length;
    const ranged = await registry.blob({
      repo: 'library/app',
      digest,
      method: 'GET',
      range: 'bytes=1000-1999',
      authorization: 'Bearer anon',
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 1000-1999/${data.length}`);
    expect((await readAll(ranged.body)).equals(data.subarray(1000, 2000))).toBe(true);
    const head = await registry.blob({ repo: 'library/app', digest, method: 'HEAD', authorization: 'Bearer anon' });
    expect(head.headers['content-length']).toBe(String(data.length));
    expect(upstream.calls.length).toBe(before);
    const err = (await registry
      .blob({ repo: 'library/app', digest, method: 'GET', range: `bytes=${data.length}-`, authorization: 'Bearer anon' })
      .catch((e: unknown) => e)) as RegistryError;
    expect(err.status).toBe(416);
  });
});

describe('passthrough access: the upstream decides who reads cached content', () => {
  beforeEach(async () => {
    await build(true);
  });

  test('a private image cached for one user is not served to an anonymous one', async () => {
    upstream.tag('private/app', 'latest', 'secret');
    const data = randomBytes(10_000);
    const blob = upstream.blob(data);
    const alice = { repo: 'private/app', authorization: 'Bearer alice' };
    await body(await registry.manifest(req('latest', alice)));
    await readAll((await registry.blob({ ...alice, digest: blob, method: 'GET' })).body);
    const anon = { repo: 'private/app', authorization: 'Bearer anon-1' };
    await expect(registry.manifest(req('latest', anon))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(registry.blob({ ...anon, digest: blob, method: 'GET' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(registry.blob({ repo: 'private/app', digest: blob, method: 'GET' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  test('an accepted token is remembered: a warm pull costs no upstream call', async () => {
    upstream.tag('library/app', 'latest', 'v1');
    await body(await registry.manifest(req('latest')));
    const before = upstream.calls.length;
    await body(await registry.manifest(req('latest')));
    expect(upstream.calls.length).toBe(before);
    await body(await registry.manifest(req('latest', { authorization: 'Bearer anon-other' })));
    expect(upstream.calls.length).toBe(before + 1);
  });

  test('while the upstream is down, public content goes to anyone, private content only to known tokens', async () => {
    const pub = upstream.tag('library/app', 'latest', 'v1');
    const priv = upstream.tag('private/app', 'latest', 'secret');
    access.noteAnonymousToken('anon-first');
    await body(await registry.manifest(req(pub, { authorization: 'Bearer anon-first' })));
    await body(await registry.manifest(req(priv, { repo: 'private/app', authorization: 'Bearer alice' })));
    upstream.fault = () => 'hang-up';
    expect(await body(await registry.manifest(req(pub, { authorization: 'Bearer anon-new' })))).toContain('v1');
    expect(await body(await registry.manifest(req(priv, { repo: 'private/app', authorization: 'Bearer alice' })))).toContain('secret');
    await expect(registry.manifest(req(priv, { repo: 'private/app', authorization: 'Bearer anon-new' }))).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });
});

describe('trust', () => {
  beforeEach(async () => {
    await build(true);
  });

  test('an upstream 404 for the repository is a denial, even for a token accepted there', async () => {
    const data = randomBytes(5000);
    const blob = upstream.blob(data);
    const anon = { authorization: 'Bearer anon-1', method: 'GET' as const, digest: blob };
    await readAll((await registry.blob({ ...anon, repo: 'library/app' })).body);
    upstream.tag('library/other', 'latest', 'o');
    await body(await registry.manifest(req('latest', { repo: 'library/other', authorization: 'Bearer anon-1' })));
    // library/other does not hold this blob upstream.
    upstream.fault = (c) =>
      c.path.startsWith('/v2/library/other/blobs/')
        ? { status: 404, body: '{"errors":[{"code":"BLOB_UNKNOWN","message":"x"}]}' }
        : undefined;
    await expect(registry.blob({ ...anon, repo: 'library/other' })).rejects.toMatchObject({ status: 404, code: 'BLOB_UNKNOWN' });
  });

  test('a late joiner whose fill failed gets a verified transfer of its own', async () => {
    const data = randomBytes(20_000);
    const digest = upstream.blob(data);
    const cut = Readable.from(
      (async function* () {
        yield data.subarray(0, 100);
        throw new Error('upstream cut');
      })(),
    );
    fills.found = await BlobFill.start({
      digest,
      spoolPath: join(root, 'failed-spool'),
      size: data.length,
      body: cut,
      commit: async () => {},
    });
    await fills.found.finished;
    expect(fills.found.state).toBe('failed');
    const request = { repo: 'library/app', digest, method: 'GET' as const, authorization: 'Bearer anon' };
    // Its own upstream transfer is corrupt: the client must see a failure, not a clean end.
    upstream.fault = (c) =>
      c.method === 'GET' && c.path.includes('/blobs/')
        ? { status: 200, headers: { 'content-length': String(data.length) }, body: 'x'.repeat(data.length) }
        : undefined;
    await expect(readAll((await registry.blob(request)).body)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    upstream.fault = undefined;
    expect((await readAll((await registry.blob(request)).body)).equals(data)).toBe(true);
  });

  test('an uncached (sha512) Range is cut from the verified whole blob', async () => {
    const data = randomBytes(30_000);
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const serve = (bytes: Buffer) => (c: { path: string }) =>
      c.path.includes(`/blobs/${digest}`) ? { status: 200, headers: { 'content-length': String(bytes.length) }, body: bytes } : undefined;
    const ranged = () =>
      registry.blob({ repo: 'library/app', digest, method: 'GET', range: 'bytes=100-199', authorization: 'Bearer anon' });
    upstream.fault = serve(data);
    const good = await ranged();
    expect(good.status).toBe(206);
    expect(good.headers['content-range']).toBe(`bytes 100-199/${data.length}`);
    expect((await readAll(good.body)).equals(data.subarray(100, 200))).toBe(true);
    const wrong = Buffer.from(data);
    wrong[20_000] = wrong[20_000]! ^ 1;
    upstream.fault = serve(wrong);
    await expect(readAll((await ranged()).body)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });

  test('a manifest by sha512 digest is verified with sha512, then cached', async () => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }));
    const digest = `sha512:${createHash('sha512').update(manifest).digest('hex')}`;
    const serve = (bytes: Buffer) => (c: { path: string }) =>
      c.path.includes(`/manifests/${digest}`)
        ? { status: 200, headers: { 'content-type': OCI_MANIFEST, 'content-length': String(bytes.length) }, body: bytes }
        : undefined;
    upstream.fault = serve(Buffer.concat([manifest, Buffer.from(' ')]));
    await expect(registry.manifest(req(digest))).rejects.toMatchObject({ code: 'DIGEST_INVALID', status: 502 });
    upstream.fault = serve(manifest);
    expect(await body(await registry.manifest(req(digest)))).toBe(manifest.toString());
    upstream.fault = () => 'hang-up';
    expect(await body(await registry.manifest(req(digest)))).toBe(manifest.toString());
  });
});

describe('events: how each request was answered', () => {
  test('manifests: miss, hit, bypass (HEAD), stale; blobs: miss, coalesced, hit; upstream bytes counted once', async () => {
    const digest = upstream.tag('library/app', 'latest', 'v1');
    await body(await registry.manifest(req('latest')));
    const hit = await registry.manifest(req('latest'));
    expect(hit.cache).toBe('hit');
    await body(hit);
    upstream.tag('library/app', 'other', 'v2');
    expect((await registry.manifest(req('other', { method: 'HEAD' }))).cache).toBe('bypass');
    await body(await registry.manifest(req(digest)));
    upstream.fault = () => 'hang-up';
    clock += FRESH;
    await body(await registry.manifest(req('latest')));
    upstream.fault = undefined;
    const data = randomBytes(64_000);
    const blob = upstream.blob(data);
    const get = { repo: 'library/app', digest: blob, method: 'GET' as const, authorization: 'Bearer anon' };
    const [first, second] = await Promise.all([registry.blob(get), registry.blob(get)]);
    await Promise.all([readAll(first.body), readAll(second.body)]);
    await fills.get(blob)?.finished;
    await readAll((await registry.blob(get)).body);
    expect(events).toEqual(['tag:miss', 'tag:hit', 'tag:bypass', 'digest:hit', 'tag:stale', 'blob:miss', 'blob:coalesced', 'blob:hit']);
    // One manifest GET (the tag) and one blob download reached the upstream.
    const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, content: 'v1' })).length;
    expect(upstreamBytes).toBe(manifestBytes + data.length);
  });
});
