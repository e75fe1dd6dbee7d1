/**
 * Fallback mirrors against real peers: the primary (the Docker Hub stand-in) is down, and
 * distribution running as a pull-through cache of the same content is the fallback.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { startRegistry, type RegistryProcess } from '../testbed/registry-process.js';
import { MT } from '../testbed/images.js';
import { call, errorCode, tokenFrom } from '../testbed/client.js';
import { pullBlob } from '../testbed/blob-pull.js';

const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const env = useSeededMirror();
let fallback: RegistryProcess;
let mirror: TestMirror;

beforeAll(async () => {
  // A public mirror of the same content, reached without the primary's front.
  fallback = await startRegistry({ dir: join(env.bed.dir, 'fallback'), proxyRemoteUrl: env.bed.registry.url });
  mirror = await startTestMirror(env.bed, {
    auth: { mode: 'proxy', anonymous: true },
    registries: { 'docker.io': { url: env.bed.upstreamUrl, trustedRealms: [env.bed.token.realm], fallbacks: [fallback.url] } },
  });
});
afterAll(async () => {
  await mirror?.stop();
  await fallback?.stop();
});

describe('fallback mirrors', () => {
  test('with the primary down, content by digest comes from the fallback and verifies; tags do not', async () => {
    const headers = { authorization: `Bearer ${await tokenFrom(`${mirror.url}/auth/token`, 'repository:acme/tool:pull')}`, accept: ALL };
    env.bed.front.fault = (c) => (c.path.startsWith('/v2/') ? { hangUp: true } : undefined);
    try {
      const manifest = await call(`${mirror.url}/v2/acme/tool/manifests/${env.images.namespaced.top.digest}`, { headers });
      expect(manifest.status).toBe(200);
      expect(manifest.headers.get('docker-content-digest')).toBe(env.images.namespaced.top.digest);
      const layer = env.images.namespaced.blobs[1]!;
      expect(await pullBlob(mirror.url, `/v2/acme/tool/blobs/${layer.digest}`, headers)).toMatchObject({
        outcome: 'end',
        digest: layer.digest,
      });
      const tag = await call(`${mirror.url}/v2/acme/tool/manifests/1.0`, { headers });
      expect(tag.status).toBe(502);
      expect(errorCode(tag)).toBe('UNAVAILABLE');
    } finally {
      env.bed.front.fault = undefined;
    }
  });
});
