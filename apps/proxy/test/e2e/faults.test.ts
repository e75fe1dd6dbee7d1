/**
 * Faults end to end against the real registry. Each test checks what the client
 * received (digest, clean end or failed transfer) and what the cache holds afterwards.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { readdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import type { Image } from '../testbed/images.js';
import { call, errorCode, pullHeaders } from '../testbed/client.js';
import { seedRandomImage } from '../testbed/testbed.js';
import { pullBlob } from '../testbed/blob-pull.js';
import { mountTmpfs } from '../testbed/tmpfs.js';
import { spawnMirror } from '../testbed/mirror-process.js';
import { tempDir } from '../testbed/tmp.js';

// Tags are revalidated on every pull here, so upstream trouble shows at once.
const env = useSeededMirror({ config: { cache: { tagFreshness: 0 } } });

afterEach(() => {
  env.bed.cdn.fault = undefined;
  env.bed.front.fault = undefined;
});

const auth = pullHeaders;
const seed = (name: string, bytes: number): Promise<Image> => seedRandomImage(env.bed, name, bytes);

async function settled(mirror: TestMirror, digest: string): Promise<void> {
  await mirror.cache.fills.get(digest)?.finished;
}

describe('broken blob transfers abort the client and cache nothing', () => {
  test.each([
    ['the upstream cut mid-blob', 'cut', { cutAfter: 700_000 }],
    ['one corrupted byte', 'corrupt', { corruptAt: 1_000_000 }],
  ])('%s', async (_name, repo, fault) => {
    const image = await seed(repo, 2 * 1024 * 1024);
    const layer = image.blobs[1]!;
    const headers = await auth(env.mirror.url, repo);
    env.bed.cdn.fault = () => fault;
    const pulls = await Promise.all([1, 2].map(() => pullBlob(env.mirror.url, `/v2/${repo}/blobs/${layer.digest}`, headers)));
    for (const pull of pulls) {
      expect(pull.outcome).toBe('error');
      expect(pull.digest).not.toBe(layer.digest);
    }
    await settled(env.mirror, layer.digest);
    expect(await env.mirror.cache.store.stat(layer.digest)).toBeUndefined();
    expect(readdirSync(join(env.mirror.dataDir, 'tmp'))).toEqual([]);
    // The next request starts afresh and succeeds.
    env.bed.cdn.fault = undefined;
    const again = await pullBlob(env.mirror.url, `/v2/${repo}/blobs/${layer.digest}`, headers);
    expect(again).toMatchObject({ outcome: 'end', digest: layer.digest });
    await settled(env.mirror, layer.digest);
    expect(await env.mirror.cache.store.stat(layer.digest)).toEqual({ size: layer.data.length });
  });
});

describe('upstream trouble', () => {
  test('upstream down: the cached tag is served stale with a Warning, cached digests are served', async () => {
    const headers = await auth(env.mirror.url, 'busybox');
    const layer = env.images.oci.blobs[1]!;
    const fresh = await call(`${env.mirror.url}/v2/busybox/manifests/latest`, { headers });
    expect(fresh.status).toBe(200);
    await pullBlob(env.mirror.url, `/v2/busybox/blobs/${layer.digest}`, headers);
    await settled(env.mirror, layer.digest);
    env.bed.front.fault = (c) => (c.path.startsWith('/v2/') ? { hangUp: true } : undefined);
    const stale = await call(`${env.mirror.url}/v2/busybox/manifests/latest`, { headers });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('warning')).toBe('110 - "Response is Stale"');
    expect(stale.headers.get('docker-content-digest')).toBe(env.images.oci.top.digest);
    // A new anonymous client (new token) still gets public cached content by digest.
    const other = await auth(env.mirror.url, 'busybox');
    const byDigest = await call(`${env.mirror.url}/v2/busybox/manifests/${env.images.oci.top.digest}`, { headers: other });
    expect(byDigest.status).toBe(200);
    expect((await pullBlob(env.mirror.url, `/v2/busybox/blobs/${layer.digest}`, other)).digest).toBe(layer.digest);
    // Nothing cached: the client is told the upstream is unavailable.
    const cold = await call(`${env.mirror.url}/v2/acme/tool/manifests/1.0`, { headers: await auth(env.mirror.url, 'acme/tool') });
    expect(cold.status).toBe(502);
    expect(errorCode(cold)).toBe('UNAVAILABLE');
  });

  test('upstream 429: the cached tag is served stale; with nothing cached the 429 is passed on', async () => {
    const headers = await auth(env.mirror.url, 'alpine');
    expect((await call(`${env.mirror.url}/v2/alpine/manifests/latest`, { headers })).status).toBe(200);
    env.bed.front.fault = (c) =>
      c.path.includes('/manifests/')
        ? {
            status: 429,
            headers: { 'retry-after': '3600', 'content-type': 'application/json' },
            body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"quota"}]}',
          }
        : undefined;
    const stale = await call(`${env.mirror.url}/v2/alpine/manifests/latest`, { headers });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('warning')).toBe('110 - "Response is Stale"');
    const cold = await call(`${env.mirror.url}/v2/alpine/manifests/never-pulled`, { headers });
    expect(cold.status).toBe(429);
    expect(errorCode(cold)).toBe('TOOMANYREQUESTS');
    expect(cold.headers.get('retry-after')).toBe('3600');
  });
});

describe('disk full (ENOSPC) on the data directory', () => {
  let mount: { path: string; unmount(): void } | undefined;
  let mirror: TestMirror | undefined;
  afterEach(async () => {
    await mirror?.stop();
    mirror = undefined;
    mount?.unmount();
    mount = undefined;
  });

  test('a blob larger than the free space is served straight through, uncached, and the mirror keeps serving', async () => {
    mount = mountTmpfs(4 * 1024 * 1024);
    mirror = await startTestMirror(env.bed, { dataDir: mount.path });
    const image = await seed('toobig', 6 * 1024 * 1024);
    const layer = image.blobs[1]!;
    const headers = await auth(mirror.url, 'toobig');
    const pull = await pullBlob(mirror.url, `/v2/toobig/blobs/${layer.digest}`, headers);
    expect(pull).toMatchObject({ status: 200, outcome: 'end', digest: layer.digest });
    expect(await mirror.cache.store.stat(layer.digest)).toBeUndefined();
    expect(mirror.logs.some((l) => l.includes('no disk space to cache this blob'))).toBe(true);
    expect((await fetch(`${mirror.url}/healthz`)).status).toBe(200);
  });

  test('the disk filling up mid-fill fails that transfer; the next one is served', async () => {
    mount = mountTmpfs(8 * 1024 * 1024);
    mirror = await startTestMirror(env.bed, { dataDir: mount.path });
    const image = await seed('fillsup', 3 * 1024 * 1024);
    const layer = image.blobs[1]!;
    const headers = await auth(mirror.url, 'fillsup');
    env.bed.cdn.fault = () => ({ chunkDelayMs: 10 });
    const filler = join(mount.path, 'filler');
    const broken = await pullBlob(mirror.url, `/v2/fillsup/blobs/${layer.digest}`, headers, () => {
      // Another process takes every free byte while the fill is running.
      try {
        writeFileSync(filler, Buffer.alloc(8 * 1024 * 1024));
      } catch {
        /* ENOSPC once full: that is the point */
      }
    });
    expect(broken.outcome).toBe('error');
    await settled(mirror, layer.digest);
    expect(await mirror.cache.store.stat(layer.digest)).toBeUndefined();
    expect(mirror.logs.some((l) => l.includes('blob fill failed') && l.includes('ENOSPC'))).toBe(true);
    env.bed.cdn.fault = undefined;
    const next = await pullBlob(mirror.url, `/v2/fillsup/blobs/${layer.digest}`, headers);
    expect(next).toMatchObject({ outcome: 'end', digest: layer.digest });
    rmSync(filler);
  });
});

describe('restart', () => {
  test('a mirror killed mid-blob restarts with no half-written blob and fetches it again', async () => {
    const dir = tempDir('restart');
    const dataDir = join(dir.path, 'data');
    try {
      const image = await seed('restart', 4 * 1024 * 1024);
      const layer = image.blobs[1]!;
      const first = await spawnMirror(env.bed, dataDir);
      env.bed.cdn.fault = () => ({ chunkDelayMs: 20 });
      const headers = await auth(first.url, 'restart');
      const interrupted = await pullBlob(first.url, `/v2/restart/blobs/${layer.digest}`, headers, () => void first.kill('SIGKILL'));
      expect(interrupted.outcome).toBe('error');
      const leftovers = readdirSync(join(dataDir, 'tmp'));
      expect(leftovers.length).toBeGreaterThan(0);
      env.bed.cdn.fault = undefined;
      const second = await spawnMirror(env.bed, dataDir);
      try {
        expect(readdirSync(join(dataDir, 'tmp')).filter((f) => leftovers.includes(f))).toEqual([]);
        const hex = layer.digest.slice(7);
        expect(existsSync(join(dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex))).toBe(false);
        const again = await pullBlob(second.url, `/v2/restart/blobs/${layer.digest}`, await auth(second.url, 'restart'));
        expect(again).toMatchObject({ outcome: 'end', digest: layer.digest });
      } finally {
        await second.kill('SIGTERM');
      }
    } finally {
      dir.remove();
    }
  }, 60_000);
});
