/**
 * `docxy prefetch` against a mirror in front of the real registry: the images named (and
 * only the platforms asked for) end up in the cache, so the next pull costs no upstream
 * download; a missing image fails the command and is named.
 */
import { expect, test } from '@jest/globals';
import { pullBlob } from '../testbed/blob-pull.js';
import { tokenFrom } from '../testbed/client.js';
import { docxy } from '../testbed/cli.js';
import { useSeededMirror } from '../testbed/lifecycle.js';

const env = useSeededMirror();

test('warms the cache for the images and platforms named; later pulls download nothing upstream', async () => {
  const { list, namespaced } = env.images;
  // list: alpine, two platforms (amd64 first, arm64 second): ask for arm64 only.
  const [amd64Config, amd64Layer, arm64Config, arm64Layer] = list.blobs;
  const result = await docxy(['prefetch', '--mirror', env.mirror.url, '--platform', 'linux/arm64', 'alpine:3.20', 'acme/tool:1.0']);
  expect(result.stderr).toContain('alpine:3.20: 2 manifests, 2 blobs');
  expect(result.stdout).toContain('prefetched 2 of 2 images: 3 manifests, 4 blobs');
  expect(result.status).toBe(0);
  for (const blob of [arm64Config!, arm64Layer!, ...namespaced.blobs]) {
    await env.mirror.cache.fills.get(blob.digest)?.finished;
    expect(await env.mirror.cache.store.stat(blob.digest)).toEqual({ size: blob.data.length });
  }
  for (const blob of [amd64Config!, amd64Layer!]) expect(await env.mirror.cache.store.stat(blob.digest)).toBeUndefined();

  env.bed.cdn.calls.length = 0;
  const token = await tokenFrom(`${env.mirror.url}/auth/token`, 'repository:alpine:pull');
  const pull = await pullBlob(env.mirror.url, `/v2/alpine/blobs/${arm64Layer!.digest}`, { authorization: `Bearer ${token}` });
  expect(pull).toMatchObject({ outcome: 'end', digest: arm64Layer!.digest });
  // At most a free HEAD confirms this client's access; no blob is downloaded again.
  expect(env.bed.cdn.calls.filter((c) => c.method === 'GET')).toHaveLength(0);
});

test('an image the registry does not have fails the command and is named; the others are still fetched', async () => {
  const result = await docxy(['prefetch', '--mirror', env.mirror.url, 'no/such-image:1', 'busybox']);
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/no\/such-image:1: FAILED: manifest 1: (401|404)/);
  expect(result.stdout).toContain('prefetched 1 of 2 images');
  expect(result.stdout).toContain('failed: no/such-image:1');
});
