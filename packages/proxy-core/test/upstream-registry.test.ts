import { afterEach, describe, expect, test } from '@jest/globals';
import type { UpstreamRegistry } from '../src/upstream/upstream-registry.js';
import { RegistryError, UpstreamAuthError } from '../src/errors.js';
import { readAll, serve, type TestServer, upstreamAt } from './servers.js';

let upstream: TestServer | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

async function registryAnswering(handler: Parameters<typeof serve>[0]): Promise<UpstreamRegistry> {
  upstream = await serve(handler);
  return upstreamAt(upstream.url);
}

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('upstream errors become registry errors', () => {
  test.each([
    [404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'm' }] }, {}, 'MANIFEST_UNKNOWN', 404],
    [404, 'not json', {}, 'MANIFEST_UNKNOWN', 404],
    [404, { errors: [{ code: 'NAME_UNKNOWN', message: 'n' }] }, {}, 'NAME_UNKNOWN', 404],
    [403, { errors: [{ code: 'DENIED', message: 'd' }] }, {}, 'DENIED', 403],
    [429, { errors: [{ code: 'TOOMANYREQUESTS', message: 't' }] }, { 'retry-after': '30' }, 'TOOMANYREQUESTS', 429],
    [500, '', {}, 'UNAVAILABLE', 502],
    [503, '', {}, 'UNAVAILABLE', 502],
    [504, '', {}, 'UNAVAILABLE', 504],
    [400, { errors: [{ code: 'BOGUS', message: 'b' }] }, {}, 'MANIFEST_UNKNOWN', 400],
  ])('%i %j → %s %i', async (status, body, headers, code, httpStatus) => {
    const registry = await registryAnswering((_req, res) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body)),
    );
    const err = await registry.manifest({ repo: 'library/redis', reference: 'latest', method: 'GET' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe(code);
    expect((err as RegistryError).status).toBe(httpStatus);
    if (status === 429) expect((err as RegistryError).headers['retry-after']).toBe('30');
  });

  test('401 keeps the upstream challenge for the edge to re-issue', async () => {
    const registry = await registryAnswering((_req, res) =>
      res
        .writeHead(401, {
          'www-authenticate':
            'Bearer realm="https://auth/token",service="s",scope="repository:library/redis:pull",error="insufficient_scope"',
        })
        .end('{}'),
    );
    const err = await registry.blob({ repo: 'library/redis', digest: DIGEST, method: 'GET' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamAuthError);
    expect((err as UpstreamAuthError).challenge?.params.error).toBe('insufficient_scope');
  });
});

describe('error bodies', () => {
  test('an error body over 64 KiB is reported as such, not parsed from a truncated copy', async () => {
    const huge = JSON.stringify({ errors: [{ code: 'DENIED', message: 'x'.repeat(70 * 1024) }] });
    const registry = await registryAnswering((_req, res) => res.writeHead(403, { 'content-type': 'application/json' }).end(huge));
    const err = (await registry.blob({ repo: 'library/redis', digest: DIGEST, method: 'GET' }).catch((e: unknown) => e)) as RegistryError;
    expect(err.status).toBe(403);
    expect(err.message).toBe('upstream answered 403 (its error body exceeds 65536 bytes)');
  });
});

describe('requests upstream', () => {
  test('HEAD stays HEAD; Accept, Range, If-* and the client token are forwarded; only allowlisted headers return', async () => {
    const registry = await registryAnswering((_req, res) =>
      res
        .writeHead(200, {
          'content-type': 'application/vnd.oci.image.index.v1+json',
          'docker-content-digest': DIGEST,
          'content-length': '5',
          'set-cookie': 'x=y',
          'x-internal': 'secret',
        })
        .end(),
    );
    const response = await registry.manifest({
      repo: 'library/redis',
      reference: 'latest',
      method: 'HEAD',
      accept: 'application/vnd.oci.image.index.v1+json',
      authorization: 'Bearer t',
      conditional: { ifNoneMatch: '"e"' },
    });
    const seen = upstream!.requests[0]!;
    expect(seen.method).toBe('HEAD');
    expect(seen.url).toBe('/v2/library/redis/manifests/latest');
    expect(seen.headers).toMatchObject({
      accept: 'application/vnd.oci.image.index.v1+json',
      authorization: 'Bearer t',
      'if-none-match': '"e"',
    });
    expect(response.headers).toEqual({
      'content-type': 'application/vnd.oci.image.index.v1+json',
      'docker-content-digest': DIGEST,
      'content-length': '5',
    });
    expect(response.body).toBeNull();
  });

  test('blob GET streams the body and passes Range', async () => {
    const registry = await registryAnswering((req, res) =>
      res.writeHead(206, { 'content-range': `bytes 2-4/10`, 'content-length': '3' }).end(req.headers.range === 'bytes=2-4' ? 'abc' : 'bad'),
    );
    const response = await registry.blob({ repo: 'library/redis', digest: DIGEST, method: 'GET', range: 'bytes=2-4' });
    expect(response.status).toBe(206);
    expect(response.headers['content-range']).toBe('bytes 2-4/10');
    expect((await readAll(response.body)).toString()).toBe('abc');
  });

  test('tags and referrers forward only their query', async () => {
    const registry = await registryAnswering((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    await registry.tags({ repo: 'library/redis', query: new URLSearchParams({ n: '10', last: 'a' }) });
    await registry.referrers({ repo: 'library/redis', digest: DIGEST, query: new URLSearchParams({ artifactType: 'x/y' }) });
    expect(upstream!.requests.map((r) => r.url)).toEqual([
      '/v2/library/redis/tags/list?n=10&last=a',
      `/v2/library/redis/referrers/${DIGEST}?artifactType=x%2Fy`,
    ]);
  });
});
