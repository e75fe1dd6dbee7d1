/** SSRF guard: no upstream answer, redirect or DNS name leads the proxy to a forbidden address. */
import { afterEach, describe, expect, test } from '@jest/globals';
import { AddressRefusedError, isBlockedAddress, urlHostKind } from '../src/net/address-policy.js';
import { baseFetcher } from '../src/fetch/base-fetcher.js';
import { withRedirects } from '../src/fetch/redirects.js';
import { withRetry } from '../src/fetch/retry.js';
import type { Fetcher } from '../src/fetch/types.js';
import { UpstreamUnavailableError } from '../src/errors.js';
import { serve, type TestServer } from './servers.js';

describe('address policy', () => {
  test.each([
    ['169.254.169.254', true, true],
    ['169.254.0.1', true, true],
    ['100.100.100.200', true, true],
    ['fd00:ec2::254', true, true],
    ['fe80::1', true, true],
    ['::ffff:169.254.169.254', true, true],
    ['0.0.0.0', true, true],
    ['127.0.0.1', true, false],
    ['10.1.2.3', true, false],
    ['172.20.0.1', true, false],
    ['192.168.1.1', true, false],
    ['::1', true, false],
    ['::ffff:127.0.0.1', true, false],
    ['fd12::1', true, false],
    ['93.184.216.34', false, false],
    ['2606:4700::1', false, false],
  ])('%s: blocked by default %s, with private networks allowed %s', (address, byDefault, withPrivate) => {
    expect(isBlockedAddress(address, { allowPrivate: false })).toBe(byDefault);
    expect(isBlockedAddress(address, { allowPrivate: true })).toBe(withPrivate);
  });
});

describe('the fetcher never connects to a forbidden address', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  test.each([
    ['a metadata IP literal', 'http://169.254.169.254/latest/meta-data/'],
    ['an IPv6 metadata literal', 'http://[fd00:ec2::254]/latest/meta-data/'],
    ['a mapped IPv4 link-local literal', 'http://[::ffff:a9fe:a9fe]/'],
  ])('refuses %s even with private networks allowed', async (_name, url) => {
    const err = await baseFetcher({ addressPolicy: { allowPrivate: true } })({ url: new URL(url), method: 'GET', headers: {} }).catch(
      (e: unknown) => e,
    );
    // Not an UpstreamUnavailableError: that would be retried as if the upstream were down.
    expect(err).toBeInstanceOf(AddressRefusedError);
    expect(err).not.toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', status: 502 });
    expect((err as Error).message).toContain('address not allowed');
  });

  test('a host name resolving to loopback is refused unless private networks are allowed', async () => {
    server = await serve((_req, res) => res.end('reached'));
    const port = new URL(server.url).port;
    const err = await baseFetcher()({ url: new URL(`http://localhost:${port}/`), method: 'GET', headers: {} }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('address not allowed');
    expect(server.requests).toHaveLength(0);
    const ok = await baseFetcher({ addressPolicy: { allowPrivate: true } })({
      url: new URL(`http://localhost:${port}/`),
      method: 'GET',
      headers: {},
    });
    expect(ok.status).toBe(200);
  });

  test('an upstream redirect to the metadata address is not followed', async () => {
    server = await serve((_req, res) => res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/iam/' }).end());
    const fetcher = withRedirects(baseFetcher({ addressPolicy: { allowPrivate: true } }));
    const err = await fetcher({ url: new URL(`${server.url}/v2/x/blobs/y`), method: 'GET', headers: { authorization: 'Bearer t' } }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toContain('address not allowed');
  });
});

describe('a refusal by the address policy', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  test.each([
    ['a loopback IP literal', '127.0.0.1'],
    ['a name resolving to loopback', 'localhost'],
  ])('of %s fails at once (no retry) and names the host and the setting', async (_name, host) => {
    server = await serve((_req, res) => res.end('reached'));
    const port = new URL(server.url).port;
    const base = baseFetcher();
    let attempts = 0;
    const counted: Fetcher = (request) => {
      attempts++;
      return base(request);
    };
    const fetcher = withRetry(counted, { retries: 3, baseDelayMs: 1 });
    const err = await fetcher({ url: new URL(`http://${host}:${port}/v2/`), method: 'GET', headers: {} }).catch((e: unknown) => e);
    expect(attempts).toBe(1);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', status: 502 });
    expect((err as Error).message).toContain(`${host}:${port}`);
    expect((err as Error).message).toContain('upstream.allowPrivateNetworks');
    expect(server.requests).toHaveLength(0);
  });

  test('of a metadata address says no setting allows it', async () => {
    const err = await baseFetcher({ addressPolicy: { allowPrivate: true } })({
      url: new URL('http://169.254.169.254/latest/'),
      method: 'GET',
      headers: {},
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /169\.254\.169\.254: address not allowed \(a link-local or cloud metadata address, refused even with upstream\.allowPrivateNetworks\)/,
    );
  });
});

describe('what a configured URL is known to be, without DNS', () => {
  test.each([
    ['http://127.0.0.1:5000', 'private'],
    ['http://10.0.0.7', 'private'],
    ['http://[::1]:5000', 'private'],
    ['http://localhost:5000', 'private'],
    ['http://registry.localhost', 'private'],
    ['http://169.254.169.254', 'forbidden'],
    ['https://registry-1.docker.io', 'public'],
    ['https://93.184.216.34', 'public'],
  ])('%s is %s', (url, kind) => {
    expect(urlHostKind(new URL(url))).toBe(kind);
  });
});
