/**
 * The cache's trust properties against the real registry (issue 7):
 *  - content is served under repository R only when it belongs to R (links), and to a
 *    client the upstream accepts for R; a 404 is a denial; in both auth modes;
 *  - a client gets exactly what the upstream would send for its own Accept;
 *  - what is not a verified manifest or blob never ends as a clean 200;
 *  - a manifest's `subject` names content without making it R's (registries store a
 *    subject they do not hold).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { pullBlob } from '../testbed/blob-pull.js';
import { digestedBytes } from '@docxy/proxy-core';
import { basic, call, errorCode, type Reply, tokenFrom } from '../testbed/client.js';
import { type Image, type Manifest, MT, sha256, singleImage } from '../testbed/images.js';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { SERVICE } from '../testbed/testbed.js';
import { USERS } from '../testbed/token-service.js';
import { tempDir } from '../testbed/tmp.js';

const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const env = useSeededMirror();

async function bearer(mirror: TestMirror, repo: string, credentials?: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFrom(`${mirror.url}/auth/token`, `repository:${repo}:pull`, credentials)}` };
}

/** Runs `body` with every request to the upstream registry dropped (upstream down). */
async function upstreamDown<T>(body: () => Promise<T>): Promise<T> {
  env.bed.front.fault = () => ({ hangUp: true });
  try {
    return await body();
  } finally {
    env.bed.front.fault = undefined;
  }
}

/** Pulls `image` through `mirror` as a client would: the manifest by tag, then each blob whole, left cached. */
async function pullWhole(mirror: TestMirror, repo: string, tag: string, image: Image, headers: Record<string, string>): Promise<void> {
  const manifest = await call(`${mirror.url}/v2/${repo}/manifests/${tag}`, { headers });
  expect({ status: manifest.status, digest: manifest.headers.get('docker-content-digest') }).toEqual({
    status: 200,
    digest: image.top.digest,
  });
  for (const blob of image.blobs) {
    expect(await pullBlob(mirror.url, `/v2/${repo}/blobs/${blob.digest}`, headers)).toMatchObject({ outcome: 'end', digest: blob.digest });
    await mirror.cache.fills.get(blob.digest)?.finished;
  }
}

/**
 * An OCI artifact as `oras attach` makes one (empty config, one SBOM blob) whose `subject`
 * is `subject`. The registry checks that the config and layer are in the repository the
 * artifact is pushed to, and never looks at the subject (the OCI spec lets it be missing).
 */
function artifactFor(subject: Manifest): Image {
  const empty = Buffer.from('{}');
  const sbom = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: randomBytes(8).toString('hex') }));
  const data = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: empty.length, digest: sha256(empty) },
      layers: [{ mediaType: 'application/spdx+json', size: sbom.length, digest: sha256(sbom) }],
      subject: { mediaType: subject.mediaType, size: subject.data.length, digest: subject.digest },
    }),
  );
  const top = { digest: sha256(data), mediaType: MT.ociManifest, data };
  return {
    blobs: [
      { digest: sha256(empty), data: empty },
      { digest: sha256(sbom), data: sbom },
    ],
    manifests: [top],
    top,
  };
}

interface PrivateAsk {
  path: string;
  /** What a leak would carry. */
  bytes: Buffer;
  unknown: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN';
}

/** `image`'s manifest, config and layer, asked for by digest through `repo`'s path. */
function asksThrough(repo: string, image: Image): PrivateAsk[] {
  return [
    { path: `/v2/${repo}/manifests/${image.top.digest}`, bytes: image.top.data, unknown: 'MANIFEST_UNKNOWN' },
    ...image.blobs.map((b) => ({ path: `/v2/${repo}/blobs/${b.digest}`, bytes: b.data, unknown: 'BLOB_UNKNOWN' as const })),
  ];
}

/** Each ask, GET and HEAD, by each client, is answered as `expected` says (a GET's code read from its body), never with the bytes. */
async function expectRefused(
  mirror: TestMirror,
  asks: PrivateAsk[],
  clients: Record<string, Record<string, string>>,
  expected: (ask: PrivateAsk) => { status: number; code: string },
): Promise<void> {
  for (const ask of asks) {
    for (const method of ['GET', 'HEAD']) {
      for (const [client, headers] of Object.entries(clients)) {
        const reply = await call(`${mirror.url}${ask.path}`, { method, headers });
        const { status, code } = expected(ask);
        const where = { path: ask.path, method, client };
        const got = { status: reply.status, body: errorCode(reply) ?? 'none', leaked: reply.body.includes(ask.bytes) };
        expect({ ...where, ...got }).toEqual({ ...where, status, body: method === 'GET' ? code : 'none', leaked: false });
      }
    }
  }
}

describe('content is served under a repository only when it belongs to it (passthrough)', () => {
  test("a private image alice pulled is not readable by digest through a public repository's path", async () => {
    const mirror = env.mirror;
    const secret = env.images.secret;
    const layer = secret.blobs[1]!;
    const alice = { ...(await bearer(mirror, 'private/secret', basic('alice', USERS.alice!))), accept: ALL };
    expect((await call(`${mirror.url}/v2/private/secret/manifests/latest`, { headers: alice })).status).toBe(200);
    expect(await pullBlob(mirror.url, `/v2/private/secret/blobs/${layer.digest}`, alice)).toMatchObject({ digest: layer.digest });
    await mirror.cache.fills.get(layer.digest)?.finished;
    expect(await mirror.cache.store.stat(layer.digest)).toBeDefined();

    // An anonymous client whose token the upstream accepts for library/alpine.
    const anon = { ...(await bearer(mirror, 'alpine')), accept: ALL };
    expect((await call(`${mirror.url}/v2/alpine/manifests/latest`, { headers: anon })).status).toBe(200);
    const viaAlpine = [
      `/v2/alpine/manifests/${secret.top.digest}`,
      `/v2/alpine/blobs/${layer.digest}`,
      `/v2/alpine/blobs/${secret.blobs[0]!.digest}`,
    ];
    for (const path of viaAlpine) {
      const reply = await call(`${mirror.url}${path}`, { headers: anon });
      expect({ path, status: reply.status }).toEqual({ path, status: 404 });
      expect(reply.body.includes(layer.data.subarray(0, 32))).toBe(false);
    }
    // While the upstream is down, the same paths serve nothing either, with or without a token.
    await upstreamDown(async () => {
      for (const path of viaAlpine) {
        for (const headers of [anon, { accept: ALL }]) {
          const reply = await call(`${mirror.url}${path}`, { headers });
          expect({ path, status: reply.status }).toEqual({ path, status: 502 });
          expect(reply.body.includes(layer.data.subarray(0, 32))).toBe(false);
        }
      }
    });
  });

  test('a layer shared by two repositories is served from the cache for both once the upstream confirms it', async () => {
    const mirror = env.mirror;
    const image = singleImage('shared', { payload: randomBytes(256 * 1024), gzipLevel: 1 });
    await env.bed.push('acme/one', image, ['1']);
    await env.bed.push('acme/two', image, ['1']);
    const layer = image.blobs[1]!;
    const one = await bearer(mirror, 'acme/one');
    expect(await pullBlob(mirror.url, `/v2/acme/one/blobs/${layer.digest}`, one)).toMatchObject({ outcome: 'end', digest: layer.digest });
    await mirror.cache.fills.get(layer.digest)?.finished;
    env.bed.front.calls.length = 0;
    env.bed.cdn.calls.length = 0;
    const two = await bearer(mirror, 'acme/two');
    expect(await pullBlob(mirror.url, `/v2/acme/two/blobs/${layer.digest}`, two)).toMatchObject({ outcome: 'end', digest: layer.digest });
    // One free HEAD confirmed the digest under acme/two; no second download.
    expect(env.bed.front.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`HEAD /v2/acme/two/blobs/${layer.digest}`]);
    expect(env.bed.cdn.calls.filter((c) => c.method === 'GET')).toHaveLength(0);
    // The upstream's answer is remembered: the next pull costs nothing upstream.
    expect(await pullBlob(mirror.url, `/v2/acme/two/blobs/${layer.digest}`, two)).toMatchObject({ outcome: 'end', digest: layer.digest });
    expect(env.bed.front.calls).toHaveLength(1);
  });

  test('an upstream 404 for the repository is a denial, not an acceptance', async () => {
    const mirror = env.mirror;
    const layer = env.images.namespaced.blobs[1]!;
    const tool = await bearer(mirror, 'acme/tool');
    expect(await pullBlob(mirror.url, `/v2/acme/tool/blobs/${layer.digest}`, tool)).toMatchObject({ digest: layer.digest });
    await mirror.cache.fills.get(layer.digest)?.finished;
    const busybox = await bearer(mirror, 'busybox');
    const reply = await call(`${mirror.url}/v2/busybox/blobs/${layer.digest}`, { headers: busybox });
    expect(reply.status).toBe(404);
    expect(errorCode(reply)).toBe('BLOB_UNKNOWN');
    expect(reply.body.includes(layer.data.subarray(0, 32))).toBe(false);
  });
});

describe("a manifest's subject does not make another repository's content readable (passthrough)", () => {
  // An index (or manifest list) naming the private manifest as a child would be the same
  // attack, but distribution refuses to store one whose children are not in the repository
  // (400 MANIFEST_BLOB_UNKNOWN), so this upstream cannot stage it; the unit test
  // packages/proxy-core/test/manifest-types.test.ts covers an index's children.
  test("an artifact whose subject is alice's private manifest opens nothing of it through the attacker's public repository", async () => {
    const mirror = env.mirror;
    const secret = singleImage('vault');
    await env.bed.push('private/vault', secret, ['latest']);
    const alice = { ...(await bearer(mirror, 'private/vault', basic('alice', USERS.alice!))), accept: ALL };
    await pullWhole(mirror, 'private/vault', 'latest', secret, alice);

    // The attacker knows only the digest; their public repository stores the artifact anyway.
    const artifact = artifactFor(secret.top);
    await env.bed.push('attacker/sbom', artifact, ['1']);
    const attacker = { ...(await bearer(mirror, 'attacker/sbom')), accept: ALL };
    await pullWhole(mirror, 'attacker/sbom', '1', artifact, attacker);
    const byDigest = await call(`${mirror.url}/v2/attacker/sbom/manifests/${artifact.top.digest}`, { headers: attacker });
    expect({ status: byDigest.status, same: byDigest.body.equals(artifact.top.data) }).toEqual({ status: 200, same: true });

    const asks = asksThrough('attacker/sbom', secret);
    // `attacker` is the token the upstream just accepted for attacker/sbom (remembered);
    // `anonymous` is a fresh one the mirror has to ask about.
    const anonymous = { ...(await bearer(mirror, 'attacker/sbom')), accept: ALL };
    await expectRefused(mirror, asks, { attacker, anonymous }, (ask) => ({ status: 404, code: ask.unknown }));
    await upstreamDown(() =>
      expectRefused(mirror, asks, { attacker, anonymous, 'no token': { accept: ALL } }, () => ({ status: 502, code: 'UNAVAILABLE' })),
    );
    // The content is cached and alice still reads it: the refusals are about the path.
    const own = await call(`${mirror.url}/v2/private/vault/manifests/${secret.top.digest}`, { headers: alice });
    expect({ status: own.status, same: own.body.equals(secret.top.data) }).toEqual({ status: 200, same: true });
  });
});

describe('proxy mode: image rules hold for cached content too', () => {
  const dir = tempDir('trust-proxy');
  let proxy: TestMirror;
  beforeAll(async () => {
    const htpasswd = join(dir.path, 'htpasswd');
    writeFileSync(htpasswd, `carol:${bcrypt.hashSync('carol-secret', 4).replace(/^\$2b\$/, '$2y$')}\n`);
    proxy = await startTestMirror(env.bed, {
      auth: { mode: 'proxy', anonymous: true, htpasswd },
      registries: {
        'docker.io': {
          url: env.bed.upstreamUrl,
          trustedRealms: [env.bed.token.realm],
          accounts: [{ username: 'alice', password: USERS.alice! }],
        },
      },
      access: {
        rules: {
          anonymous: { registries: ['docker.io'], allow: ['docker.io/**'] },
          users: { carol: { registries: ['docker.io'], allow: ['docker.io/library/*'] } },
        },
      },
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    dir.remove();
  });

  test('a user allowed only library/* cannot read another repository’s cached layers through library/alpine', async () => {
    const tool = env.images.namespaced;
    const layer = tool.blobs[1]!;
    // Someone allowed to pulls acme/tool through the mirror: now cached.
    const anyone = { ...(await bearer(proxy, 'acme/tool')), accept: ALL };
    expect((await call(`${proxy.url}/v2/acme/tool/manifests/1.0`, { headers: anyone })).status).toBe(200);
    expect(await pullBlob(proxy.url, `/v2/acme/tool/blobs/${layer.digest}`, anyone)).toMatchObject({ digest: layer.digest });
    await proxy.cache.fills.get(layer.digest)?.finished;

    const carol = basic('carol', 'carol-secret');
    const direct = { ...(await bearer(proxy, 'acme/tool', carol)), accept: ALL };
    expect((await call(`${proxy.url}/v2/acme/tool/blobs/${layer.digest}`, { headers: direct })).status).toBe(403);
    const viaAlpine = { ...(await bearer(proxy, 'alpine', carol)), accept: ALL };
    for (const path of [`/v2/alpine/manifests/${tool.top.digest}`, `/v2/alpine/blobs/${layer.digest}`]) {
      const reply = await call(`${proxy.url}${path}`, { headers: viaAlpine });
      expect({ path, status: reply.status }).toEqual({ path, status: 404 });
      expect(reply.body.includes(layer.data.subarray(0, 32))).toBe(false);
    }
  });

  test("an artifact's subject does not make a private manifest readable through carol's library/* repository", async () => {
    // Anyone may pull private/ledger (the mirror's account is alice); carol may not.
    const secret = singleImage('ledger');
    await env.bed.push('private/ledger', secret, ['latest']);
    const anyone = { ...(await bearer(proxy, 'private/ledger')), accept: ALL };
    await pullWhole(proxy, 'private/ledger', 'latest', secret, anyone);
    // Whoever can push to a repository carol may read names the private manifest as subject.
    const artifact = artifactFor(secret.top);
    await env.bed.push('library/sbom', artifact, ['1']);
    const direct = { ...(await bearer(proxy, 'private/ledger', basic('carol', 'carol-secret'))), accept: ALL };
    expect((await call(`${proxy.url}/v2/private/ledger/manifests/${secret.top.digest}`, { headers: direct })).status).toBe(403);
    const carol = { ...(await bearer(proxy, 'sbom', basic('carol', 'carol-secret'))), accept: ALL };
    await pullWhole(proxy, 'sbom', '1', artifact, carol);
    const asks = asksThrough('sbom', secret);
    await expectRefused(proxy, asks, { carol }, (ask) => ({ status: 404, code: ask.unknown }));
    await upstreamDown(() => expectRefused(proxy, asks, { carol }, () => ({ status: 502, code: 'UNAVAILABLE' })));
  });
});

describe('a client gets what the upstream would send for its own Accept', () => {
  const ACCEPTS = {
    narrow: MT.dockerManifest,
    broad: ALL,
    oci: [MT.ociIndex, MT.ociManifest].join(', '),
    docker: [MT.dockerList, MT.dockerManifest].join(', '),
  };

  const SIGNED_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

  /** What an answer is: its media type and digest (a schema1 conversion is signed afresh each time: its type only). */
  function answerOf(reply: Reply): string {
    if (reply.status !== 200) return `status ${reply.status}`;
    const type = reply.headers.get('content-type') ?? '';
    return type === SIGNED_SCHEMA1 ? type : `${type} ${reply.headers.get('docker-content-digest')}`;
  }

  async function direct(repo: string, tag: string, accept: string): Promise<string> {
    const token = await tokenFrom(env.bed.token.realm, `repository:${repo}:pull`, undefined, SERVICE);
    return answerOf(
      await call(`${env.bed.registry.url}/v2/${repo}/manifests/${tag}`, { headers: { authorization: `Bearer ${token}`, accept } }),
    );
  }

  test.each([
    ['library/alpine', 'alpine', '3.20'],
    ['library/busybox', 'busybox', 'latest'],
    ['acme/tool', 'acme/tool', '1.0'],
  ])('%s: narrow, broad and other Accepts in turn each match the upstream', async (upstreamRepo, repo, tag) => {
    const mirror = env.mirror;
    const order: Array<keyof typeof ACCEPTS> = ['narrow', 'broad', 'narrow', 'oci', 'docker', 'broad', 'oci'];
    for (const kind of order) {
      const token = await bearer(mirror, repo);
      const reply = await call(`${mirror.url}/v2/${repo}/manifests/${tag}`, { headers: { ...token, accept: ACCEPTS[kind] } });
      expect({ kind, got: answerOf(reply) }).toEqual({ kind, got: await direct(upstreamRepo, tag, ACCEPTS[kind]) });
      if (reply.status !== 200) continue;
      // Whatever the type, the body served is the one its digest names.
      const digested = digestedBytes(reply.body, reply.headers.get('content-type') ?? '');
      expect(digested && `sha256:${createHash('sha256').update(digested).digest('hex')}`).toBe(reply.headers.get('docker-content-digest'));
    }
  });

  test('a narrow client right before a broad one does not give it a single-platform manifest', async () => {
    const mirror = env.mirror;
    const token = await bearer(mirror, 'alpine');
    const narrow = await call(`${mirror.url}/v2/alpine/manifests/latest`, { headers: { ...token, accept: MT.dockerManifest } });
    expect(narrow.headers.get('content-type')).toBe(MT.dockerManifest);
    const broad = await call(`${mirror.url}/v2/alpine/manifests/latest`, { headers: { ...token, accept: ALL } });
    expect(broad.headers.get('docker-content-digest')).toBe(env.images.list.top.digest);
    expect(broad.headers.get('content-type')).toBe(MT.dockerList);
  });
});

describe('what is not verified content is never a clean 200', () => {
  test('a captive portal’s 200 text/html is a 502 by digest and by tag, and nothing is cached', async () => {
    const mirror = env.mirror;
    const image = singleImage('portal');
    await env.bed.push('acme/portal', image, ['1']);
    const headers = { ...(await bearer(mirror, 'acme/portal')), accept: ALL };
    env.bed.front.fault = (c) =>
      c.path.includes('/manifests/')
        ? { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>log in to the wifi</html>' }
        : undefined;
    try {
      for (const ref of [image.top.digest, '1']) {
        const reply = await call(`${mirror.url}/v2/acme/portal/manifests/${ref}`, { headers });
        expect({ ref, status: reply.status, code: errorCode(reply) }).toEqual({ ref, status: 502, code: 'MANIFEST_INVALID' });
      }
    } finally {
      env.bed.front.fault = undefined;
    }
    const real = await call(`${mirror.url}/v2/acme/portal/manifests/1`, { headers });
    expect(real.status).toBe(200);
    expect(real.headers.get('docker-content-digest')).toBe(image.top.digest);
  });

  test('a manifest over 4 MiB is a 502 MANIFEST_INVALID that says so, never truncated and cached', async () => {
    const mirror = env.mirror;
    const image = singleImage('huge');
    await env.bed.push('acme/huge', image, ['1']);
    const headers = { ...(await bearer(mirror, 'acme/huge')), accept: ALL };
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);
    env.bed.front.fault = (c) =>
      c.method === 'GET' && c.path.includes('/manifests/')
        ? { status: 200, headers: { 'content-type': MT.dockerManifest }, body: huge.toString() }
        : undefined;
    try {
      const reply = await call(`${mirror.url}/v2/acme/huge/manifests/1`, { headers });
      expect(reply.status).toBe(502);
      expect(errorCode(reply)).toBe('MANIFEST_INVALID');
      expect(reply.body.toString()).toContain('exceeds');
    } finally {
      env.bed.front.fault = undefined;
    }
    const real = await call(`${mirror.url}/v2/acme/huge/manifests/1`, { headers });
    expect(real.headers.get('docker-content-digest')).toBe(image.top.digest);
  });

  test('sha512 blobs are verified: right bytes are served, wrong bytes are a failed transfer', async () => {
    const mirror = env.mirror;
    const data = randomBytes(300 * 1024);
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const headers = await bearer(mirror, 'alpine');
    const answer = (body: Buffer) => (c: { path: string }) =>
      c.path.includes(`/blobs/${digest}`)
        ? { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }, body }
        : undefined;
    env.bed.front.fault = answer(data);
    try {
      const good = await call(`${mirror.url}/v2/alpine/blobs/${digest}`, { headers });
      expect(good.status).toBe(200);
      expect(good.body.equals(data)).toBe(true);
      const corrupt = Buffer.from(data);
      corrupt[1000] = corrupt[1000]! ^ 0xff;
      env.bed.front.fault = answer(corrupt);
      const bad = await pullBlob(mirror.url, `/v2/alpine/blobs/${digest}`, headers);
      expect(bad.outcome === 'error' || bad.status >= 500).toBe(true);
    } finally {
      env.bed.front.fault = undefined;
    }
  });
});
