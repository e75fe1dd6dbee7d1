/**
 * The pull-through cache against the real registry: coalesced cold pulls, clients
 * hanging up, the manifest quota economy, and access to cached private content.
 */
import { describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { singleImage, MT, type Image } from '../testbed/images.js';
import { basic, call, tokenFrom } from '../testbed/client.js';
import { pullBlob } from '../testbed/blob-pull.js';
import { USERS } from '../testbed/token-service.js';

// 8 MiB of random bytes (gzip cannot shrink it), for fan-out tests.
const shared: Image = singleImage('fanout', { payload: randomBytes(8 * 1024 * 1024), gzipLevel: 1 });
const env = useSeededMirror({ beforeMirror: (bed) => bed.push('library/fanout', shared, ['latest']) });
const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');

async function auth(scope: string, credentials?: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFrom(`${env.mirror.url}/auth/token`, `repository:${scope}:pull`, credentials)}` };
}

describe('blobs', () => {
  test('20 concurrent cold pulls of one blob cost one upstream download; every client gets the exact bytes', async () => {
    const layer = shared.blobs[1]!;
    const headers = await auth('fanout');
    env.bed.cdn.fault = () => ({ chunkDelayMs: 2 });
    const sentBefore = env.bed.cdn.bytesSent();
    try {
      const pulls = await Promise.all(
        Array.from({ length: 20 }, () => pullBlob(env.mirror.url, `/v2/fanout/blobs/${layer.digest}`, headers)),
      );
      for (const pull of pulls) expect(pull).toMatchObject({ status: 200, outcome: 'end', digest: layer.digest });
    } finally {
      env.bed.cdn.fault = undefined;
    }
    const downloads = env.bed.cdn.calls.filter((c) => c.method === 'GET' && c.path.includes(layer.digest.slice(7)));
    expect(downloads).toHaveLength(1);
    expect(env.bed.cdn.bytesSent() - sentBefore).toBe(layer.data.length);
    // Warm: no upstream transfer at all.
    const warm = await pullBlob(env.mirror.url, `/v2/fanout/blobs/${layer.digest}`, headers);
    expect(warm).toMatchObject({ status: 200, outcome: 'end', digest: layer.digest });
    expect(env.bed.cdn.bytesSent() - sentBefore).toBe(layer.data.length);
  });

  test('a client hanging up mid-blob does not stop the others or the cache', async () => {
    const image = singleImage('hangup', { payload: randomBytes(4 * 1024 * 1024), gzipLevel: 1 });
    await env.bed.push('library/hangup', image, ['latest']);
    const layer = image.blobs[1]!;
    const headers = await auth('hangup');
    env.bed.cdn.fault = () => ({ chunkDelayMs: 3 });
    try {
      const quitter = pullBlob(env.mirror.url, `/v2/hangup/blobs/${layer.digest}`, headers, (req) => req.destroy());
      const stayers = [1, 2].map(() => pullBlob(env.mirror.url, `/v2/hangup/blobs/${layer.digest}`, headers));
      expect((await quitter).outcome).toBe('error');
      for (const pull of await Promise.all(stayers)) expect(pull).toMatchObject({ outcome: 'end', digest: layer.digest });
    } finally {
      env.bed.cdn.fault = undefined;
    }
    await env.mirror.cache.fills.get(layer.digest)?.finished;
    expect(await env.mirror.cache.store.stat(layer.digest)).toEqual({ size: layer.data.length });
    expect(env.bed.cdn.calls.filter((c) => c.method === 'GET' && c.path.includes(layer.digest.slice(7)))).toHaveLength(1);
  });

  test('a resumed pull (Range) of a cold blob gets 206 and the right bytes', async () => {
    const image = singleImage('resume', { payload: randomBytes(2 * 1024 * 1024), gzipLevel: 1 });
    await env.bed.push('library/resume', image, ['latest']);
    const layer = image.blobs[1]!;
    const res = await call(`${env.mirror.url}/v2/resume/blobs/${layer.digest}`, {
      headers: { ...(await auth('resume')), range: 'bytes=1000000-' },
    });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 1000000-${layer.data.length - 1}/${layer.data.length}`);
    expect(res.body.equals(layer.data.subarray(1_000_000))).toBe(true);
  });
});

describe('manifests: the quota economy', () => {
  test('20 pulls of an unchanged tag cost one manifest GET upstream', async () => {
    const headers = { ...(await auth('alpine')), accept: ALL };
    env.bed.front.calls.length = 0;
    for (let i = 0; i < 20; i++) {
      const reply = await call(`${env.mirror.url}/v2/alpine/manifests/3.20`, { headers });
      expect(reply.headers.get('docker-content-digest')).toBe(env.images.list.top.digest);
    }
    expect(env.bed.front.manifestGets()).toHaveLength(1);
  });

  test('a private image cached for one user is not served to an anonymous one', async () => {
    const alice = { ...(await auth('private/secret', basic('alice', USERS.alice!))), accept: ALL };
    const layer = env.images.secret.blobs[1]!;
    expect((await call(`${env.mirror.url}/v2/private/secret/manifests/latest`, { headers: alice })).status).toBe(200);
    expect((await pullBlob(env.mirror.url, `/v2/private/secret/blobs/${layer.digest}`, alice)).digest).toBe(layer.digest);
    await env.mirror.cache.fills.get(layer.digest)?.finished;
    expect(await env.mirror.cache.store.stat(layer.digest)).toBeDefined();
    const anonymous = { ...(await auth('private/secret')), accept: ALL };
    for (const path of [
      '/v2/private/secret/manifests/latest',
      `/v2/private/secret/manifests/${env.images.secret.top.digest}`,
      `/v2/private/secret/blobs/${layer.digest}`,
    ]) {
      const reply = await call(`${env.mirror.url}${path}`, { headers: anonymous });
      expect(reply.status).toBe(401);
      expect(reply.body.includes(layer.data.subarray(0, 32))).toBe(false);
    }
    const nobody = await call(`${env.mirror.url}/v2/private/secret/blobs/${layer.digest}`);
    expect(nobody.status).toBe(401);
  });
});
