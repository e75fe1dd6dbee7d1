/**
 * The BlobStore contract, run against every adapter (filesystem, S3): what a writer
 * commits, what it refuses, ranges, deletes, and that nothing half-written is visible.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from '../src/cache/blob-store.js';
import { RegistryError } from '../src/errors.js';
import { readAll } from './servers.js';

export const digestOf = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function writeAll(store: BlobStore, digest: string, chunks: Buffer[], size?: number): Promise<void> {
  const writer = await store.write(digest, size);
  for (const chunk of chunks) {
    await new Promise<void>((resolve, reject) => writer.stream.write(chunk, (err) => (err ? reject(err) : resolve())));
  }
  await writer.commit();
}

export function describeBlobStore(name: string, make: () => Promise<{ store: BlobStore; close(): Promise<void> }>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await make());
      await store.cleanup();
    });
    afterAll(async () => {
      await close();
    });

    test('a blob written in chunks is committed and read back', async () => {
      const data = randomBytes(300_000);
      const digest = digestOf(data);
      expect(await store.stat(digest)).toBeUndefined();
      await writeAll(store, digest, [data.subarray(0, 1000), data.subarray(1000, 200_000), data.subarray(200_000)], data.length);
      expect(await store.stat(digest)).toEqual({ size: data.length });
      expect((await readAll(await store.open(digest))).equals(data)).toBe(true);
    });

    test('ranges read exactly the requested bytes', async () => {
      const data = randomBytes(10_000);
      const digest = digestOf(data);
      await writeAll(store, digest, [data]);
      for (const [start, end] of [
        [0, 0],
        [100, 199],
        [9_000, 9_999],
      ] as const) {
        expect((await readAll(await store.open(digest, { start, end }))).equals(data.subarray(start, end + 1))).toBe(true);
      }
    });

    test('bytes that do not hash to the digest are refused and never visible', async () => {
      const data = randomBytes(5000);
      const wrong = digestOf(Buffer.from('something else'));
      const err = await writeAll(store, wrong, [data]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe('DIGEST_INVALID');
      expect(await store.stat(wrong)).toBeUndefined();
      expect(await store.open(wrong)).toBeUndefined();
    });

    test('the right bytes with the wrong declared size are refused', async () => {
      const data = randomBytes(5000);
      const digest = digestOf(data);
      const err = await writeAll(store, digest, [data], 4999).catch((e: unknown) => e);
      expect((err as RegistryError).code).toBe('SIZE_INVALID');
      expect(await store.stat(digest)).toBeUndefined();
    });

    test('an aborted write leaves nothing behind', async () => {
      const data = randomBytes(5000);
      const digest = digestOf(data);
      const writer = await store.write(digest);
      writer.stream.write(data.subarray(0, 100));
      await writer.abort();
      expect(await store.stat(digest)).toBeUndefined();
    });

    test('importFile adopts a verified local file', async () => {
      const data = randomBytes(70_000);
      const digest = digestOf(data);
      const path = join(tmpdir(), `docxy-import-${digest.slice(7, 19)}`);
      writeFileSync(path, data);
      await store.importFile(digest, path, data.length);
      expect((await readAll(await store.open(digest))).equals(data)).toBe(true);
    });

    test('delete removes a blob; deleting twice is harmless', async () => {
      const data = randomBytes(100);
      const digest = digestOf(data);
      await writeAll(store, digest, [data]);
      await store.delete(digest);
      await store.delete(digest);
      expect(await store.stat(digest)).toBeUndefined();
      expect(await store.open(digest)).toBeUndefined();
    });

    test('an absent blob opens as undefined', async () => {
      expect(await store.open(`sha256:${'e'.repeat(64)}`)).toBeUndefined();
    });
  });
}
