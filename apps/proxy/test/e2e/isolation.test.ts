/**
 * Trust holes between clients and between the cache and its host, end to end against the
 * real registry: a disk filled by something else makes room by evicting old blobs, spools
 * of a crashed run are removed in S3 mode too, and an upstream on a private address is
 * refused at once with a message (and a start-up warning) naming the setting.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdirSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { MT, type Image } from '../testbed/images.js';
import { call, errorCode, pullHeaders } from '../testbed/client.js';
import { seedRandomImage } from '../testbed/testbed.js';
import { pullBlob } from '../testbed/blob-pull.js';
import { mountTmpfs } from '../testbed/tmpfs.js';
import { startS3rver } from '../testbed/s3rver.js';
import { tempDir } from '../testbed/tmp.js';

const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const env = useSeededMirror();

let mirror: TestMirror | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await mirror?.stop();
  mirror = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const auth = pullHeaders;
const seed = (name: string, bytes: number): Promise<Image> => seedRandomImage(env.bed, name, bytes);

/** Pulls an image's layer through `mirror` and waits until its fill has ended. */
async function pullLayer(on: TestMirror, name: string, image: Image) {
  const layer = image.blobs[1]!;
  const pull = await pullBlob(on.url, `/v2/${name}/blobs/${layer.digest}`, await auth(on.url, name));
  await on.cache.fills.get(layer.digest)?.finished;
  return { pull, layer };
}

describe('a disk filled by something else', () => {
  test('makes room by evicting least recently used blobs, even far below maxSize', async () => {
    const mount = mountTmpfs(16 * 1024 * 1024);
    cleanups.push(() => mount.unmount());
    // maxSize far above the disk: only the disk is short.
    mirror = await startTestMirror(env.bed, { dataDir: mount.path, cache: { maxSize: '1GB' } });
    const [old, fresh] = [await seed('lru-old', 3 * 1024 * 1024), await seed('lru-new', 3 * 1024 * 1024)];
    const first = await pullLayer(mirror, 'lru-old', old);
    expect(first.pull).toMatchObject({ outcome: 'end', digest: first.layer.digest });
    expect(await mirror.cache.store.stat(first.layer.digest)).toBeDefined();
    // Another process takes the disk, leaving less than the next layer needs.
    const stats = statfsSync(mount.path);
    writeFileSync(join(mount.path, 'filler'), Buffer.alloc(stats.bavail * stats.bsize - 1024 * 1024));
    const second = await pullLayer(mirror, 'lru-new', fresh);
    expect(second.pull).toMatchObject({ outcome: 'end', digest: second.layer.digest });
    expect(await mirror.cache.store.stat(second.layer.digest)).toBeDefined();
    expect(await mirror.cache.store.stat(first.layer.digest)).toBeUndefined();
    expect(mirror.logs.some((l) => l.includes('evicted blob') && l.includes(first.layer.digest))).toBe(true);
  });
});

describe('spools left by a crash', () => {
  test('are removed at start-up in S3 mode too', async () => {
    const bucket = 'docxy-isolation';
    const s3 = await startS3rver(bucket);
    cleanups.push(() => s3.close());
    const data = tempDir('isolation-s3');
    cleanups.push(() => data.remove());
    mkdirSync(join(data.path, 'tmp'));
    writeFileSync(join(data.path, 'tmp', 'fill-0b1e2c3d'), 'half a layer from the run that crashed');
    mirror = await startTestMirror(env.bed, {
      dataDir: data.path,
      cache: {
        store: 's3',
        s3: { bucket, endpoint: s3.endpoint, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      },
    });
    expect(readdirSync(join(data.path, 'tmp'))).toEqual([]);
  });
});

describe('an upstream on a private address with allowPrivateNetworks off', () => {
  test('is named in a start-up warning, and a pull fails at once naming the setting', async () => {
    mirror = await startTestMirror(env.bed, { upstream: { allowPrivateNetworks: false, retries: 2 } });
    const warning = mirror.logs.find((l) => l.includes('"level":40') && l.includes('upstream.allowPrivateNetworks'));
    expect(warning).toBeDefined();
    expect(warning).toContain('docker.io');
    env.bed.front.calls.length = 0;
    const reply = await call(`${mirror.url}/v2/alpine/manifests/latest`, { headers: { authorization: 'Bearer x', accept: ALL } });
    expect(reply.status).toBe(502);
    expect(errorCode(reply)).toBe('UNAVAILABLE');
    const message = (JSON.parse(reply.body.toString()) as { errors: Array<{ message: string }> }).errors[0]!.message;
    expect(message).toContain(new URL(env.bed.upstreamUrl).host);
    expect(message).toContain('upstream.allowPrivateNetworks');
    expect(message).toContain('registry docker.io');
    expect(env.bed.front.calls).toEqual([]);
  });

  test('gives no warning when private networks are allowed', async () => {
    mirror = await startTestMirror(env.bed);
    expect(mirror.logs.some((l) => l.includes('upstream.allowPrivateNetworks'))).toBe(false);
  });
});
