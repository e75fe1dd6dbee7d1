import { afterAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../src/cache/fs-blob-store.js';
import { describeBlobStore, digestOf } from './blob-store-contract.js';
import { readAll } from './servers.js';

const dirs: string[] = [];
const freshDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'docxy-fs-store-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describeBlobStore('filesystem', async () => ({ store: new FsBlobStore({ root: freshDir(), maxSize: 1 << 30 }), close: async () => {} }));

async function put(store: FsBlobStore, data: Buffer): Promise<string> {
  const digest = digestOf(data);
  const writer = await store.write(digest);
  writer.stream.end(data);
  await writer.commit();
  return digest;
}

describe('filesystem store specifics', () => {
  test('a restart removes half-written leftovers and finds committed blobs', async () => {
    const root = freshDir();
    const first = new FsBlobStore({ root, maxSize: 1 << 30 });
    await first.cleanup();
    const kept = await put(first, randomBytes(1000));
    // A crash mid-write leaves a temporary file behind.
    const writer = await first.write(digestOf(Buffer.from('never finished')));
    writer.stream.write(Buffer.from('never'));
    writeFileSync(join(root, 'tmp', 'fill-leftover'), 'partial');
    const second = new FsBlobStore({ root, maxSize: 1 << 30 });
    await second.cleanup();
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    expect(await second.stat(kept)).toEqual({ size: 1000 });
  });

  test('least recently used blobs are evicted past maxSize, never one being read', async () => {
    const evicted: string[] = [];
    const store = new FsBlobStore({ root: freshDir(), maxSize: 2500, onEvict: (d) => evicted.push(d) });
    await store.cleanup();
    const a = await put(store, randomBytes(1000));
    const b = await put(store, randomBytes(1000));
    // Read a (most recent now) and keep it open.
    const reading = await store.open(a);
    const c = await put(store, randomBytes(1000));
    expect(evicted).toEqual([b]);
    expect(store.index.total).toBe(2000);
    const d = await put(store, randomBytes(1000));
    // a is pinned by its open reader: c goes instead.
    expect(evicted).toEqual([b, c]);
    expect(await store.stat(a)).toBeDefined();
    expect((await readAll(reading!)).length).toBe(1000);
    expect(await store.stat(d)).toBeDefined();
  });

  test('freeBytes frees least recently used blobs when something else filled the disk, whatever maxSize says', async () => {
    const evicted: string[] = [];
    // maxSize is far away: only the disk is short.
    const store = new FsBlobStore({ root: freshDir(), maxSize: 1 << 30, onEvict: (d) => evicted.push(d) });
    await store.cleanup();
    const a = await put(store, randomBytes(1000));
    const b = await put(store, randomBytes(1000));
    const c = await put(store, randomBytes(1000));
    const reading = await store.open(a); // a is in use (and now the most recent)
    expect(await store.freeBytes(1500)).toBe(2000);
    expect(evicted).toEqual([b, c]);
    expect(existsSync(store.pathOf(b))).toBe(false);
    expect(await store.stat(a)).toEqual({ size: 1000 });
    expect((await readAll(reading!)).length).toBe(1000);
  });

  test('freeBytes evicts nothing when that much cannot be freed', async () => {
    const store = new FsBlobStore({ root: freshDir(), maxSize: 1 << 30 });
    await store.cleanup();
    const a = await put(store, randomBytes(1000));
    expect(await store.freeBytes(5000)).toBe(0);
    expect(await store.stat(a)).toEqual({ size: 1000 });
  });

  test('a file importFile cannot adopt is removed, not left in tmp', async () => {
    const root = freshDir();
    const store = new FsBlobStore({ root, maxSize: 1 << 30 });
    await store.cleanup();
    const data = randomBytes(100);
    const digest = digestOf(data);
    writeFileSync(join(root, 'blobs', 'sha256', digest.slice(7, 9)), 'a file where the directory must go');
    const spool = join(store.tmpDir, 'fill-x');
    writeFileSync(spool, data);
    await expect(store.importFile(digest, spool, data.length)).rejects.toThrow();
    expect(readdirSync(store.tmpDir)).toEqual([]);
  });

  test('never writes outside its root', () => {
    const store = new FsBlobStore({ root: freshDir(), maxSize: 1 });
    expect(() => store.pathOf('sha256:../../etc/passwd')).toThrow();
    expect(() => store.pathOf(`sha512:${'a'.repeat(128)}`)).toThrow();
  });

  test('a blob deleted behind its back is forgotten', async () => {
    const root = freshDir();
    const store = new FsBlobStore({ root, maxSize: 1 << 20 });
    await store.cleanup();
    const digest = await put(store, randomBytes(10));
    rmSync(store.pathOf(digest));
    expect(await store.open(digest)).toBeUndefined();
    expect(await store.stat(digest)).toBeUndefined();
  });
});
