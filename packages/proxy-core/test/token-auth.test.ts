/** Upstream bearer auth with operator accounts, against in-process registry and token servers. */
import { afterEach, describe, expect, test } from '@jest/globals';
import { withTokenAuth } from '../src/auth/token-auth.js';
import { AccountPool } from '../src/upstream/account-pool.js';
import { RealmDiscovery } from '../src/auth/realm-discovery.js';
import { baseFetcher } from '../src/fetch/base-fetcher.js';
import { LOOPBACK, serve, type TestServer } from './servers.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(registryAnswer: (auth: string | undefined) => { status: number; headers?: Record<string, string> }) {
  let issued = 0;
  const tokens = await serve((req, res) => {
    issued++;
    const basic = req.headers.authorization
      ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString().split(':')[0]
      : 'anonymous';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${basic}-${issued}`, expires_in: 300 }));
  });
  const registry = await serve((req, res) => {
    if (req.url === '/v2/') return res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url}/token",service="svc"` }).end();
    const answer = registryAnswer(req.headers.authorization);
    res.writeHead(answer.status, answer.headers).end();
  });
  servers.push(tokens, registry);
  const base = baseFetcher(LOOPBACK);
  const upstream = { name: 'docker.io', url: new URL(registry.url), trustedRealms: [`${tokens.url}/token`], libraryPrefix: true };
  return { tokens, registry, base, discovery: new RealmDiscovery(upstream, base) };
}

const get = (url: string, headers: Record<string, string> = {}) => ({ url: new URL(url), method: 'GET' as const, headers });

describe('token auth with operator accounts', () => {
  test('fetches a token with the account, caches it per scope, and never touches a client token', async () => {
    const { registry, base, discovery, tokens } = await setup(() => ({ status: 200 }));
    const alice = { username: 'alice', password: 'pw' };
    const fetcher = withTokenAuth(base, { discovery, accounts: new AccountPool([alice]), tokenFetcher: base });
    await fetcher(get(`${registry.url}/v2/library/redis/manifests/latest`));
    await fetcher(get(`${registry.url}/v2/library/redis/blobs/sha256:x`));
    await fetcher(get(`${registry.url}/v2/library/nginx/manifests/latest`));
    const seen = registry.requests.filter((r) => r.url?.includes('/library/')).map((r) => r.headers.authorization);
    expect(seen).toEqual(['Bearer alice-1', 'Bearer alice-1', 'Bearer alice-2']);
    expect(tokens.requests.map((r) => new URL(r.url!, 'http://x').searchParams.get('scope'))).toEqual([
      'repository:library/redis:pull',
      'repository:library/nginx:pull',
    ]);
    await fetcher(get(`${registry.url}/v2/library/redis/manifests/latest`, { authorization: 'Bearer client' }));
    expect(registry.requests.at(-1)!.headers.authorization).toBe('Bearer client');
  });

  test('a 401 refreshes the token once', async () => {
    let calls = 0;
    const { registry, base, discovery } = await setup(() => ({ status: ++calls === 1 ? 401 : 200 }));
    const fetcher = withTokenAuth(base, {
      discovery,
      accounts: new AccountPool([{ username: 'alice', password: 'pw' }]),
      tokenFetcher: base,
    });
    const response = await fetcher(get(`${registry.url}/v2/library/redis/manifests/latest`));
    expect(response.status).toBe(200);
  });

  test('an account that answered 429 rests; the next one is used; all resting → 429 without calling upstream', async () => {
    const { registry, base, discovery } = await setup((auth): { status: number; headers: Record<string, string> } =>
      auth?.startsWith('Bearer alice')
        ? { status: 429, headers: { 'retry-after': '600' } }
        : { status: 200, headers: { 'ratelimit-remaining': '0;w=21600' } },
    );
    const fetcher = withTokenAuth(base, {
      discovery,
      accounts: new AccountPool([{ username: 'alice', password: 'pw' }]),
      tokenFetcher: base,
    });
    expect((await fetcher(get(`${registry.url}/v2/library/a/manifests/latest`))).status).toBe(429);
    expect((await fetcher(get(`${registry.url}/v2/library/a/manifests/latest`))).status).toBe(200);
    const before = registry.requests.length;
    await expect(fetcher(get(`${registry.url}/v2/library/a/manifests/latest`))).rejects.toMatchObject({
      code: 'TOOMANYREQUESTS',
      headers: { 'retry-after': '600' },
    });
    expect(registry.requests.length).toBe(before);
  });
});

test('a token answer over 1 MiB is an upstream error, not a truncated token', async () => {
  const tokens = await serve((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 't'.repeat(1.5 * 1024 * 1024) })),
  );
  const registry = await serve((req, res) => {
    if (req.url === '/v2/') return res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url}/token",service="svc"` }).end();
    res.writeHead(200).end();
  });
  servers.push(tokens, registry);
  const base = baseFetcher(LOOPBACK);
  const discovery = new RealmDiscovery(
    { name: 'docker.io', url: new URL(registry.url), trustedRealms: [`${tokens.url}/token`], libraryPrefix: true },
    base,
  );
  const fetcher = withTokenAuth(base, { discovery, accounts: new AccountPool([]), tokenFetcher: base });
  await expect(fetcher(get(`${registry.url}/v2/library/redis/manifests/latest`))).rejects.toMatchObject({
    code: 'UNAVAILABLE',
    message: 'upstream token service answer exceeds 1048576 bytes',
  });
});
