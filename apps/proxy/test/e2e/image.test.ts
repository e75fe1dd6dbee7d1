/**
 * The container image: the repository's Dockerfile built by a real Docker engine (on a
 * local Node 20 base image, Docker Hub being out of reach) and run against the test bed.
 * One build per run, shared by every test here.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDockerd, type Dockerd } from '../testbed/dockerd.js';
import { buildDocxyImage, DOCXY_IMAGE, healthzStatus, runDocxy, type DocxyContainer } from '../testbed/docker-image.js';
import { startTestbed, type SeedImages, type Testbed } from '../testbed/testbed.js';
import { skopeoCopy } from '../testbed/clients.js';
import { tokenFrom } from '../testbed/client.js';
import { pullBlob } from '../testbed/blob-pull.js';
import { singleImage, type Image } from '../testbed/images.js';
import { tempDir } from '../testbed/tmp.js';
import { startPebble } from '../testbed/pebble.js';
import { freePort } from '../testbed/http-server.js';

jest.setTimeout(120_000);

let engine: Dockerd;
let bed: Testbed;
let images: SeedImages;
const containers: DocxyContainer[] = [];

beforeAll(async () => {
  engine = await startDockerd({ name: 'dockerd-image' });
  bed = await startTestbed();
  images = await bed.seed();
  await buildDocxyImage(engine);
}, 20 * 60_000);

afterAll(async () => {
  // Every step runs even when an earlier one fails: no engine, process or /etc entry may outlive the file.
  const failures: unknown[] = [];
  for (const step of [...containers.map((c) => () => c.remove()), () => bed?.stop(), () => engine?.stop()]) {
    await Promise.resolve()
      .then(step)
      .catch((err: unknown) => failures.push(err));
  }
  if (failures.length > 0) throw failures[0];
}, 120_000);

async function start(options: Parameters<typeof runDocxy>[2]): Promise<DocxyContainer> {
  const container = await runDocxy(engine, bed, options);
  containers.push(container);
  return container;
}

async function volumePath(volume: string): Promise<string> {
  return (await engine.docker(['volume', 'inspect', '--format', '{{.Mountpoint}}', volume])).trim();
}

/** Every path under `dir` with its owner. */
function ownersUnder(dir: string): Array<{ path: string; uid: number; gid: number }> {
  const out: Array<{ path: string; uid: number; gid: number }> = [];
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const info = lstatSync(join(dir, entry));
    out.push({ path: entry, uid: info.uid, gid: info.gid });
  }
  return out;
}

async function seedLarge(name: string, bytes: number): Promise<Image> {
  const image = singleImage(name, { payload: randomBytes(bytes), gzipLevel: 1 });
  await bed.push(`library/${name}`, image, ['latest']);
  return image;
}

describe('the image', () => {
  test('carries production dependencies only', async () => {
    const listing = await engine.docker([
      'run',
      '--rm',
      '--entrypoint',
      'node',
      DOCXY_IMAGE,
      '-e',
      "console.log(require('fs').readdirSync('/app/node_modules/.pnpm').join('\\n'))",
    ]);
    const packages = listing.split('\n');
    expect(packages.some((p) => p.startsWith('koa@'))).toBe(true);
    expect(packages.some((p) => p.startsWith('@aws-sdk+client-s3@'))).toBe(true);
    for (const dev of ['typescript@', 'jest@', '@swc+core@', 'playwright-core@', 's3rver@']) {
      expect(packages.filter((p) => p.startsWith(dev))).toEqual([]);
    }
  });
});

describe('a container of the image', () => {
  /** Waits for the image's own HEALTHCHECK (run every second here, not every 30 s) to settle. */
  async function healthOf(container: DocxyContainer): Promise<string | undefined> {
    let state = await container.inspect();
    for (let i = 0; (state.Health?.Status ?? 'starting') === 'starting' && i < 150; i++) {
      await new Promise((r) => setTimeout(r, 200));
      state = await container.inspect();
    }
    return state.Health?.Status;
  }
  const everySecond = ['--health-interval', '1s', '--health-start-period', '0s', '--health-retries', '2'];

  test('serves /healthz and its HEALTHCHECK reports healthy', async () => {
    const container = await start({ volume: 'docxy-health', extraRunArgs: everySecond });
    expect(await healthzStatus(container.url)).toBe(200);
    expect(await healthOf(container)).toBe('healthy');
  });

  test('its HEALTHCHECK follows the configuration: HTTPS when tls is set', async () => {
    const dir = tempDir('image-tls');
    try {
      const cert = { cert: join(dir.path, 'cert.pem'), key: join(dir.path, 'key.pem') };
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          cert.key,
          '-out',
          cert.cert,
          '-days',
          '2',
          '-subj',
          '/CN=mirror.test',
        ],
        { stdio: 'ignore' },
      );
      const container = await start({ volume: 'docxy-tls', tls: cert, extraRunArgs: everySecond });
      expect(container.url).toMatch(/^https:/);
      expect(await healthzStatus(container.url)).toBe(200);
      expect(await healthOf(container)).toBe('healthy');
    } finally {
      dir.remove();
    }
  });

  test('with ACME on, as compose.yaml has it: obtains its certificate, keeps it on the volume as uid 1000, reports healthy', async () => {
    const httpPort = await freePort();
    const pebble = await startPebble({ httpPort });
    try {
      await pebble.addDomain('mirror.test', '127.0.0.1');
      const volume = 'docxy-acme';
      const container = await start({
        volume,
        https: true,
        config: {
          publicUrl: 'https://mirror.test',
          acme: {
            domains: ['mirror.test'],
            directoryUrl: pebble.directoryUrl,
            caBundle: '/etc/docxy/acme-ca.pem',
            httpListen: `127.0.0.1:${httpPort}`,
          },
        },
        extraRunArgs: [...everySecond, '--volume', `${pebble.apiCaPath}:/etc/docxy/acme-ca.pem:ro`],
      });
      // Served with the certificate pebble issued for the name (verified against pebble's root).
      expect(await healthzStatus(container.url, pebble.rootCaPem, 'mirror.test')).toBe(200);
      expect(await healthOf(container)).toBe('healthy');
      const entries = ownersUnder(await volumePath(volume));
      expect(entries.map((e) => e.path)).toContainEqual(expect.stringMatching(/^acme\/.+\/certificate\.pem$/));
      expect(entries.filter((e) => e.uid !== 1000 || e.gid !== 1000)).toEqual([]);
    } finally {
      await pebble.stop();
    }
  });

  test('pulls images through it, runs as uid 1000 and writes its cache to the volume as that user', async () => {
    const volume = 'docxy-cache';
    const container = await start({ volume });
    const out = tempDir('image-pull');
    try {
      expect(await skopeoCopy(`${container.hostPort}/library/alpine:latest`, join(out.path, 'alpine'))).toBe(images.list.top.digest);
      expect(await skopeoCopy(`${container.hostPort}/library/busybox:latest`, join(out.path, 'busybox'))).toBe(images.oci.top.digest);
    } finally {
      out.remove();
    }
    // The server process itself is unprivileged.
    const status = readFileSync(`/proc/${container.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe('1000');
    // Every blob the pulls fetched is in the named volume, and everything there is node's.
    const root = await volumePath(volume);
    const entries = ownersUnder(root);
    for (const blob of [...images.list.blobs, ...images.oci.blobs]) {
      const hex = blob.digest.slice('sha256:'.length);
      expect(entries.map((e) => e.path)).toContain(join('blobs', 'sha256', hex.slice(0, 2), hex));
    }
    expect(entries.filter((e) => e.uid !== 1000 || e.gid !== 1000)).toEqual([]);
    // The cache outlives the container: a new one on the same volume serves from it.
    await container.remove();
    const again = await start({ volume });
    bed.cdn.calls.length = 0;
    const out2 = tempDir('image-pull');
    try {
      expect(await skopeoCopy(`${again.hostPort}/library/alpine:latest`, join(out2.path, 'alpine'))).toBe(images.list.top.digest);
    } finally {
      out2.remove();
    }
    expect(bed.cdn.calls).toEqual([]);
  });
});

describe('docker stop', () => {
  /**
   * Pulls `image`'s layer through `container`, paced so the transfer takes seconds, and
   * runs `docker stop <stopArgs>` as soon as bytes flow. The container exits 0 only if
   * node (PID 1) handled SIGTERM and exited by itself before docker's grace period ran
   * out; docker's SIGKILL at the end of it shows as 137.
   */
  async function stopMidDownload(container: DocxyContainer, repo: string, image: Image, bytesPerSecond: number, stopArgs: string[]) {
    const layer = image.blobs[1]!;
    const token = await tokenFrom(`${container.url}/auth/token`, `repository:${repo}:pull`);
    bed.cdn.fault = () => ({ bytesPerSecond });
    let stopped: Promise<string> | undefined;
    try {
      const pull = await pullBlob(container.url, `/v2/${repo}/blobs/${layer.digest}`, { authorization: `Bearer ${token}` }, () => {
        stopped = engine.docker(['stop', ...stopArgs, container.name], { timeoutMs: 180_000 });
      });
      expect(stopped).toBeDefined();
      await stopped;
      return { pull, layer, state: await container.inspect(), logs: await container.logs() };
    } finally {
      bed.cdn.fault = undefined;
    }
  }

  test('drains an in-flight download: the client gets the whole blob, then the process exits by itself', async () => {
    const image = await seedLarge('drain', 6 * 1024 * 1024);
    const container = await start({ volume: 'docxy-drain', config: { server: { drainTimeoutMs: 60_000 } } });
    // About 4 s on the wire; the operator gave docker a grace period beyond the drain timeout.
    const { pull, layer, state, logs } = await stopMidDownload(container, 'library/drain', image, 1.5 * 1024 * 1024, ['--time', '90']);
    expect(pull).toMatchObject({ status: 200, outcome: 'end', digest: layer.digest });
    expect(state).toMatchObject({ Status: 'exited', ExitCode: 0 });
    expect(logs).toContain('"msg":"draining"');
    expect(logs).toContain('"msg":"stopped"');
  });

  test("a download longer than the drain timeout is cut at the timeout, and the process exits within docker stop's default 10 s", async () => {
    const image = await seedLarge('slow', 6 * 1024 * 1024);
    const container = await start({ volume: 'docxy-slow', config: { server: { drainTimeoutMs: 2_000 } } });
    // About 24 s on the wire: past the 2 s drain and past docker's default 10 s grace period.
    const { pull, state } = await stopMidDownload(container, 'library/slow', image, 256 * 1024, []);
    expect(pull.outcome).toBe('error');
    expect(pull.bytes).toBeLessThan(image.blobs[1]!.data.length);
    expect(state).toMatchObject({ Status: 'exited', ExitCode: 0 });
  });
});
