/**
 * auth.mode "proxy" against the real registry: clients log in to the mirror (htpasswd)
 * and hold tokens the mirror signs; upstream calls use the operator's account.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { useSeededMirror } from '../testbed/lifecycle.js';
import { startTestMirror, type TestMirror } from '../testbed/mirror.js';
import { MT } from '../testbed/images.js';
import { basic, call, errorCode, tokenFrom } from '../testbed/client.js';
import { skopeoCopy } from '../testbed/clients.js';
import { USERS } from '../testbed/token-service.js';
import { tempDir } from '../testbed/tmp.js';

const ALL = [MT.dockerList, MT.dockerManifest, MT.ociIndex, MT.ociManifest].join(', ');
const env = useSeededMirror();
const dir = tempDir('proxy-mode');
let open: TestMirror; // anonymous allowed
let closed: TestMirror; // login required

beforeAll(async () => {
  const htpasswd = join(dir.path, 'htpasswd');
  // `htpasswd -B` writes $2y$ entries.
  writeFileSync(htpasswd, `# mirror users\nbob:${bcrypt.hashSync('bob-secret', 4).replace(/^\$2b\$/, '$2y$')}\n`);
  const registries = {
    'docker.io': {
      url: env.bed.upstreamUrl,
      trustedRealms: [env.bed.token.realm],
      accounts: [{ username: 'alice', password: USERS.alice! }],
    },
  };
  open = await startTestMirror(env.bed, { auth: { mode: 'proxy', anonymous: true, htpasswd }, registries });
  closed = await startTestMirror(env.bed, { auth: { mode: 'proxy', anonymous: false, htpasswd }, registries });
});
afterAll(async () => {
  await open?.stop();
  await closed?.stop();
  dir.remove();
});

const manifest = (mirror: TestMirror, token: string, repo = 'alpine', ref = 'latest') =>
  call(`${mirror.url}/v2/${repo}/manifests/${ref}`, { headers: { authorization: `Bearer ${token}`, accept: ALL } });

describe('logins and tokens signed by the mirror', () => {
  test('anonymous pulls when allowed; upstream sees the operator account, never the client token', async () => {
    const token = await tokenFrom(`${open.url}/auth/token`, 'repository:alpine:pull');
    env.bed.front.calls.length = 0;
    env.bed.token.calls.length = 0;
    const reply = await manifest(open, token, 'alpine', env.images.list.top.digest);
    expect(reply.status).toBe(200);
    expect(env.bed.front.calls.every((c) => c.authorization !== `Bearer ${token}`)).toBe(true);
    expect(env.bed.token.calls.map((c) => c.user)).toContain('alice');
  });

  test('a login is required when anonymous is off; bad passwords are refused', async () => {
    expect((await fetch(`${closed.url}/auth/token?service=x&scope=repository:alpine:pull`)).status).toBe(401);
    expect(
      (
        await fetch(`${closed.url}/auth/token?service=x&scope=repository:alpine:pull`, {
          headers: { authorization: basic('bob', 'wrong') },
        })
      ).status,
    ).toBe(401);
    expect(
      (await fetch(`${closed.url}/auth/token?service=x&scope=repository:alpine:pull`, { headers: { authorization: basic('nobody', 'x') } }))
        .status,
    ).toBe(401);
    const token = await tokenFrom(`${closed.url}/auth/token`, 'repository:alpine:pull', basic('bob', 'bob-secret'));
    expect((await manifest(closed, token)).status).toBe(200);
    expect((await call(`${closed.url}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  test('skopeo logs in and pulls a private image through the operator account', async () => {
    expect(await skopeoCopy(`${closed.hostPort}/private/secret:latest`, join(dir.path, 'skopeo'), 'bob:bob-secret')).toBe(
      env.images.secret.top.digest,
    );
    await expect(skopeoCopy(`${closed.hostPort}/private/secret:latest`, join(dir.path, 'skopeo-anon'))).rejects.toThrow();
  }, 60_000);

  test('the start-up log warns that anonymous users can read what the accounts can', () => {
    expect(open.logs.some((l) => l.includes('ANONYMOUS ACCESS IS ON'))).toBe(true);
    expect(closed.logs.some((l) => l.includes('ANONYMOUS ACCESS IS ON'))).toBe(false);
  });
});

describe('upstream accounts', () => {
  let pooled: TestMirror;
  beforeAll(async () => {
    // One account's secret comes from the environment, as a platform would mount it.
    process.env.DOCXY_TEST_PUSHER_PASSWORD = USERS.pusher;
    pooled = await startTestMirror(env.bed, {
      auth: { mode: 'proxy', anonymous: true },
      cache: { tagFreshness: 0 },
      registries: {
        'docker.io': {
          url: env.bed.upstreamUrl,
          trustedRealms: [env.bed.token.realm],
          accounts: [
            { username: 'alice', password: USERS.alice! },
            { username: 'pusher', passwordEnv: 'DOCXY_TEST_PUSHER_PASSWORD' },
          ],
        },
        'registry.test': {
          url: env.bed.upstreamUrl,
          trustedRealms: [env.bed.token.realm],
          accounts: [{ username: 'pusher', password: USERS.pusher! }],
        },
      },
    });
  });
  afterAll(async () => {
    await pooled?.stop();
    env.bed.front.fault = undefined;
  });

  const userOf = (authorization: string | undefined): string | undefined => {
    const payload = authorization?.split('.')[1];
    return payload ? (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub: string }).sub : undefined;
  };

  test('each registry gets only its own accounts; no credential reaches the CDN or a log line', async () => {
    const token = await tokenFrom(`${pooled.url}/auth/token`, 'repository:registry.test/acme/tool:pull');
    env.bed.front.calls.length = 0;
    env.bed.cdn.calls.length = 0;
    const reply = await call(`${pooled.url}/v2/registry.test/acme/tool/manifests/1.0`, {
      headers: { authorization: `Bearer ${token}`, accept: ALL },
    });
    expect(reply.status).toBe(200);
    const layer = env.images.namespaced.blobs[1]!;
    expect(
      (await call(`${pooled.url}/v2/registry.test/acme/tool/blobs/${layer.digest}`, { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(200);
    const users = new Set(env.bed.front.calls.filter((c) => c.authorization).map((c) => userOf(c.authorization)));
    expect([...users]).toEqual(['pusher']);
    expect(env.bed.cdn.calls.length).toBeGreaterThan(0);
    expect(env.bed.cdn.calls.every((c) => c.authorization === undefined)).toBe(true);
    const logs = pooled.logs.join('\n');
    for (const secret of [
      USERS.alice!,
      USERS.pusher!,
      ...env.bed.front.calls.map((c) => c.authorization?.slice(7)).filter((t): t is string => !!t),
    ])
      expect(logs).not.toContain(secret);
  });

  test('an account that answered 429 rests and the next one is used; when all rest, 429 with Retry-After and no upstream call', async () => {
    const token = await tokenFrom(`${pooled.url}/auth/token`, 'repository:alpine:pull');
    const headers = { authorization: `Bearer ${token}`, accept: ALL };
    const limited = new Set<string>();
    env.bed.front.fault = (c) => {
      const user = userOf(c.authorization);
      return user !== undefined && limited.has(user) && c.path.includes('/manifests/')
        ? { status: 429, headers: { 'retry-after': '3600' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"x"}]}' }
        : undefined;
    };
    env.bed.front.calls.length = 0;
    expect((await call(`${pooled.url}/v2/alpine/manifests/3.20`, { headers })).status).toBe(200);
    const first = userOf(env.bed.front.calls.find((c) => c.authorization)?.authorization);
    expect(['alice', 'pusher']).toContain(first);
    limited.add(first!);
    // The limited account answers 429 once, then rests; the other account serves.
    await call(`${pooled.url}/v2/alpine/manifests/never-1`, { headers });
    env.bed.front.calls.length = 0;
    expect((await call(`${pooled.url}/v2/alpine/manifests/3.20`, { headers })).status).toBe(200);
    const second = new Set(env.bed.front.calls.map((c) => userOf(c.authorization)).filter(Boolean));
    expect(second.has(first)).toBe(false);
    // Now every account (anonymous included) is limited.
    limited.add('alice').add('pusher').add('');
    await call(`${pooled.url}/v2/alpine/manifests/never-2`, { headers });
    await call(`${pooled.url}/v2/alpine/manifests/never-3`, { headers });
    env.bed.front.calls.length = 0;
    const refused = await call(`${pooled.url}/v2/alpine/manifests/never-4`, { headers });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(env.bed.front.calls.filter((c) => c.path.includes('/manifests/'))).toEqual([]);
    // A cached tag is still served (stale) meanwhile.
    const stale = await call(`${pooled.url}/v2/alpine/manifests/3.20`, { headers });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('warning')).toContain('Stale');
  });
});

describe('tokens the mirror refuses', () => {
  const forge = (claims: Record<string, unknown>, key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey): string => {
    const head = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${head}.${body}.${sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  const now = Math.floor(Date.now() / 1000);
  const valid = () => ({
    iss: 'docxy',
    aud: new URL(closed.url).host,
    sub: 'bob',
    iat: now,
    nbf: now - 5,
    exp: now + 600,
    jti: 'x',
    access: [{ type: 'repository', name: 'alpine', actions: ['pull'] }],
  });

  test('signed by another key', async () => {
    const reply = await manifest(closed, forge(valid()));
    expect(reply.status).toBe(401);
    expect(errorCode(reply)).toBe('UNAUTHORIZED');
  });

  test('expired, or for another scope, or unsigned', async () => {
    const good = await tokenFrom(`${closed.url}/auth/token`, 'repository:alpine:pull', basic('bob', 'bob-secret'));
    const [head, , signature] = good.split('.') as [string, string, string];
    const tampered = (claims: Record<string, unknown>): string =>
      `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    expect((await manifest(closed, tampered({ ...valid(), exp: now - 1 }))).status).toBe(401);
    expect((await manifest(closed, good, 'busybox')).status).toBe(401);
    expect((await manifest(closed, `${head}.${Buffer.from(JSON.stringify(valid())).toString('base64url')}.`)).status).toBe(401);
    const noneAlg = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(valid())).toString('base64url')}.`;
    expect((await manifest(closed, noneAlg)).status).toBe(401);
    expect((await manifest(closed, good)).status).toBe(200);
  });
});
