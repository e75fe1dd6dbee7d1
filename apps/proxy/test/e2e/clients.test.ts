/**
 * Real clients pull through the mirror, and each pulled digest equals the upstream's:
 * skopeo (by tag, by digest, with a library/-less name, private with credentials),
 * podman with a registries.conf mirror, containerd's ctr with hosts.toml (?ns=).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { singleImage, type Image } from '../testbed/images.js';
import { podmanPull, skopeoCopy, startContainerd, type Containerd } from '../testbed/clients.js';
import { tempDir } from '../testbed/tmp.js';
import { USERS } from '../testbed/token-service.js';

// One layer of 100 MiB + (random, so gzip cannot shrink it): multi-GB layers stream the same way.
const big: Image = singleImage('big', { payload: randomBytes(100 * 1024 * 1024 + 4321), gzipLevel: 1 });
const env = useSeededMirror({ beforeMirror: (bed) => bed.push('library/big', big, ['latest']) });
const work = tempDir('clients');
afterAll(() => work.remove());

describe('skopeo copy --all', () => {
  test('by tag, library/-less name: manifest list and every platform', async () => {
    const dest = join(work.path, 'skopeo-tag');
    const digest = await skopeoCopy(`${env.mirror.hostPort}/alpine:latest`, dest);
    expect(digest).toBe(env.images.list.top.digest);
    // --all keeps each platform's manifest beside the list, named by digest.
    const children = readdirSync(dest)
      .filter((f) => f.endsWith('.manifest.json'))
      .map((f) => `sha256:${f.split('.')[0]}`);
    expect(children.sort()).toEqual(
      env.images.list.manifests
        .slice(0, -1)
        .map((m) => m.digest)
        .sort(),
    );
  }, 60_000);

  test('by digest, with library/', async () => {
    const digest = await skopeoCopy(
      `${env.mirror.hostPort}/library/busybox@${env.images.oci.top.digest}`,
      join(work.path, 'skopeo-digest'),
    );
    expect(digest).toBe(env.images.oci.top.digest);
  }, 60_000);

  test('a namespaced image', async () => {
    expect(await skopeoCopy(`${env.mirror.hostPort}/acme/tool:1.0`, join(work.path, 'skopeo-ns'))).toBe(env.images.namespaced.top.digest);
  }, 60_000);

  test('a private image with credentials; refused without', async () => {
    await expect(skopeoCopy(`${env.mirror.hostPort}/private/secret:latest`, join(work.path, 'skopeo-private-anon'))).rejects.toThrow(
      /unauthorized|denied|authentication/i,
    );
    const digest = await skopeoCopy(
      `${env.mirror.hostPort}/private/secret:latest`,
      join(work.path, 'skopeo-private'),
      `alice:${USERS.alice}`,
    );
    expect(digest).toBe(env.images.secret.top.digest);
  }, 60_000);

  test('a 100 MiB layer arrives intact, through the CDN redirect, without Authorization there', async () => {
    const dest = join(work.path, 'skopeo-big');
    expect(await skopeoCopy(`${env.mirror.hostPort}/big:latest`, dest)).toBe(big.top.digest);
    const layer = big.blobs[1]!;
    expect(readFileSync(join(dest, layer.digest.slice('sha256:'.length))).equals(layer.data)).toBe(true);
    const cdnHits = env.bed.cdn.calls.filter((c) => c.path.includes(layer.digest.slice(7, 9)) && c.method === 'GET');
    expect(cdnHits.length).toBeGreaterThan(0);
    expect(cdnHits.every((c) => c.authorization === undefined)).toBe(true);
  }, 120_000);
});

describe('podman pull with a registries.conf mirror', () => {
  test.each([
    ['docker.io/library/alpine:latest', () => env.images.list.top.digest],
    ['docker.io/acme/tool:1.0', () => env.images.namespaced.top.digest],
  ])(
    '%s',
    async (image, expected) => {
      const dir = tempDir('podman');
      const before = env.mirror.logs.length;
      try {
        expect(await podmanPull(dir.path, env.mirror.hostPort, image)).toBe(expected());
        // It came through the mirror (podman would otherwise fall back to the real Docker Hub).
        const path = `/v2/${image.slice('docker.io/'.length).split(':')[0]}/manifests/`;
        expect(env.mirror.logs.slice(before).some((l) => (JSON.parse(l) as { url?: string; status?: number }).url?.startsWith(path))).toBe(
          true,
        );
      } finally {
        dir.remove();
      }
    },
    120_000,
  );
});

describe('containerd ctr content fetch --hosts-dir', () => {
  let containerd: Containerd;
  let dir: { path: string; remove(): void };
  beforeAll(async () => {
    dir = tempDir('containerd');
    containerd = await startContainerd(dir.path, env.mirror.hostPort);
  });
  afterAll(async () => {
    await containerd?.stop();
    dir?.remove();
  });

  test('fetches every platform with ?ns=docker.io, same digests', async () => {
    env.bed.front.calls.length = 0;
    const mirrorCalls = env.mirror.logs.length;
    await containerd.ctr(['content', 'fetch', '--hosts-dir', containerd.hostsDir, '--all-platforms', 'docker.io/library/alpine:latest']);
    const stored = await containerd.ctr(['content', 'ls', '-q']);
    for (const m of env.images.list.manifests) expect(stored).toContain(m.digest);
    for (const b of env.images.list.blobs) expect(stored).toContain(b.digest);
    const seen = env.mirror.logs
      .slice(mirrorCalls)
      .map((l) => JSON.parse(l) as { url?: string })
      .filter((l) => l.url?.startsWith('/v2/library/alpine/'));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((l) => l.url!.includes('ns=docker.io'))).toBe(true);
  }, 120_000);
});
