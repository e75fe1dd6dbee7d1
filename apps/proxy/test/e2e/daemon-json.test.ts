/**
 * The real user path: a Docker engine whose daemon.json names the mirror in
 * `registry-mirrors`, over HTTPS at a domain name, pulls Docker Hub names through it.
 * The mirror obtains its certificate itself (built-in ACME, HTTP-01) from pebble. The
 * name resolves through /etc/hosts for dockerd (through challtestsrv for pebble) and the
 * engine trusts pebble's root through /etc/docker/certs.d/<host:port>/ca.crt (both added
 * for the test and removed after).
 *
 * The name resolves to ::1, not 127.0.0.1: dockerd always counts 127.0.0.0/8 as an
 * insecure registry network and would skip certificate verification there.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { startTestbed, type SeedImages, type Testbed } from '../testbed/testbed.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { startDockerd, type Dockerd } from '../testbed/dockerd.js';
import { useMirrorHost, type MirrorHost } from '../testbed/docker-mirror-host.js';
import { freePort } from '../testbed/http-server.js';
import { startPebble, type Pebble } from '../testbed/pebble.js';
import { healthzStatus } from '../testbed/docker-image.js';

jest.setTimeout(120_000);

const NAME = 'mirror.test';
const ADDRESS = '::1';

let bed: Testbed;
let images: SeedImages;
let pebble: Pebble;
let mirror: TestMirror;
let host: MirrorHost;
let engine: Dockerd;

beforeAll(async () => {
  bed = await startTestbed();
  images = await bed.seed();
  const port = await freePort(ADDRESS);
  const httpPort = await freePort(ADDRESS);
  pebble = await startPebble({ httpPort });
  await pebble.addDomain(NAME, ADDRESS);
  host = useMirrorHost({ name: NAME, address: ADDRESS, port });
  host.trust(pebble.rootCaPem);
  mirror = await startTestMirror(bed, {
    listen: `[${ADDRESS}]:${port}`,
    publicUrl: `https://${NAME}:${port}`,
    acme: { domains: [NAME], directoryUrl: pebble.directoryUrl, caBundle: pebble.apiCaPath, httpListen: `[${ADDRESS}]:${httpPort}` },
  });
  // The order runs in the background: wait until the mirror serves a certificate pebble issued.
  for (let i = 0; (await healthzStatus(`https://${NAME}:${port}`, pebble.rootCaPem)) !== 200; i++) {
    if (i > 300) throw new Error(`no certificate from ACME:\n${mirror.logs.slice(-20).join('\n')}\n${pebble.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  engine = await startDockerd({ name: 'dockerd-mirror', daemonJson: { 'registry-mirrors': [`https://${NAME}:${port}`] } });
}, 180_000);

afterAll(async () => {
  // Every step runs even when an earlier one fails: no engine, process or /etc entry may outlive the file.
  const failures: unknown[] = [];
  for (const step of [() => engine?.stop(), () => host?.remove(), () => mirror?.stop(), () => pebble?.stop(), () => bed?.stop()]) {
    await Promise.resolve()
      .then(step)
      .catch((err: unknown) => failures.push(err));
  }
  if (failures.length > 0) throw failures[0];
}, 120_000);

const blobGets = (): string[] => bed.cdn.calls.filter((c) => c.method === 'GET').map((c) => c.path);
/** Blob requests the mirror answered since log line `from`. */
const mirrorBlobAnswers = (from: number): Array<{ url: string; status: number }> =>
  mirror.logs
    .slice(from)
    .map((line) => JSON.parse(line) as { url?: string; status?: number })
    .filter((entry): entry is { url: string; status: number } => typeof entry.url === 'string' && entry.url.includes('/blobs/'));

describe('dockerd with registry-mirrors naming the mirror over HTTPS', () => {
  // linux/amd64 of the seeded manifest list: its config and its layer.
  const amd64 = (): string[] => images.list.blobs.slice(0, 2).map((b) => b.digest);

  test('pulls a Docker Hub image through the mirror', async () => {
    await engine.docker(['pull', 'alpine:latest']);
    const repoDigests = JSON.parse(
      await engine.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', 'alpine:latest']),
    ) as string[];
    expect(repoDigests).toEqual([`alpine@${images.list.top.digest}`]);
    // The engine has no route to Docker Hub: the blobs came from the bed through the mirror.
    for (const digest of amd64()) expect(blobGets().some((path) => path.includes(digest.slice('sha256:'.length)))).toBe(true);
  });

  test('a second pull after docker rmi is served from the cache: no upstream blob download', async () => {
    await engine.docker(['rmi', 'alpine:latest']);
    const left = await engine.docker(['image', 'ls', '--quiet']);
    expect(left.trim()).toBe('');
    bed.cdn.calls.length = 0;
    const from = mirror.logs.length;
    await engine.docker(['pull', 'alpine:latest']);
    expect(blobGets()).toEqual([]);
    // The engine did fetch the layers again, from the mirror.
    const answered = mirrorBlobAnswers(from);
    for (const digest of amd64())
      expect(answered).toContainEqual(expect.objectContaining({ url: expect.stringContaining(digest), status: 200 }));
  });
});
