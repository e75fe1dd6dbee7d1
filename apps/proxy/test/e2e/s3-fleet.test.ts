/**
 * Several replicas sharing one S3 bucket (s3rver): what one replica fetched, the
 * others serve without going upstream; `cache.redirect` answers warm blob GETs with a
 * 307 to a presigned URL that real clients follow.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { startS3rver } from '../testbed/s3rver.js';
import { MT } from '../testbed/images.js';
import { call, tokenFrom } from '../testbed/client.js';
import { pullBlob } from '../testbed/blob-pull.js';
import { skopeoCopy } from '../testbed/clients.js';
import { tempDir } from '../testbed/tmp.js';

const BUCKET = 'docxy-fleet';
const env = useSeededMirror();
let s3: { endpoint: string; close(): Promise<void> };
let replicas: TestMirror[] = [];

beforeAll(async () => {
  s3 = await startS3rver(BUCKET);
  const cache = (redirect: boolean) => ({
    store: 's3' as const,
    redirect,
    s3: { bucket: BUCKET, endpoint: s3.endpoint, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', prefix: 'fleet/' },
  });
  replicas = [
    await startTestMirror(env.bed, { cache: cache(false) }),
    await startTestMirror(env.bed, { cache: cache(false) }),
    await startTestMirror(env.bed, { cache: cache(true) }),
  ];
});
afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  await s3?.close();
});

const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const auth = async (mirror: TestMirror, repo: string) => ({
  authorization: `Bearer ${await tokenFrom(`${mirror.url}/auth/token`, `repository:${repo}:pull`)}`,
  accept: ALL,
});

describe('replicas share one bucket', () => {
  test('a blob and manifest fetched by one replica are served by another without an upstream download', async () => {
    const [a, b] = replicas as [TestMirror, TestMirror];
    const layer = env.images.namespaced.blobs[1]!;
    const first = await pullBlob(a.url, `/v2/acme/tool/blobs/${layer.digest}`, await auth(a, 'acme/tool'));
    expect(first).toMatchObject({ outcome: 'end', digest: layer.digest });
    await a.cache.fills.get(layer.digest)?.finished;
    expect((await call(`${a.url}/v2/acme/tool/manifests/1.0`, { headers: await auth(a, 'acme/tool') })).status).toBe(200);
    const cdnBefore = env.bed.cdn.calls.length;
    const manifestGetsBefore = env.bed.front.manifestGets().length;
    const second = await pullBlob(b.url, `/v2/acme/tool/blobs/${layer.digest}`, await auth(b, 'acme/tool'));
    expect(second).toMatchObject({ outcome: 'end', digest: layer.digest });
    const manifest = await call(`${b.url}/v2/acme/tool/manifests/1.0`, { headers: await auth(b, 'acme/tool') });
    expect(manifest.headers.get('docker-content-digest')).toBe(env.images.namespaced.top.digest);
    // B only asked upstream whether its client may read (free HEADs), never for content.
    expect(env.bed.cdn.calls.slice(cdnBefore).filter((c) => c.method === 'GET')).toEqual([]);
    expect(env.bed.front.manifestGets().length).toBe(manifestGetsBefore);
  });

  test('cache.redirect: a warm blob GET is a 307 to a presigned URL that skopeo follows', async () => {
    const redirecting = replicas[2]!;
    const headers = await auth(redirecting, 'alpine');
    const layer = env.images.list.blobs[1]!;
    await pullBlob(redirecting.url, `/v2/alpine/blobs/${layer.digest}`, headers);
    await redirecting.cache.fills.get(layer.digest)?.finished;
    const res = await fetch(`${redirecting.url}/v2/alpine/blobs/${layer.digest}`, { headers, redirect: 'manual' });
    expect(res.status).toBe(307);
    const location = res.headers.get('location')!;
    expect(location.startsWith(`${s3.endpoint}/${BUCKET}/fleet/blobs/sha256/`)).toBe(true);
    expect(location).toContain('X-Amz-Signature=');
    const dir = tempDir('skopeo-s3');
    try {
      expect(await skopeoCopy(`${redirecting.hostPort}/alpine:latest`, join(dir.path, 'out'))).toBe(env.images.list.top.digest);
    } finally {
      dir.remove();
    }
  }, 60_000);
});
