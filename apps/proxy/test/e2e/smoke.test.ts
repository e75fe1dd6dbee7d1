import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startTestbed, type Testbed, type SeedImages } from '../testbed/testbed.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { call, tokenFrom } from '../testbed/client.js';

let bed: Testbed;
let images: SeedImages;
let mirror: TestMirror;

beforeAll(async () => {
  bed = await startTestbed();
  images = await bed.seed();
  mirror = await startTestMirror(bed);
});
afterAll(async () => {
  await mirror?.stop();
  await bed?.stop();
});

test('pulls a manifest list through the mirror', async () => {
  const token = await tokenFrom(`${mirror.url}/auth/token`, 'repository:alpine:pull');
  const reply = await call(`${mirror.url}/v2/alpine/manifests/latest`, { headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.docker.distribution.manifest.list.v2+json' } });
  expect(reply.status).toBe(200);
  expect(reply.headers.get('docker-content-digest')).toBe(images.list.top.digest);
});
