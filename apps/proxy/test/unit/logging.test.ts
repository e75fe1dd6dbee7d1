/** What reaches the logs: credential-shaped parameters blanked by their decoded names; the served path, not a client-chosen host. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { redactUrl } from '../../src/logger.js';
import { fakeUpstream, mirrorOf } from './fake-upstream.js';
import { rawCall } from '../testbed/client.js';
import type { Started } from '../testbed/http-server.js';

const SECRET = 's3cret-value';

describe('redactUrl', () => {
  test.each([
    ['/auth/token?password=s3cret-value'],
    ['/auth/token?pass%77ord=s3cret-value'],
    ['/auth/token?PASS%57ORD=s3cret-value'],
    ['/auth/token?pass+word=s3cret-value'],
    ['/auth/token?passwd=s3cret-value'],
    ['/auth/token?apikey=s3cret-value'],
    ['/auth/token?api_key=s3cret-value'],
    ['/auth/token?secret=s3cret-value'],
    ['/auth/token?client_secret=s3cret-value'],
    ['/auth/token?password[]=s3cret-value'],
    ['/auth/token?password%5B%5D=s3cret-value'],
    ['/auth/token?refresh_token=s3cret-value&scope=x'],
    ['/auth/token?x=1;password=s3cret-value'],
    ['/auth/token?password=s3cret-value/with/slashes'],
    ['/v2/library/x;password=s3cret-value/manifests/latest'],
    ['/v2/library/x;pass%77ord=s3cret-value/manifests/latest?n=1'],
    ['/auth/token?X-Amz-Signature=s3cret-value'],
  ])('%s is blanked', (url) => {
    expect(redactUrl(url)).not.toContain(SECRET);
    expect(redactUrl(url)).toContain('[redacted]');
  });

  test('ordinary parameters and paths stay readable', () => {
    const url = '/v2/library/redis/tags/list?n=10&last=a&ns=docker.io&scope=repository:library/redis:pull&service=mirror&account=bob';
    expect(redactUrl(url)).toBe(url);
    expect(redactUrl('/v2/library/redis/manifests/sha256:abc')).toBe('/v2/library/redis/manifests/sha256:abc');
  });
});

describe('access log lines', () => {
  let upstream: Started;
  let mirror: Awaited<ReturnType<typeof mirrorOf>>;
  beforeAll(async () => {
    upstream = await fakeUpstream((_req, res) => res.writeHead(404).end());
    mirror = await mirrorOf(upstream, { log: { level: 'info' } });
  });
  afterAll(async () => {
    await mirror?.stop();
    await upstream?.close();
  });

  const lineFor = (path: string): { url: string } => {
    const line = mirror.logs
      .flatMap((chunk) => chunk.split('\n'))
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { url?: string; msg?: string })
      .find((l) => l.msg === 'request' && l.url?.startsWith(path));
    if (!line) throw new Error(`no log line for ${path}: ${mirror.logs.join('')}`);
    return line as { url: string };
  };

  test('a percent-encoded password name is blanked in the log', async () => {
    const reply = await rawCall(mirror.url, `/auth/token?scope=repository:x:pull&pass%77ord=${SECRET}&apikey=${SECRET}`);
    expect(reply.status).toBe(200);
    expect(lineFor('/auth/token').url).toBe('/auth/token?scope=repository:x:pull&pass%77ord=[redacted]&apikey=[redacted]');
    expect(mirror.logs.join('')).not.toContain(SECRET);
  });

  test('an absolute-form request target is logged as the path the mirror served', async () => {
    const reply = await rawCall(mirror.url, 'http://other-host.example/v2/library/absolute/manifests/latest?n=1', {
      headers: { authorization: 'Bearer t' },
    });
    expect(reply.status).toBe(404);
    expect(lineFor('/v2/library/absolute/').url).toBe('/v2/library/absolute/manifests/latest?n=1');
    expect(mirror.logs.join('')).not.toContain('other-host');
  });
});
