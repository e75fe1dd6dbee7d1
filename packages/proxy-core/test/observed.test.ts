/** The observing Fetcher layer reports each upstream exchange: outcome, status, quota left, or the error. */
import { afterEach, expect, test } from '@jest/globals';
import { withObserver } from '../src/fetch/observed.js';
import { createTransport } from '../src/upstream/fetcher-stack.js';
import { LOOPBACK, serve, type TestServer } from './servers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

test('each exchange is reported with its outcome, status and ratelimit-remaining; a network error as an error', async () => {
  server = await serve((req, res) => {
    if (req.url === '/quota') res.writeHead(200, { 'ratelimit-remaining': '76;w=21600' }).end();
    else res.writeHead(req.url === '/missing' ? 404 : 503).end();
  });
  const seen: Array<Record<string, unknown>> = [];
  const fetcher = withObserver(createTransport(LOOPBACK), 'docker.io', { upstreamExchange: (e) => seen.push(e) });
  for (const path of ['/quota', '/missing', '/broken']) {
    const response = await fetcher({ url: new URL(path, server.url), method: 'GET', headers: {} });
    response.body?.resume();
  }
  const closed = server.url;
  await server.close();
  server = undefined;
  await expect(fetcher({ url: new URL('/gone', closed), method: 'HEAD', headers: {} })).rejects.toBeDefined();
  expect(seen.map(({ seconds, ...rest }) => ({ ...rest, timed: typeof seconds === 'number' && seconds >= 0 }))).toEqual([
    { registry: 'docker.io', method: 'GET', status: 200, outcome: 'ok', remaining: 76, timed: true },
    { registry: 'docker.io', method: 'GET', status: 404, outcome: 'client-error', remaining: undefined, timed: true },
    { registry: 'docker.io', method: 'GET', status: 503, outcome: 'server-error', remaining: undefined, timed: true },
    { registry: 'docker.io', method: 'HEAD', outcome: 'error', timed: true },
  ]);
});
