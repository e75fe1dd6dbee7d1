/**
 * The repository → digest link index, on both object stores: a link is visible to
 * every instance sharing the store (replicas on one bucket), and only for its repository.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore, type ObjectStore } from '../src/cache/object-store.js';
import { RepositoryLinks } from '../src/cache/repository-links.js';
import { S3ObjectStore } from '../src/cache/s3-blob-store.js';
import { startS3, type TestS3 } from './s3-server.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha512:${'b'.repeat(128)}`;

let s3: TestS3;
let root: string;
beforeAll(async () => {
  s3 = await startS3('docxy-links');
  root = mkdtempSync(join(tmpdir(), 'docxy-links-'));
});
afterAll(async () => {
  await s3.close();
  rmSync(root, { recursive: true, force: true });
});

describe.each([
  ['filesystem', (): ObjectStore => new FsObjectStore(join(root, 'meta'), join(root, 'tmp'))],
  ['s3', (): ObjectStore => new S3ObjectStore({ client: s3.client, bucket: s3.bucket, prefix: 'p/' })],
])('%s', (_name, objects) => {
  test('a link is seen by another instance on the same store, for its repository only', async () => {
    const one = new RepositoryLinks(objects());
    const two = new RepositoryLinks(objects());
    await one.add('docker.io', 'library/alpine', [A, B]);
    expect(await two.has('docker.io', 'library/alpine', A)).toBe(true);
    expect(await two.has('docker.io', 'library/alpine', B)).toBe(true);
    expect(await two.has('docker.io', 'library/busybox', A)).toBe(false);
    expect(await two.has('ghcr.io', 'library/alpine', A)).toBe(false);
    expect(await two.has('docker.io', 'library/alpine', `sha256:${'c'.repeat(64)}`)).toBe(false);
  });

  test('registries with a port and nested names are kept apart', async () => {
    const links = new RepositoryLinks(objects());
    await links.add('localhost:5000', 'team/app', [A]);
    expect(await new RepositoryLinks(objects()).has('localhost:5000', 'team/app', A)).toBe(true);
    expect(await new RepositoryLinks(objects()).has('localhost:5000', 'team', A)).toBe(false);
  });
});

test('the in-memory memo is bounded; forgotten links are read back from the store', async () => {
  const store = new FsObjectStore(join(root, 'bounded'), join(root, 'tmp'));
  const links = new RepositoryLinks(store, 2);
  const digests = ['1', '2', '3'].map((c) => `sha256:${c.repeat(64)}`);
  await links.add('docker.io', 'library/x', digests);
  for (const digest of digests) expect(await links.has('docker.io', 'library/x', digest)).toBe(true);
  expect((links as unknown as { known: Map<string, true> }).known.size).toBe(2);
});
