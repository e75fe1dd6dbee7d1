/**
 * Coalesced fills against an in-process upstream that counts requests: N parallel cold
 * readers → exactly one upstream GET, everyone fed as bytes arrive, failures abort all.
 */
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type http from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { FsBlobStore } from '../src/cache/fs-blob-store.js';
import { S3BlobStore } from '../src/cache/s3-blob-store.js';
import type { BlobStore } from '../src/cache/blob-store.js';
import { FillCoordinator, type Acquired, type FillCoordinatorOptions } from '../src/cache/fill-coordinator.js';
import { SpaceGuard } from '../src/cache/space-guard.js';
import { baseFetcher } from '../src/fetch/base-fetcher.js';
import type { RegistryResponse } from '../src/registry-source.js';
import { pickHeaders } from '../src/registry-source.js';
import { digestOf } from './blob-store-contract.js';
import { readAll, serve, type TestServer, LOOPBACK, upstreamAt } from './servers.js';
import { startFakeRegistry } from './fake-registry.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** An upstream that sends `data` in 64 KiB chunks, pausing between them until released. */
async function trickle(data: Buffer, options: { corruptAt?: number; cutAt?: number } = {}) {
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  const server = await serve(async (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'content-length': String(data.length), 'content-type': 'application/octet-stream' });
    for (let offset = 0; offset < data.length; offset += 65536) {
      if (options.cutAt !== undefined && offset >= options.cutAt) {
        res.socket?.destroy();
        return;
      }
      const chunk = Buffer.from(data.subarray(offset, offset + 65536));
      if (options.corruptAt !== undefined && options.corruptAt >= offset && options.corruptAt < offset + chunk.length)
        chunk[options.corruptAt - offset]! ^= 0xff;
      res.write(chunk);
      await gate;
    }
    res.end();
  });
  servers.push(server);
  return {
    server,
    /** Lets the upstream send everything that is left. */
    open: () => release(),
    /** Re-arms the gate after opening it (one chunk at a time from now on). */
    step: () => {
      release();
      gate = new Promise<void>((r) => (release = r));
    },
  };
}

async function setup(options: Partial<FillCoordinatorOptions> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'docxy-fills-'));
  dirs.push(root);
  const store = new FsBlobStore({ root, maxSize: 1 << 30 });
  await store.cleanup();
  const space = options.space ?? new SpaceGuard({ dir: store.tmpDir, marginBytes: 0 });
  const fills = new FillCoordinator({ spoolDir: store.tmpDir, store, space, ...options });
  return { root, store, space, fills };
}

function opener(url: string): () => Promise<RegistryResponse> {
  const fetcher = baseFetcher(LOOPBACK);
  return async () => {
    const response = await fetcher({ url: new URL(url), method: 'GET', headers: {} });
    return { status: response.status, headers: pickHeaders(response.headers), body: response.body };
  };
}

describe('coalescing', () => {
  test('50 parallel cold readers cause exactly one upstream GET and all get the exact bytes', async () => {
    const data = randomBytes(1_000_000);
    const digest = digestOf(data);
    const upstream = await trickle(data);
    upstream.open();
    const { store, fills } = await setup();
    const open = opener(upstream.server.url);
    const bodies = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const acquired = await fills.acquire(digest, open);
        if (acquired.kind !== 'fill') throw new Error(`expected a fill, got ${acquired.kind}`);
        return readAll(acquired.fill.reader());
      }),
    );
    expect(upstream.server.requests).toHaveLength(1);
    for (const body of bodies) expect(digestOf(body)).toBe(digest);
    await fills.get(digest)?.finished;
    expect(await store.stat(digest)).toEqual({ size: data.length });
  });

  test('readers are fed as bytes arrive, and a late joiner reads what is there, then follows', async () => {
    const data = randomBytes(640 * 1024);
    const digest = digestOf(data);
    const upstream = await trickle(data);
    const { fills } = await setup();
    const acquired = await fills.acquire(digest, opener(upstream.server.url));
    if (acquired.kind !== 'fill') throw new Error('expected a fill');
    const fill = acquired.fill;
    const early = fill.reader();
    const firstChunk = await new Promise<Buffer>((resolve) => early.once('data', resolve));
    // The upstream has sent one chunk and waits: the reader got bytes before the blob was whole.
    expect(firstChunk.length).toBeGreaterThan(0);
    expect(fill.state).toBe('running');
    upstream.step();
    upstream.step();
    await new Promise<void>((resolve) => fill.once('progress', () => resolve()));
    const late = fill.reader();
    upstream.open();
    const [rest, whole] = await Promise.all([readAll(early), readAll(late)]);
    expect(Buffer.concat([firstChunk, rest]).equals(data)).toBe(true);
    expect(whole.equals(data)).toBe(true);
    expect(upstream.server.requests).toHaveLength(1);
  });

  test('a reader far behind the download reads the spool; one at its head is fed from memory', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const digest = digestOf(data);
    const upstream = await trickle(data);
    const { fills } = await setup();
    const acquired = await fills.acquire(digest, opener(upstream.server.url));
    if (acquired.kind !== 'fill') throw new Error('expected a fill');
    const fill = acquired.fill;
    // Attach once more than the in-memory window (8 MiB) has been written.
    const late = new Promise<Buffer>((resolve) => {
      const onProgress = (): void => {
        if (fill.written < 9 * 1024 * 1024) return;
        fill.off('progress', onProgress);
        resolve(readAll(fill.reader()));
      };
      fill.on('progress', onProgress);
    });
    const head = readAll(fill.reader());
    upstream.open();
    expect((await late).equals(data)).toBe(true);
    expect((await head).equals(data)).toBe(true);
  });

  test('a range on a cold blob is served from the fill', async () => {
    const data = randomBytes(300_000);
    const upstream = await trickle(data);
    upstream.open();
    const { fills } = await setup();
    const acquired = await fills.acquire(digestOf(data), opener(upstream.server.url));
    if (acquired.kind !== 'fill') throw new Error('expected a fill');
    const slice = await readAll(acquired.fill.reader({ start: 200_000, end: 250_000 }));
    expect(slice.equals(data.subarray(200_000, 250_001))).toBe(true);
  });

  test('a reader hanging up does not cancel the fill for the others or for the cache', async () => {
    const data = randomBytes(512 * 1024);
    const digest = digestOf(data);
    const upstream = await trickle(data);
    const { store, fills } = await setup();
    const acquired = await fills.acquire(digest, opener(upstream.server.url));
    if (acquired.kind !== 'fill') throw new Error('expected a fill');
    const quitter = acquired.fill.reader();
    const stayer = acquired.fill.reader();
    await new Promise((resolve) => quitter.once('data', resolve));
    quitter.destroy();
    upstream.open();
    expect((await readAll(stayer)).equals(data)).toBe(true);
    await acquired.fill.finished;
    expect(await store.stat(digest)).toEqual({ size: data.length });
  });
});

describe('failures abort every reader and cache nothing', () => {
  test.each([
    ['one corrupted byte', { corruptAt: 100_000 }, 'DIGEST_INVALID'],
    ['the upstream cut mid-blob', { cutAt: 196_608 }, undefined],
  ])('%s', async (_name, fault, code) => {
    const data = randomBytes(400_000);
    const digest = digestOf(data);
    const upstream = await trickle(data, fault);
    upstream.open();
    const { root, store, fills } = await setup();
    const acquired = await fills.acquire(digest, opener(upstream.server.url));
    if (acquired.kind !== 'fill') throw new Error('expected a fill');
    const readers = [acquired.fill.reader(), acquired.fill.reader(), acquired.fill.reader({ start: 10, end: 20 })];
    const results = await Promise.all(
      readers.map((r) =>
        readAll(r).then(
          () => 'clean end',
          (e: { code?: string }) => e.code ?? 'error',
        ),
      ),
    );
    // Even the short range before the damage fails: its last byte waits for verification.
    expect(results).not.toContain('clean end');
    if (code) expect(results).toEqual([code, code, code]);
    await acquired.fill.finished;
    expect(await store.stat(digest)).toBeUndefined();
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    // The next request starts afresh.
    const again = await fills.acquire(digest, opener(upstream.server.url));
    expect(again.kind).toBe('fill');
    expect(upstream.server.requests).toHaveLength(2);
  });
});

describe('no room to spool', () => {
  test('the first asker gets the upstream response straight through, uncached', async () => {
    const data = randomBytes(10_000);
    const upstream = await trickle(data);
    upstream.open();
    const root = mkdtempSync(join(tmpdir(), 'docxy-nospace-'));
    dirs.push(root);
    const store = new FsBlobStore({ root, maxSize: 1 << 30 });
    await store.cleanup();
    // A margin larger than any disk: nothing fits.
    const fills = new FillCoordinator({
      spoolDir: store.tmpDir,
      store,
      space: new SpaceGuard({ dir: store.tmpDir, marginBytes: Number.MAX_SAFE_INTEGER }),
    });
    const acquired = await fills.acquire(digestOf(data), opener(upstream.server.url));
    expect(acquired.kind).toBe('direct');
    if (acquired.kind !== 'direct') return;
    expect((await readAll(acquired.response.body)).equals(data)).toBe(true);
    expect(await store.stat(digestOf(data))).toBeUndefined();
  });
});

describe("one client's failure is not everyone's", () => {
  test('when the request that started a fill is refused, the callers waiting on it fetch for themselves', async () => {
    const registry = await startFakeRegistry();
    servers.push(registry);
    const data = randomBytes(200_000);
    const digest = registry.blob(data);
    const upstream = upstreamAt(registry.url, false);
    const { fills } = await setup();
    const openAs = (token: string) => () => upstream.blob({ repo: 'private/app', digest, method: 'GET', authorization: `Bearer ${token}` });
    // mallory's request (a token the upstream refuses) starts the fill; alice's arrive while it is pending.
    const mallory = fills.acquire(digest, openAs('mallory'));
    const alices = [1, 2, 3].map(() => fills.acquire(digest, openAs('alice')));
    await expect(mallory).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await Promise.all(alices)).map((a) => a.kind)).toEqual(['none', 'none', 'none']);
    // Each then fetches for itself (and they coalesce again).
    const own = await Promise.all(
      [1, 2, 3].map(async () => {
        const acquired = await fills.acquire(digest, openAs('alice'));
        if (acquired.kind !== 'fill') throw new Error(`expected a fill, got ${acquired.kind}`);
        return readAll(acquired.fill.reader());
      }),
    );
    for (const body of own) expect(body.equals(data)).toBe(true);
    expect(registry.count('GET', 'blobs')).toBe(2);
  });
});

describe('the caps hold under concurrency', () => {
  /**
   * `count` distinct cold blobs whose upstream answers reach `acquire` all in the same
   * tick: the race a burst of cold pulls creates. Each upstream sends its headers (with
   * `announce` as Content-Length, the real size if not given, none if null) and its first
   * bytes, then holds the rest until the test ends.
   */
  async function burst(count: number, fills: FillCoordinator, announce?: number | null): Promise<Acquired[]> {
    const blobs = Array.from({ length: count }, () => randomBytes(64 * 1024));
    const server = await serve((req, res) => {
      const data = blobs[Number(req.url!.slice(1))]!;
      const length = announce === null ? {} : { 'content-length': String(announce ?? data.length) };
      res.writeHead(200, length);
      res.write(data.subarray(0, 1024));
    });
    servers.push(server);
    let arrived = 0;
    let allArrived: () => void = () => {};
    const gate = new Promise<void>((resolve) => (allArrived = resolve));
    return Promise.all(
      blobs.map((data, i) =>
        fills.acquire(digestOf(data), async () => {
          const response = await opener(`${server.url}/${i}`)();
          if (++arrived === count) allArrived();
          await gate;
          return response;
        }),
      ),
    );
  }

  const kinds = (all: Acquired[]): string[] => all.map((a) => a.kind).sort();

  test('no more than maxFills fills start, however many cold blobs arrive at once', async () => {
    const { fills } = await setup({ maxFills: 2 });
    const acquired = await burst(6, fills);
    expect(kinds(acquired)).toEqual(['direct', 'direct', 'direct', 'direct', 'fill', 'fill']);
  });

  test('reservations never add up to more than the free disk', async () => {
    const root = mkdtempSync(join(tmpdir(), 'docxy-fills-space-'));
    dirs.push(root);
    // Room for two and a half blobs of a tenth of the free space each, whatever the disk.
    const stats = statfsSync(root);
    const free = stats.bavail * stats.bsize;
    const announced = Math.floor(free / 10);
    const space = new SpaceGuard({ dir: root, marginBytes: free - Math.floor(2.5 * announced) });
    const { fills } = await setup({ space });
    const acquired = await burst(5, fills, announced);
    expect(kinds(acquired)).toEqual(['direct', 'direct', 'direct', 'fill', 'fill']);
    expect(space.reservedBytes).toBe(2 * announced);
  });

  test('a blob without Content-Length reserves the configured estimate', async () => {
    const { fills, space } = await setup({ unknownSizeEstimate: 5_000_000 });
    const [acquired] = await burst(1, fills, null);
    expect(acquired!.kind).toBe('fill');
    expect(space.reservedBytes).toBe(5_000_000);
  });

  test('a blob without Content-Length is not cached when its estimate does not fit', async () => {
    const { fills, space } = await setup({ unknownSizeEstimate: 2 ** 52 });
    const [acquired] = await burst(1, fills, null);
    expect(acquired!.kind).toBe('direct');
    expect(space.reservedBytes).toBe(0);
  });
});

describe('a blob without Content-Length grows its reservation as it spools', () => {
  const MiB = 1024 * 1024;
  const mounts: string[] = [];
  afterEach(() => {
    for (const dir of mounts.splice(0)) {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /**
   * A store on its own small tmpfs (needs root, as the tests run in CI), so the free
   * space the SpaceGuard sees is this test's alone, whatever else writes to the disk.
   */
  async function onTmpfs(bytes: number, marginBytes: number, options: Partial<FillCoordinatorOptions>) {
    const root = mkdtempSync(join(tmpdir(), 'docxy-fills-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', root]);
    mounts.push(root);
    const store = new FsBlobStore({ root, maxSize: 1 << 30 });
    await store.cleanup();
    const space = new SpaceGuard({ dir: store.tmpDir, marginBytes });
    const fills = new FillCoordinator({ spoolDir: store.tmpDir, store, space, makeRoom: (b) => store.freeBytes(b), ...options });
    return { store, space, fills };
  }

  /** An upstream that sends `data` chunked (no Content-Length), every time it is asked. */
  async function chunked(data: Buffer) {
    const server = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let offset = 0; offset < data.length; offset += 65536) {
        if (!res.write(data.subarray(offset, offset + 65536))) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
    });
    servers.push(server);
    return server;
  }

  test('a blob larger than the estimate is cached when the disk has room for more steps', async () => {
    const data = randomBytes(5 * MiB);
    const digest = digestOf(data);
    const upstream = await chunked(data);
    // 8 MiB of disk: enough only if bytes already spooled stop counting as reserved when
    // the reservation grows (free space shows them; counted twice, growth stops near 4 MiB).
    const { store, space, fills } = await onTmpfs(8 * MiB, 0, { unknownSizeEstimate: MiB });
    const acquired = await fills.acquire(digest, opener(upstream.url));
    if (acquired.kind !== 'fill') throw new Error(`expected a fill, got ${acquired.kind}`);
    expect(acquired.fill.size).toBeUndefined();
    expect(digestOf(await readAll(acquired.fill.reader()))).toBe(digest);
    await acquired.fill.finished;
    expect(acquired.fill.state).toBe('verified');
    expect(await store.stat(digest)).toEqual({ size: data.length });
    expect(space.reservedBytes).toBe(0);
    expect(readdirSync(store.tmpDir)).toEqual([]);
  });

  test('a blob that outgrows the disk fails the fill before the spool passes the margin; the retry is served uncached', async () => {
    const data = randomBytes(12 * MiB);
    const digest = digestOf(data);
    const upstream = await chunked(data);
    // 8 MiB of disk, 2 MiB of it never to be spooled into: the spool may reach 6 MiB.
    const { store, space, fills } = await onTmpfs(8 * MiB, 2 * MiB, { unknownSizeEstimate: MiB });
    const acquired = await fills.acquire(digest, opener(upstream.url));
    if (acquired.kind !== 'fill') throw new Error(`expected a fill, got ${acquired.kind}`);
    const fill = acquired.fill;
    let most = 0;
    fill.on('progress', () => (most = Math.max(most, fill.written)));
    const read = readAll(fill.reader()).then(
      () => 'clean end',
      (e: { code?: string }) => e.code ?? 'error',
    );
    await fill.finished;
    expect(await read).toBe('UNAVAILABLE');
    expect(fill.state).toBe('failed');
    expect(fill.error).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(most).toBeLessThanOrEqual(6 * MiB);
    expect(await store.stat(digest)).toBeUndefined();
    expect(space.reservedBytes).toBe(0);
    expect(readdirSync(store.tmpDir)).toEqual([]);
    // The retry does not start a fill that would fail at the same point: it is served
    // straight through (the caller verifies it), uncached.
    const again = await fills.acquire(digest, opener(upstream.url));
    expect(again.kind).toBe('direct');
    if (again.kind !== 'direct') return;
    expect(digestOf(await readAll(again.response.body))).toBe(digest);
    expect(space.reservedBytes).toBe(0);
  });
});

describe('spools never outlive their fill', () => {
  /** A store whose commit fails: fs with a file where the blob's directory must go; S3 with no server. */
  const failingStores: Array<[string, (root: string, digest: string) => BlobStore]> = [
    [
      'fs',
      (root, digest) => {
        mkdirSync(join(root, 'blobs', 'sha256'), { recursive: true });
        writeFileSync(join(root, 'blobs', 'sha256', digest.slice(7, 9)), 'in the way');
        return new FsBlobStore({ root, maxSize: 1 << 30 });
      },
    ],
    [
      'S3',
      () => {
        const client = new S3Client({
          region: 'us-east-1',
          endpoint: 'http://127.0.0.1:9',
          forcePathStyle: true,
          maxAttempts: 1,
          credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        });
        return new S3BlobStore({ client, bucket: 'nowhere' });
      },
    ],
  ];

  test.each(failingStores)('a commit that throws leaves no spool behind (%s store)', async (_name, makeStore) => {
    const data = randomBytes(300_000);
    const digest = digestOf(data);
    const upstream = await trickle(data);
    upstream.open();
    const root = mkdtempSync(join(tmpdir(), 'docxy-fills-commit-'));
    dirs.push(root);
    const spoolDir = join(root, 'tmp');
    const store = makeStore(root, digest);
    const fills = new FillCoordinator({ spoolDir, store, space: new SpaceGuard({ dir: root, marginBytes: 0 }) });
    await fills.cleanup();
    const acquired = await fills.acquire(digest, opener(upstream.server.url));
    if (acquired.kind !== 'fill') throw new Error('expected a fill');
    const commitError = new Promise((resolve) => acquired.fill.once('commit-error', resolve));
    // The bytes verified, so the readers still get the whole blob; only caching failed.
    expect((await readAll(acquired.fill.reader())).equals(data)).toBe(true);
    await commitError;
    await acquired.fill.finished;
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  test('start-up removes spools a crash left behind, with an S3 store too', async () => {
    const root = mkdtempSync(join(tmpdir(), 'docxy-fills-crash-'));
    dirs.push(root);
    mkdirSync(join(root, 'tmp'));
    writeFileSync(join(root, 'tmp', 'fill-3f1c0d4e'), 'half a blob');
    writeFileSync(join(root, 'tmp', 'unrelated'), 'not a spool');
    const [, makeS3] = failingStores[1]!;
    const store = makeS3(root, '');
    const fills = new FillCoordinator({ spoolDir: join(root, 'tmp'), store, space: new SpaceGuard({ dir: root }) });
    await store.cleanup();
    await fills.cleanup();
    expect(readdirSync(join(root, 'tmp'))).toEqual(['unrelated']);
  });
});
