import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3BlobStore, S3ObjectStore } from '../src/cache/s3-blob-store.js';
import { ManifestCache } from '../src/cache/manifest-cache.js';
import { describeBlobStore, digestOf } from './blob-store-contract.js';
import { startS3, type TestS3 } from './s3-server.js';
import { readAll } from './servers.js';

// Small parts so the contract's larger blobs go through multipart uploads.
describeBlobStore('S3 (s3rver)', async () => {
  const s3 = await startS3();
  return { store: new S3BlobStore({ client: s3.client, bucket: s3.bucket, prefix: 'docxy/', partSize: 5 * 1024 * 1024 }), close: s3.close };
});

describe('S3 store specifics', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startS3('docxy-specifics');
  });
  afterAll(async () => {
    await s3?.close();
  });

  const keys = async (): Promise<string[]> =>
    ((await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))).Contents ?? []).map((o) => o.Key!);

  test('a multipart blob is visible only once verified; a wrong one never appears', async () => {
    const store = new S3BlobStore({ client: s3.client, bucket: s3.bucket, partSize: 5 * 1024 * 1024 });
    const data = randomBytes(12 * 1024 * 1024);
    const digest = digestOf(data);
    const writer = await store.write(digest, data.length);
    for (let offset = 0; offset < data.length; offset += 1024 * 1024) {
      await new Promise<void>((resolve, reject) =>
        writer.stream.write(data.subarray(offset, offset + 1024 * 1024), (e) => (e ? reject(e) : resolve())),
      );
    }
    // Two parts are uploaded, yet nothing is visible under the blob's key.
    expect(await store.stat(digest)).toBeUndefined();
    await writer.commit();
    expect(await store.stat(digest)).toEqual({ size: data.length });
    expect(
      (await readAll(await store.open(digest, { start: 6_000_000, end: 6_000_099 }))).equals(data.subarray(6_000_000, 6_000_100)),
    ).toBe(true);

    const bad = await store.write(digestOf(Buffer.from('other')));
    bad.stream.write(data);
    await expect(bad.commit()).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect(await keys()).toEqual([`blobs/${digest.replace(':', '/')}`]);
  });

  test('presigned URLs serve the blob without credentials, ranges included', async () => {
    const store = new S3BlobStore({ client: s3.client, bucket: s3.bucket });
    const data = randomBytes(50_000);
    const digest = digestOf(data);
    const writer = await store.write(digest);
    writer.stream.end(data);
    await writer.commit();
    const url = await store.presign(digest, 60);
    expect(url.startsWith(s3.endpoint)).toBe(true);
    const whole = await fetch(url);
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
    const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
  });

  test('manifests and tags are shared through the bucket', async () => {
    const objects = new S3ObjectStore({ client: s3.client, bucket: s3.bucket, prefix: 'x/' });
    const one = new ManifestCache(objects);
    const two = new ManifestCache(objects);
    const body = Buffer.from('{"schemaVersion":2}');
    await one.putManifest({ digest: digestOf(body), mediaType: 'application/vnd.oci.image.manifest.v1+json', body });
    await one.putTag('docker.io', 'library/redis', 'latest', 'application/vnd.oci.image.manifest.v1+json', {
      digest: digestOf(body),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      validatedAt: 5,
    });
    expect((await two.getManifest(digestOf(body)))?.body.equals(body)).toBe(true);
    expect(await two.getTag('docker.io', 'library/redis', 'latest', 'application/vnd.oci.image.manifest.v1+json')).toMatchObject({
      digest: digestOf(body),
      validatedAt: 5,
    });
    expect(await two.getTag('docker.io', 'library/redis', 'other', 'application/vnd.oci.image.manifest.v1+json')).toBeUndefined();
  });
});
