/**
 * The v2 pull API through the mirror, compared with the real registry answering the
 * same request directly: status, media type, digest, length and body must match.
 */
import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { SERVICE } from '../testbed/testbed.js';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { MT } from '../testbed/images.js';
import { basic, call, errorCode, rawCall, tokenFrom, type Reply } from '../testbed/client.js';
import { USERS } from '../testbed/token-service.js';

const env = useSeededMirror();

const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');

async function viaMirror(
  path: string,
  scopeName: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const token = await tokenFrom(`${env.mirror.url}/auth/token`, `repository:${scopeName}:pull`);
  return call(`${env.mirror.url}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
}

async function direct(path: string, repo: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const token = await tokenFrom(env.bed.token.realm, `repository:${repo}:pull`, undefined, SERVICE);
  return call(`${env.bed.registry.url}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function comparable(reply: Reply): Record<string, unknown> {
  // Errors are re-rendered by the mirror: compare their codes, not their wording.
  if (reply.status >= 400) return { status: reply.status, code: errorCode(reply) };
  // distribution signs schema1 manifests anew on every request; the digest covers the payload only.
  const signedFresh = reply.headers.get('content-type') === 'application/vnd.docker.distribution.manifest.v1+prettyjws';
  return {
    ...(signedFresh ? {} : { body: sha(reply.body) }),
    status: reply.status,
    type: reply.headers.get('content-type'),
    digest: reply.headers.get('docker-content-digest'),
    length: reply.headers.get('content-length'),
  };
}

describe('manifests: HEAD/GET × tag/digest × Accept match the upstream', () => {
  const refs = {
    listTag: () => ({ repo: 'library/alpine', ref: 'latest' }),
    listDigest: () => ({ repo: 'library/alpine', ref: env.images.list.top.digest }),
    childDigest: () => ({ repo: 'library/alpine', ref: env.images.list.manifests[0]!.digest }),
    ociTag: () => ({ repo: 'library/busybox', ref: 'latest' }),
    namespacedTag: () => ({ repo: 'acme/tool', ref: '1.0' }),
  };
  const accepts = { all: ALL, dockerOnly: MT.dockerManifest, ociIndexOnly: MT.ociIndex, listOnly: MT.dockerList };
  const cases = (['GET', 'HEAD'] as const).flatMap((method) =>
    (Object.keys(refs) as Array<keyof typeof refs>).flatMap((ref) =>
      (Object.keys(accepts) as Array<keyof typeof accepts>).map((accept) => [method, ref, accept] as const),
    ),
  );
  test.each(cases)('%s %s Accept=%s', async (method, refName, acceptName) => {
    const { repo, ref } = refs[refName]();
    const init = { method, headers: { accept: accepts[acceptName] } };
    const [mine, theirs] = await Promise.all([
      viaMirror(`/v2/${repo}/manifests/${ref}`, repo, init),
      direct(`/v2/${repo}/manifests/${ref}`, repo, init),
    ]);
    expect(comparable(mine)).toEqual(comparable(theirs));
    expect(mine.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  test('the top-level digests are the seeded ones', async () => {
    const list = await viaMirror('/v2/alpine/manifests/latest', 'alpine', { headers: { accept: ALL } });
    expect(list.headers.get('docker-content-digest')).toBe(env.images.list.top.digest);
    expect(list.headers.get('content-type')).toBe(MT.dockerList);
    const oci = await viaMirror('/v2/busybox/manifests/latest', 'busybox', { headers: { accept: ALL } });
    expect(oci.headers.get('docker-content-digest')).toBe(env.images.oci.top.digest);
    expect(oci.headers.get('content-type')).toBe(MT.ociIndex);
  });

  test('a one-segment name gets library/ in the path and in the scope', async () => {
    const short = await viaMirror('/v2/alpine/manifests/3.20', 'alpine', { headers: { accept: ALL } });
    const long = await viaMirror('/v2/library/alpine/manifests/3.20', 'library/alpine', { headers: { accept: ALL } });
    expect(short.status).toBe(200);
    expect(sha(short.body)).toBe(sha(long.body));
    expect(env.bed.token.calls.some((c) => c.scopes.includes('repository:library/alpine:pull') && c.service === SERVICE)).toBe(true);
    expect(env.bed.token.calls.some((c) => c.scopes.includes('repository:alpine:pull'))).toBe(false);
  });
});

describe('blobs', () => {
  const layer = (): { digest: string; data: Buffer } => env.images.list.blobs[1]!;

  test('GET streams the exact bytes, via the CDN redirect', async () => {
    const reply = await viaMirror(`/v2/alpine/blobs/${layer().digest}`, 'alpine');
    expect(reply.status).toBe(200);
    expect(sha(reply.body)).toBe(layer().digest);
    expect(reply.headers.get('content-length')).toBe(String(layer().data.length));
    expect(env.bed.cdn.calls.some((c) => c.path.endsWith('/data') && c.method === 'GET')).toBe(true);
  });

  test('HEAD gives Content-Length and no body', async () => {
    const reply = await viaMirror(`/v2/alpine/blobs/${layer().digest}`, 'alpine', { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-length')).toBe(String(layer().data.length));
    expect(reply.body.length).toBe(0);
  });

  test.each([
    ['bytes=0-9', 0, 9],
    ['bytes=10-', 10, undefined],
    ['bytes=5-5', 5, 5],
  ])('Range %s → 206 with Content-Range', async (range, start, end) => {
    const data = layer().data;
    const last = end ?? data.length - 1;
    const reply = await viaMirror(`/v2/alpine/blobs/${layer().digest}`, 'alpine', { headers: { range } });
    expect(reply.status).toBe(206);
    expect(reply.headers.get('content-range')).toBe(`bytes ${start}-${last}/${data.length}`);
    expect(reply.body.equals(data.subarray(start, last + 1))).toBe(true);
  });

  test('unknown blob → 404 BLOB_UNKNOWN', async () => {
    const reply = await viaMirror(`/v2/alpine/blobs/sha256:${'0'.repeat(64)}`, 'alpine');
    expect(reply.status).toBe(404);
    expect(errorCode(reply)).toBe('BLOB_UNKNOWN');
  });
});

describe('tags', () => {
  test("lists tags of a library image under the client's name", async () => {
    const reply = await viaMirror('/v2/alpine/tags/list', 'alpine');
    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.body.toString()) as { name: string; tags: string[] };
    expect(body.name).toBe('library/alpine');
    expect(body.tags.sort()).toEqual(['3.20', 'latest']);
  });

  test("forwards n/last and rewrites the Link header to the client's name", async () => {
    // distribution 2.8 does not paginate tags; the front answers as a paginating registry would.
    env.bed.front.fault = (c) =>
      c.path.includes('/tags/list')
        ? {
            status: 200,
            headers: { 'content-type': 'application/json', link: '</v2/library/alpine/tags/list?last=3.20&n=1>; rel="next"' },
            body: '{"name":"library/alpine","tags":["3.20"]}',
          }
        : undefined;
    try {
      const reply = await viaMirror('/v2/alpine/tags/list?n=1&last=2&evil=1', 'alpine');
      expect(reply.status).toBe(200);
      expect(reply.headers.get('link')).toBe('</v2/alpine/tags/list?last=3.20&n=1>; rel="next"');
      expect(env.bed.front.calls.at(-1)?.path).toBe('/v2/library/alpine/tags/list?n=1&last=2');
    } finally {
      env.bed.front.fault = undefined;
    }
  });
});

describe('errors: registry JSON, bad input never reaches upstream', () => {
  test.each([
    ['GET', '/v2/UPPER/manifests/latest', 400, 'NAME_INVALID'],
    ['GET', `/v2/${'a'.repeat(256)}/manifests/latest`, 400, 'NAME_INVALID'],
    ['GET', '/v2/alpine/manifests/-bad', 400, 'MANIFEST_INVALID'],
    ['GET', '/v2/alpine/manifests/sha256:abc', 400, 'DIGEST_INVALID'],
    ['GET', '/v2/alpine/blobs/sha256:xyz', 400, 'DIGEST_INVALID'],
    ['GET', '/v2/alpine/blobs/md5:00', 400, 'DIGEST_INVALID'],
    ['GET', '/v2/a/%2E%2E/b/manifests/latest', 400, 'NAME_INVALID'],
    ['GET', '/v2/a/../../b/manifests/latest', 400, 'NAME_INVALID'],
    ['GET', '/v2/a%2Fb/manifests/latest', 400, 'NAME_INVALID'],
    ['GET', '/v2/alpine/nonsense/x', 404, 'UNSUPPORTED'],
    ['GET', '/nonsense', 404, 'UNSUPPORTED'],
    ['PUT', '/v2/alpine/manifests/latest', 405, 'UNSUPPORTED'],
    ['POST', '/v2/alpine/blobs/uploads/', 405, 'UNSUPPORTED'],
    ['PATCH', '/v2/alpine/blobs/uploads/x', 405, 'UNSUPPORTED'],
    ['DELETE', `/v2/alpine/blobs/sha256:${'0'.repeat(64)}`, 405, 'UNSUPPORTED'],
  ])('%s %s → %i %s', async (method, path, status, code) => {
    env.bed.front.calls.length = 0;
    // Sent verbatim: fetch() would normalise dot segments before they reach the mirror.
    const reply = await rawCall(env.mirror.url, path, { method, headers: { authorization: 'Bearer x' } });
    expect(reply.status).toBe(status);
    expect(errorCode(reply)).toBe(code);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(env.bed.front.calls).toEqual([]);
  });

  test('unknown manifest → 404 MANIFEST_UNKNOWN', async () => {
    const reply = await viaMirror('/v2/alpine/manifests/nope', 'alpine');
    expect(reply.status).toBe(404);
    expect(errorCode(reply)).toBe('MANIFEST_UNKNOWN');
  });

  test.each([
    [
      '429 → 429 TOOMANYREQUESTS with its Retry-After',
      {
        status: 429,
        headers: { 'retry-after': '17', 'content-type': 'application/json' },
        body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
      },
      429,
      'TOOMANYREQUESTS',
      '17',
    ],
    ['503 → 502 UNAVAILABLE', { status: 503 }, 502, 'UNAVAILABLE', null],
  ])('upstream %s', async (_name, fault, status, code, retryAfter) => {
    env.bed.front.fault = (c) => (c.path.includes('/manifests/') ? fault : undefined);
    try {
      const reply = await viaMirror('/v2/alpine/manifests/latest', 'alpine');
      expect(reply.status).toBe(status);
      expect(errorCode(reply)).toBe(code);
      expect(reply.headers.get('retry-after')).toBe(retryAfter);
    } finally {
      env.bed.front.fault = undefined;
    }
  });
});

describe('auth: passthrough', () => {
  test("/v2/ without credentials is a challenge naming the mirror's realm", async () => {
    const reply = await call(`${env.mirror.url}/v2/`);
    expect(reply.status).toBe(401);
    expect(errorCode(reply)).toBe('UNAUTHORIZED');
    expect(reply.headers.get('www-authenticate')).toBe(
      `Bearer realm="${env.mirror.publicUrl.origin}/auth/token",service="${env.mirror.publicUrl.host}"`,
    );
  });

  test('a manifest request without a token is challenged with its scope', async () => {
    const reply = await call(`${env.mirror.url}/v2/alpine/manifests/latest`);
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toContain('scope="repository:alpine:pull"');
    expect(reply.headers.get('www-authenticate')).toContain(`realm="${env.mirror.publicUrl.origin}/auth/token"`);
  });

  test('a private repository is denied anonymously', async () => {
    const reply = await viaMirror('/v2/private/secret/manifests/latest', 'private/secret', { headers: { accept: ALL } });
    expect(reply.status).toBe(401);
    expect(errorCode(reply)).toBe('UNAUTHORIZED');
  });

  test("a private repository is allowed with the user's credentials relayed through /auth/token", async () => {
    const token = await tokenFrom(`${env.mirror.url}/auth/token`, 'repository:private/secret:pull', basic('alice', USERS.alice!));
    const reply = await call(`${env.mirror.url}/v2/private/secret/manifests/latest`, {
      headers: { authorization: `Bearer ${token}`, accept: ALL },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('docker-content-digest')).toBe(env.images.secret.top.digest);
    expect(env.bed.token.calls.at(-1)?.user).toBe('alice');
  });

  test('wrong credentials are refused by the upstream token service', async () => {
    const res = await fetch(`${env.mirror.url}/auth/token?service=x&scope=repository:alpine:pull`, {
      headers: { authorization: basic('alice', 'wrong') },
    });
    expect(res.status).toBe(401);
  });

  test('the OAuth2 POST form is relayed with mapped scopes', async () => {
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'alice',
      password: USERS.alice!,
      service: 'x',
      scope: 'repository:private/secret:pull repository:alpine:pull',
      client_id: 'test',
      access_type: 'offline',
    });
    const res = await fetch(`${env.mirror.url}/auth/token`, {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; refresh_token: string };
    expect(body.refresh_token).toBeTruthy();
    const last = env.bed.token.calls.at(-1)!;
    expect(last).toMatchObject({ method: 'POST', user: 'alice', service: SERVICE });
    expect(last.scopes).toEqual(['repository:private/secret:pull', 'repository:library/alpine:pull']);
    const reply = await call(`${env.mirror.url}/v2/private/secret/manifests/latest`, {
      headers: { authorization: `Bearer ${body.access_token}`, accept: ALL },
    });
    expect(reply.status).toBe(200);
    const refreshed = await fetch(`${env.mirror.url}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: body.refresh_token,
        service: 'x',
        scope: 'repository:private/secret:pull',
        client_id: 'test',
      }),
    });
    expect(refreshed.status).toBe(200);
  });
});

describe('quota: HEAD stays HEAD', () => {
  test('a HEAD by the client causes no manifest GET upstream', async () => {
    const token = await tokenFrom(`${env.mirror.url}/auth/token`, 'repository:alpine:pull');
    env.bed.front.calls.length = 0;
    const reply = await call(`${env.mirror.url}/v2/alpine/manifests/latest`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${token}`, accept: ALL },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('docker-content-digest')).toBe(env.images.list.top.digest);
    expect(env.bed.front.calls.map((c) => c.method)).toEqual(['HEAD']);
    expect(env.bed.front.manifestGets()).toEqual([]);
  });
});

describe('health', () => {
  test.each(['/health', '/healthz'])('%s answers 200 without calling upstream', async (path) => {
    env.bed.front.calls.length = 0;
    const reply = await call(`${env.mirror.url}${path}`);
    expect(reply.status).toBe(200);
    expect(env.bed.front.calls).toEqual([]);
  });
});
