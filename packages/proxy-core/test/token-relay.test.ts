import { afterEach, describe, expect, test } from '@jest/globals';
import { TokenRelay } from '../src/auth/token-relay.js';
import { createRegistryFetchers, createTransport } from '../src/upstream/fetcher-stack.js';
import { withLibraryPrefix } from '../src/reference.js';
import { RegistryError } from '../src/errors.js';
import { serve, type TestServer, LOOPBACK } from './servers.js';

const started: TestServer[] = [];
const mapName = (name: string): string | undefined => (name === 'other.io/x' ? undefined : withLibraryPrefix(name));
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

async function setup(realmOf: (tokenUrl: string) => string, trusted: (tokenUrl: string) => string[]) {
  const bodies: string[] = [];
  const tokens = await serve((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t","expires_in":300}');
    });
  });
  const registry = await serve((_req, res) =>
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realmOf(tokens.url)}",service="upstream-svc"` }).end(),
  );
  started.push(tokens, registry);
  const upstream = { name: 'docker.io', url: new URL(registry.url), trustedRealms: trusted(tokens.url), libraryPrefix: true };
  const { tokens: fetcher, discovery } = createRegistryFetchers(createTransport(LOOPBACK), upstream, { retry: { retries: 0 } });
  const relay = new TokenRelay(discovery, fetcher);
  return { tokens, registry, relay, discovery, bodies };
}

describe('token relay', () => {
  test('GET: service set for the upstream, scopes fixed up, Basic credentials forwarded', async () => {
    const { tokens, registry, relay } = await setup(
      (t) => `${t}/token`,
      (t) => [`${t}/token`],
    );
    const params = new URLSearchParams([
      ['service', 'mirror'],
      ['scope', 'repository:redis:pull'],
      ['scope', 'repository:other.io/x:pull'],
      ['account', 'bob'],
      ['evil', '1'],
    ]);
    const answer = await relay.relay({ method: 'GET', params, authorization: 'Basic Ym9iOnB3', mapName, sendCredentials: true });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({ token: 't', expires_in: 300 });
    const seen = tokens.requests[0]!;
    expect(seen.url).toBe('/token?service=upstream-svc&scope=repository%3Alibrary%2Fredis%3Apull&account=bob');
    expect(seen.headers.authorization).toBe('Basic Ym9iOnB3');
    await relay.relay({ method: 'GET', params, authorization: 'Bearer not-forwarded', mapName, sendCredentials: true });
    expect(tokens.requests[1]!.headers.authorization).toBeUndefined();
    // The realm was discovered once and remembered.
    expect(registry.requests).toHaveLength(1);
  });

  test('POST: OAuth2 form with one space-joined scope field', async () => {
    const { tokens, relay, bodies } = await setup(
      (t) => `${t}/token`,
      (t) => [`${t}/token`],
    );
    const params = new URLSearchParams({
      grant_type: 'password',
      username: 'u',
      password: 'p',
      client_id: 'c',
      scope: 'repository:a:pull repository:b/c:pull',
      service: 'x',
    });
    await relay.relay({ method: 'POST', params, mapName, sendCredentials: true });
    expect(tokens.requests[0]!.method).toBe('POST');
    expect(Object.fromEntries(new URLSearchParams(bodies[0]))).toEqual({
      service: 'upstream-svc',
      grant_type: 'password',
      username: 'u',
      password: 'p',
      client_id: 'c',
      scope: 'repository:library/a:pull repository:b/c:pull',
    });
  });

  test('credentials of another registry are not relayed: the request becomes an anonymous GET', async () => {
    const { tokens, relay, bodies } = await setup(
      (t) => `${t}/token`,
      (t) => [`${t}/token`],
    );
    const params = new URLSearchParams({
      grant_type: 'password',
      username: 'u',
      password: 'p',
      refresh_token: 'r',
      access_type: 'offline',
      client_id: 'c',
      scope: 'repository:a:pull',
      service: 'x',
    });
    await relay.relay({ method: 'POST', params, authorization: 'Basic Ym9iOnB3', mapName, sendCredentials: false });
    await relay.relay({ method: 'GET', params, authorization: 'Basic Ym9iOnB3', mapName, sendCredentials: false });
    for (const seen of tokens.requests) {
      expect(seen.method).toBe('GET');
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.url).toBe('/token?service=upstream-svc&scope=repository%3Alibrary%2Fa%3Apull&client_id=c');
    }
    expect(bodies).toEqual(['', '']);
  });

  test('an untrusted realm is refused and never contacted', async () => {
    const { tokens, relay } = await setup(
      (t) => `${t}/token`,
      () => [],
    );
    const err = await relay
      .relay({
        method: 'GET',
        params: new URLSearchParams('scope=repository:a:pull'),
        authorization: 'Basic eDp5',
        mapName,
        sendCredentials: true,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('UNAVAILABLE');
    expect(tokens.requests).toHaveLength(0);
  });

  test('concurrent token requests share one discovery ping', async () => {
    const { registry, discovery } = await setup(
      (t) => `${t}/token`,
      (t) => [`${t}/token`],
    );
    await Promise.all([discovery.discover(), discovery.discover(), discovery.discover()]);
    expect(registry.requests).toHaveLength(1);
  });
});
