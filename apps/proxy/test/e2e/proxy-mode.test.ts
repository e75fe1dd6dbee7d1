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
  const registries = { 'docker.io': { url: env.bed.upstreamUrl, trustedRealms: [env.bed.token.realm], accounts: [{ username: 'alice', password: USERS.alice! }] } };
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
    expect((await fetch(`${closed.url}/auth/token?service=x&scope=repository:alpine:pull`, { headers: { authorization: basic('bob', 'wrong') } })).status).toBe(401);
    expect((await fetch(`${closed.url}/auth/token?service=x&scope=repository:alpine:pull`, { headers: { authorization: basic('nobody', 'x') } })).status).toBe(401);
    const token = await tokenFrom(`${closed.url}/auth/token`, 'repository:alpine:pull', basic('bob', 'bob-secret'));
    expect((await manifest(closed, token)).status).toBe(200);
    expect((await call(`${closed.url}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  test('skopeo logs in and pulls a private image through the operator account', async () => {
    expect(await skopeoCopy(`${closed.hostPort}/private/secret:latest`, join(dir.path, 'skopeo'), 'bob:bob-secret')).toBe(env.images.secret.top.digest);
    await expect(skopeoCopy(`${closed.hostPort}/private/secret:latest`, join(dir.path, 'skopeo-anon'))).rejects.toThrow();
  }, 60_000);

  test('the start-up log warns that anonymous users can read what the accounts can', () => {
    expect(open.logs.some((l) => l.includes('ANONYMOUS ACCESS IS ON'))).toBe(true);
    expect(closed.logs.some((l) => l.includes('ANONYMOUS ACCESS IS ON'))).toBe(false);
  });
});

describe('tokens the mirror refuses', () => {
  const forge = (claims: Record<string, unknown>, key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey): string => {
    const head = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${head}.${body}.${sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  const now = Math.floor(Date.now() / 1000);
  const valid = () => ({ iss: 'docxy', aud: new URL(closed.url).host, sub: 'bob', iat: now, nbf: now - 5, exp: now + 600, jti: 'x', access: [{ type: 'repository', name: 'alpine', actions: ['pull'] }] });

  test('signed by another key', async () => {
    const reply = await manifest(closed, forge(valid()));
    expect(reply.status).toBe(401);
    expect(errorCode(reply)).toBe('UNAUTHORIZED');
  });

  test('expired, or for another scope, or unsigned', async () => {
    const good = await tokenFrom(`${closed.url}/auth/token`, 'repository:alpine:pull', basic('bob', 'bob-secret'));
    const [head, , signature] = good.split('.') as [string, string, string];
    const tampered = (claims: Record<string, unknown>): string => `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    expect((await manifest(closed, tampered({ ...valid(), exp: now - 1 }))).status).toBe(401);
    expect((await manifest(closed, good, 'busybox')).status).toBe(401);
    expect((await manifest(closed, `${head}.${Buffer.from(JSON.stringify(valid())).toString('base64url')}.`)).status).toBe(401);
    const noneAlg = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(valid())).toString('base64url')}.`;
    expect((await manifest(closed, noneAlg)).status).toBe(401);
    expect((await manifest(closed, good)).status).toBe(200);
  });
});
