/**
 * One endpoint, several registries: path prefix, containerd's ?ns=, host aliases and
 * the default, each with its own token relay. And the SSRF properties: nothing a client
 * or an upstream sends makes the mirror fetch from a host the operator did not configure.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { MT } from '../testbed/images.js';
import { call, errorCode, rawCall, tokenFrom } from '../testbed/client.js';
import { startContainerd } from '../testbed/clients.js';
import { tempDir } from '../testbed/tmp.js';

const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const env = useSeededMirror();
// The same stand-in registry, configured a second time under another name with an alias.
let mirror: TestMirror;
beforeAll(async () => {
  mirror = await startTestMirror(env.bed, {
    registries: {
      'docker.io': { url: env.bed.upstreamUrl, trustedRealms: [env.bed.token.realm] },
      'registry.test': { url: env.bed.upstreamUrl, trustedRealms: [env.bed.token.realm], hosts: ['alias.test'] },
    },
  });
});
afterAll(async () => {
  await mirror?.stop();
});

/** Like a real client: ask, read the challenge's scope, get that token, ask again. */
async function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; digest: string | null; code: string | undefined }> {
  const challenge = await rawCall(mirror.url, path, { headers: { accept: ALL, ...headers } });
  const scope = /scope="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')?.[1];
  if (!scope) throw new Error(`no challenge scope for ${path}`);
  const token = await tokenFrom(`${mirror.url}/auth/token`, scope);
  const reply = await rawCall(mirror.url, path, { headers: { authorization: `Bearer ${token}`, accept: ALL, ...headers } });
  return { status: reply.status, digest: reply.headers.get('docker-content-digest'), code: errorCode(reply) };
}

const upstreamPaths = (): string[] => env.bed.front.calls.map((c) => c.path.split('?')[0]!);

describe('routing', () => {
  test('a path prefix names a configured registry; no library/ fix-up outside docker.io', async () => {
    env.bed.front.calls.length = 0;
    expect(await get('/v2/registry.test/acme/tool/manifests/1.0')).toMatchObject({ status: 200, digest: env.images.namespaced.top.digest });
    expect((await get('/v2/registry.test/alpine/manifests/latest')).status).toBe(404);
    expect(upstreamPaths()).toContain('/v2/alpine/manifests/latest');
  });

  test('?ns= (containerd) selects the registry', async () => {
    env.bed.front.calls.length = 0;
    expect(await get('/v2/acme/tool/manifests/1.0?ns=registry.test')).toMatchObject({
      status: 200,
      digest: env.images.namespaced.top.digest,
    });
    expect((await get('/v2/alpine/manifests/latest?ns=registry.test')).status).toBe(404);
    expect((await get('/v2/alpine/manifests/latest?ns=docker.io')).status).toBe(200);
  });

  test('a host alias selects the registry; other Host names fall to the default', async () => {
    expect((await get('/v2/alpine/manifests/latest', { host: 'alias.test' })).status).toBe(404);
    expect((await get('/v2/alpine/manifests/latest', { host: 'elsewhere.example' })).status).toBe(200);
  });

  test('containerd (ctr, hosts.toml) pulls from a non-default registry through ?ns=', async () => {
    const dir = tempDir('containerd-ns');
    const containerd = await startContainerd(dir.path, mirror.hostPort, { 'registry.test': 'https://registry.test' });
    try {
      const before = mirror.logs.length;
      await containerd.ctr(['content', 'fetch', '--hosts-dir', containerd.hostsDir, 'registry.test/acme/tool:1.0']);
      const stored = await containerd.ctr(['content', 'ls', '-q']);
      for (const blob of env.images.namespaced.blobs) expect(stored).toContain(blob.digest);
      expect(stored).toContain(env.images.namespaced.top.digest);
      const urls = mirror.logs
        .slice(before)
        .map((l) => (JSON.parse(l) as { url?: string }).url ?? '')
        .filter((u) => u.startsWith('/v2/acme/tool/'));
      expect(urls.length).toBeGreaterThan(0);
      expect(urls.every((u) => u.includes('ns=registry.test'))).toBe(true);
    } finally {
      await containerd.stop();
      dir.remove();
    }
  }, 60_000);

  test('token scopes are mapped per registry', async () => {
    env.bed.token.calls.length = 0;
    await tokenFrom(`${mirror.url}/auth/token`, 'repository:registry.test/acme/tool:pull');
    await tokenFrom(`${mirror.url}/auth/token`, 'repository:alpine:pull');
    expect(env.bed.token.calls.map((c) => c.scopes)).toEqual([['repository:acme/tool:pull'], ['repository:library/alpine:pull']]);
  });
});

describe('SSRF: no fetch from an unconfigured or forbidden host', () => {
  test.each([
    ['an ns naming an unconfigured registry', '/v2/acme/tool/manifests/1.0?ns=evil.example'],
    ['an ns naming the metadata address', '/v2/acme/tool/manifests/1.0?ns=169.254.169.254'],
    ['a path prefix naming an unconfigured registry', '/v2/evil.example/acme/tool/manifests/1.0'],
    ['a path prefix naming the metadata address', '/v2/169.254.169.254/latest/manifests/1.0'],
    ['a path prefix naming an unconfigured host:port', '/v2/127.0.0.1:22/x/manifests/1.0'],
    ['a path prefix with a malformed port', '/v2/127.0.0.1:x/x/manifests/1.0', 400, 'NAME_INVALID'],
  ])('%s → refused, nothing fetched', async (_name, path, status = 404, code = 'NAME_UNKNOWN') => {
    env.bed.front.calls.length = 0;
    const reply = await rawCall(mirror.url, path, { headers: { authorization: 'Bearer x' } });
    expect(reply.status).toBe(status);
    expect(errorCode(reply)).toBe(code);
    expect(env.bed.front.calls).toEqual([]);
  });

  test('an upstream redirect to the metadata address is refused', async () => {
    const token = await tokenFrom(`${mirror.url}/auth/token`, 'repository:alpine:pull');
    env.bed.front.fault = (c) =>
      c.path.includes('/blobs/')
        ? { status: 307, headers: { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' } }
        : undefined;
    try {
      const reply = await call(`${mirror.url}/v2/alpine/blobs/${env.images.list.blobs[0]!.digest}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(reply.status).toBe(502);
      expect(errorCode(reply)).toBe('UNAVAILABLE');
      expect(mirror.logs.some((l) => l.includes('address not allowed'))).toBe(true);
    } finally {
      env.bed.front.fault = undefined;
    }
  });

  test('with private networks not allowed (the default), a loopback upstream is refused', async () => {
    const strict = await startTestMirror(env.bed, { upstream: { allowPrivateNetworks: false } });
    try {
      env.bed.front.calls.length = 0;
      const reply = await call(`${strict.url}/v2/alpine/manifests/latest`, { headers: { authorization: 'Bearer x', accept: ALL } });
      expect(reply.status).toBe(502);
      expect(errorCode(reply)).toBe('UNAVAILABLE');
      expect(env.bed.front.calls).toEqual([]);
    } finally {
      await strict.stop();
    }
  });
});
