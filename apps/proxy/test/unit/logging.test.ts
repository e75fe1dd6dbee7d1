/** What reaches the logs: credential-shaped parameters blanked by their decoded names; the served path, not a client-chosen host. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger, redactUrl } from '../../src/logger.js';
import { prettyLine } from '../../src/observe/pretty-log.js';
import { fakeRegistry, pull, type FakeRegistry } from './metrics-fake-registry.js';
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

describe('registry request lines', () => {
  let registry: FakeRegistry;
  let mirror: Awaited<ReturnType<typeof mirrorOf>>;
  beforeAll(async () => {
    registry = await fakeRegistry();
    mirror = await mirrorOf(registry.upstream, { log: { level: 'info' } });
  });
  afterAll(async () => {
    await mirror?.stop();
    await registry?.upstream.close();
  });

  const requestLines = (): Array<Record<string, unknown>> =>
    mirror.logs
      .flatMap((chunk) => chunk.split('\n'))
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'request');

  test('name the registry, repository, reference kind, cache outcome, bytes sent and duration', async () => {
    const blob = registry.blobs[0]!;
    await pull(mirror.url, '/v2/app/manifests/latest');
    await pull(mirror.url, '/v2/app/manifests/latest');
    await pull(mirror.url, `/v2/app/blobs/${blob.digest}`);
    await pull(mirror.url, `/v2/app/blobs/${blob.digest}`, 'HEAD');
    const lines = requestLines().filter((l) => String(l.url).startsWith('/v2/app/'));
    const common = { registry: 'docker.io', repository: 'library/app', status: 200 };
    expect(lines[0]).toMatchObject({ ...common, kind: 'tag', cache: 'miss', bytes: registry.manifest.data.length });
    expect(lines[1]).toMatchObject({ ...common, kind: 'tag', cache: 'hit', bytes: registry.manifest.data.length });
    expect(lines[2]).toMatchObject({ ...common, kind: 'blob', cache: 'miss', bytes: blob.data.length });
    expect(lines[3]).toMatchObject({ ...common, kind: 'blob', method: 'HEAD', bytes: 0 });
    for (const line of lines) expect(typeof line.ms).toBe('number');
  });
});

describe('log format', () => {
  const capture = (isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    stream.isTTY = isTTY;
    return { stream, text: () => chunks.join('') };
  };

  test('readable lines when stdout is a terminal', async () => {
    const out = capture(true);
    createLogger('info', undefined, out.stream).info({ registry: 'docker.io', cache: 'hit' }, 'request');
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.text()).toMatch(/INFO.* request .*registry=.*docker\.io.*cache=.*hit/);
    expect(() => JSON.parse(out.text())).toThrow();
  });

  test('JSON when stdout is not a terminal (containers, files)', async () => {
    const out = capture(false);
    createLogger('info', undefined, out.stream).info({ status: 200 }, 'request');
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(out.text())).toMatchObject({ msg: 'request', status: 200 });
  });

  test('a pretty line: time, level, message, then the fields', () => {
    expect(prettyLine('{"level":30,"time":0,"msg":"request","status":200,"url":"/v2/x y"}', false)).toBe(
      '00:00:00.000 INFO  request  status=200 url="/v2/x y"',
    );
    expect(prettyLine('not json', false)).toBe('not json');
  });
});
