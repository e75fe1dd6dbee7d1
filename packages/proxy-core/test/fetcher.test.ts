import { afterEach, describe, expect, test } from '@jest/globals';
import { baseFetcher } from '../src/fetch/base-fetcher.js';
import { withRedirects } from '../src/fetch/redirects.js';
import { withRetry } from '../src/fetch/retry.js';
import { UpstreamUnavailableError, RegistryError } from '../src/errors.js';
import { readAll, serve, type TestServer, LOOPBACK } from './servers.js';

const servers: TestServer[] = [];
async function server(handler: Parameters<typeof serve>[0], host?: string): Promise<TestServer> {
  const s = await serve(handler, host);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const get = (url: string, headers: Record<string, string> = {}) => ({ url: new URL(url), method: 'GET' as const, headers });

describe('base fetcher timeouts', () => {
  test('no response headers in time → 504 UNAVAILABLE (headers)', async () => {
    const s = await server(() => {
      /* never answers */
    });
    const fetcher = baseFetcher({ ...LOOPBACK, headersTimeoutMs: 100 });
    const err = await fetcher(get(`${s.url}/slow`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as UpstreamUnavailableError).kind).toBe('headers');
    expect((err as UpstreamUnavailableError).status).toBe(504);
  });

  test('a body that stops sending bytes fails the stream (idle timeout)', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(100));
      // ... and nothing more.
    });
    const response = await baseFetcher({ ...LOOPBACK, idleTimeoutMs: 150 })(get(s.url));
    const err = await readAll(response.body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as UpstreamUnavailableError).kind).toBe('idle');
  });

  test('a slow but steady body is not cut: there is no total-time cap', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write('x');
        if (++sent === 10) {
          clearInterval(timer);
          res.end();
        }
      }, 40);
    });
    // Idle timeout 150 ms, whole body takes ~400 ms.
    const response = await baseFetcher({ ...LOOPBACK, idleTimeoutMs: 150, headersTimeoutMs: 150 })(get(s.url));
    expect((await readAll(response.body)).toString()).toBe('x'.repeat(10));
  });

  test('a refused connection → 502 UNAVAILABLE (network)', async () => {
    const s = await server(() => {});
    const url = s.url;
    await s.close();
    servers.pop();
    const err = await baseFetcher(LOOPBACK)(get(url)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as UpstreamUnavailableError).status).toBe(502);
  });

  test('a caller abort cancels the request', async () => {
    const s = await server(() => {});
    const controller = new AbortController();
    const pending = baseFetcher(LOOPBACK)({ ...get(s.url), signal: controller.signal });
    controller.abort(new Error('client went away'));
    await expect(pending).rejects.toThrow();
  });

  test('HEAD has no body and keeps headers', async () => {
    const s = await server((_req, res) => res.writeHead(200, { 'content-length': '42', 'docker-content-digest': 'sha256:x' }).end());
    const response = await baseFetcher(LOOPBACK)({ url: new URL(s.url), method: 'HEAD', headers: {} });
    expect(response.body).toBeNull();
    expect(response.headers.get('content-length')).toBe('42');
    expect(s.requests[0]!.method).toBe('HEAD');
  });
});

describe('redirects', () => {
  test('never forwards Authorization to a redirected blob host', async () => {
    const cdn = await server((req, res) => {
      res.writeHead(req.headers.authorization ? 400 : 200).end('blob');
    }, '127.0.0.2');
    const registry = await server((_req, res) => res.writeHead(307, { location: `${cdn.url}/blob?sig=1` }).end());
    const response = await withRedirects(baseFetcher(LOOPBACK))(get(`${registry.url}/v2/a/blobs/x`, { authorization: 'Bearer secret' }));
    expect(response.status).toBe(200);
    expect((await readAll(response.body)).toString()).toBe('blob');
    expect(registry.requests[0]!.headers.authorization).toBe('Bearer secret');
    expect(cdn.requests[0]!.headers.authorization).toBeUndefined();
  });

  test('keeps Authorization on a same-origin redirect', async () => {
    const s = await server((req, res) => {
      if (req.url === '/a') res.writeHead(302, { location: '/b' }).end();
      else res.writeHead(200).end(req.headers.authorization);
    });
    const response = await withRedirects(baseFetcher(LOOPBACK))(get(`${s.url}/a`, { Authorization: 'Bearer same' }));
    expect((await readAll(response.body)).toString()).toBe('Bearer same');
  });

  test.each([
    ['a redirect loop', (url: string) => `${url}/loop`, 'too many'],
    ['a non-HTTP target', () => 'file:///etc/passwd', 'non-HTTP'],
    ['a vetoed host', () => 'http://169.254.169.254/latest/meta-data', 'refused'],
  ])('refuses %s', async (_name, target, message) => {
    const s = await server((_req, res) =>
      res.writeHead(302, { location: target(`http://127.0.0.1:${new URL(`http://${_req.headers.host}`).port}`) }).end(),
    );
    const fetcher = withRedirects(baseFetcher(LOOPBACK), { maxRedirects: 3, allowRedirect: (u) => u.hostname !== '169.254.169.254' });
    const err = await fetcher(get(`${s.url}/start`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('UNAVAILABLE');
    expect((err as Error).message).toContain(message);
  });
});

describe('retry', () => {
  test('retries a 503 GET, then succeeds', async () => {
    let n = 0;
    const s = await server((_req, res) => (++n < 3 ? res.writeHead(503, { 'retry-after': '0' }).end() : res.writeHead(200).end('ok')));
    const response = await withRetry(baseFetcher(LOOPBACK), { retries: 2, baseDelayMs: 1 })(get(s.url));
    expect(response.status).toBe(200);
    expect(s.requests).toHaveLength(3);
  });

  test('gives up after the configured retries and returns the last answer', async () => {
    const s = await server((_req, res) => res.writeHead(502).end());
    const response = await withRetry(baseFetcher(LOOPBACK), { retries: 1, baseDelayMs: 1 })(get(s.url));
    expect(response.status).toBe(502);
    expect(s.requests).toHaveLength(2);
  });

  test('never retries 429 (quota) or POST', async () => {
    const s = await server((req, res) => res.writeHead(req.method === 'POST' ? 503 : 429).end());
    const fetcher = withRetry(baseFetcher(LOOPBACK), { retries: 3, baseDelayMs: 1 });
    expect((await fetcher(get(s.url))).status).toBe(429);
    expect((await fetcher({ url: new URL(s.url), method: 'POST', headers: {}, body: 'x' })).status).toBe(503);
    expect(s.requests).toHaveLength(2);
  });

  test('retries a connection-level failure', async () => {
    let n = 0;
    const s = await server((req, res) => {
      if (++n === 1) req.socket.destroy();
      else res.writeHead(200).end('ok');
    });
    const response = await withRetry(baseFetcher(LOOPBACK), { retries: 1, baseDelayMs: 1 })(get(s.url));
    expect(response.status).toBe(200);
  });
});
