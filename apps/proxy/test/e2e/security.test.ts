/**
 * Trust-boundary properties, each test named for the property it protects.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { basic, call, errorCode, rawCall, tokenFrom } from '../testbed/client.js';
import { USERS } from '../testbed/token-service.js';

const env = useSeededMirror({ config: { publicUrl: 'https://mirror.example.test' } });

describe('the challenge realm ignores the Host header', () => {
  test.each([[{ host: 'evil.example' }], [{ host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' }]])(
    'headers %j',
    async (headers) => {
      const reply = await rawCall(env.mirror.url, '/v2/', { headers });
      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toBe(
        'Bearer realm="https://mirror.example.test/auth/token",service="mirror.example.test"',
      );
      const manifest = await rawCall(env.mirror.url, '/v2/alpine/manifests/latest', { headers });
      expect(manifest.headers.get('www-authenticate')).toContain('realm="https://mirror.example.test/auth/token"');
    },
  );
});

describe('no Authorization reaches the redirected blob host', () => {
  test('the registry sees the client token, the CDN origin never does', async () => {
    const relayed = await tokenFrom(`${env.mirror.url}/auth/token`, 'repository:alpine:pull', basic('alice', USERS.alice!));
    // The client holds the upstream's token wrapped with the registry's name; the registry gets it unwrapped.
    const token = env.bed.token.issued.at(-1)!;
    expect(relayed).toContain(token);
    env.bed.cdn.calls.length = 0;
    env.bed.front.calls.length = 0;
    for (const b of env.images.list.blobs) {
      const reply = await call(`${env.mirror.url}/v2/alpine/blobs/${b.digest}`, { headers: { authorization: `Bearer ${relayed}` } });
      expect(reply.status).toBe(200);
    }
    const registryBlobCalls = env.bed.front.calls.filter((c) => c.path.includes('/blobs/'));
    expect(registryBlobCalls).toHaveLength(env.images.list.blobs.length);
    expect(registryBlobCalls.every((c) => c.authorization === `Bearer ${token}`)).toBe(true);
    expect(env.bed.cdn.calls).toHaveLength(env.images.list.blobs.length);
    expect(env.bed.cdn.calls.map((c) => c.authorization)).toEqual(env.images.list.blobs.map(() => undefined));
  });
});

describe('an untrusted token realm is refused', () => {
  let untrusting: TestMirror;
  beforeAll(async () => {
    // Same upstream, but its token service is not listed in trustedRealms.
    untrusting = await startTestMirror(env.bed, { registries: { 'docker.io': { url: env.bed.upstreamUrl, trustedRealms: [] } } });
  });
  afterAll(async () => {
    await untrusting?.stop();
  });

  test('client credentials are never sent to it', async () => {
    env.bed.token.calls.length = 0;
    const res = await call(`${untrusting.url}/auth/token?service=x&scope=repository:alpine:pull`, {
      headers: { authorization: basic('alice', USERS.alice!) },
    });
    expect(res.status).toBe(502);
    expect(errorCode(res)).toBe('UNAVAILABLE');
    expect(env.bed.token.calls).toEqual([]);
  });

  test('a trusted realm with another path does not make this one trusted', async () => {
    const lookalike = await startTestMirror(env.bed, {
      registries: { 'docker.io': { url: env.bed.upstreamUrl, trustedRealms: [`${env.bed.token.url}/token/other`] } },
    });
    try {
      env.bed.token.calls.length = 0;
      const res = await call(`${lookalike.url}/auth/token?service=x&scope=repository:alpine:pull`);
      expect(res.status).toBe(502);
      expect(env.bed.token.calls).toEqual([]);
    } finally {
      await lookalike.stop();
    }
  });
});

describe('tokens and credentials never appear in logs', () => {
  test('after a credentialed pull, token relay, OAuth2 POST and failures', async () => {
    const password = USERS.alice!;
    const creds = basic('alice', password);
    const token = await tokenFrom(`${env.mirror.url}/auth/token`, 'repository:private/secret:pull', creds);
    await call(`${env.mirror.url}/v2/private/secret/manifests/latest`, { headers: { authorization: `Bearer ${token}` } });
    await call(`${env.mirror.url}/v2/private/secret/blobs/${env.images.secret.blobs[0]!.digest}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await call(`${env.mirror.url}/v2/private/secret/manifests/nope`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${env.mirror.url}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', username: 'alice', password, service: 'x', scope: 'repository:alpine:pull' }),
    });
    await fetch(`${env.mirror.url}/auth/token?service=x&password=${password}&refresh_token=${token}`, {
      headers: { authorization: basic('alice', 'wrong-secret') },
    });
    const logs = env.mirror.logs.join('\n');
    expect(logs).toContain('/v2/private/secret/manifests/latest');
    for (const secret of [
      token,
      token.split('.')[2]!,
      password,
      'wrong-secret',
      creds.slice(6),
      Buffer.from('alice:wrong-secret').toString('base64'),
    ]) {
      expect(logs).not.toContain(secret);
    }
  });
});
