import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ProxyTokens } from '../../src/auth/proxy-tokens.js';
import { loadSigningKey } from '../../src/auth/signing-key.js';
import { Htpasswd } from '../../src/auth/htpasswd.js';
import { ConfigError } from '../../src/config/load.js';
import { tempDir } from '../testbed/tmp.js';
import { basic } from '../testbed/client.js';
import type { Started } from '../testbed/http-server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { fakeUpstream, mirrorOf } from './fake-upstream.js';

const dir = tempDir('proxy-auth');
afterAll(() => dir.remove());

describe('mirror-signed tokens', () => {
  test('valid until they expire, for their audience and scopes only', () => {
    let now = 1_800_000_000_000;
    const key = loadSigningKey(undefined, dir.path);
    const tokens = new ProxyTokens(key, 'mirror.example.com', 300_000, () => now);
    const { token, expiresIn } = tokens.issue('bob', [{ type: 'repository', name: 'library/redis', actions: ['pull'] }]);
    expect(expiresIn).toBe(300);
    const claims = tokens.verify(token)!;
    expect(claims.sub).toBe('bob');
    expect(tokens.allows(claims, 'library/redis', 'pull')).toBe(true);
    expect(tokens.allows(claims, 'library/nginx', 'pull')).toBe(false);
    expect(tokens.allows(claims, 'library/redis', 'push')).toBe(false);
    expect(new ProxyTokens(key, 'other.example.com', 300_000, () => now).verify(token)).toBeUndefined();
    now += 301_000;
    expect(tokens.verify(token)).toBeUndefined();
  });

  test('the generated key is kept (0600) and reused across restarts', () => {
    const first = loadSigningKey(undefined, dir.path);
    const second = loadSigningKey(undefined, dir.path);
    expect(first.publicKey.export({ format: 'jwk' })).toEqual(second.publicKey.export({ format: 'jwk' }));
    expect(statSync(join(dir.path, 'auth', 'signing-key.pem')).mode & 0o777).toBe(0o600);
  });
});

describe('htpasswd', () => {
  test('bcrypt entries ($2y$, $2b$) verify; wrong passwords and unknown users do not', async () => {
    const path = join(dir.path, 'users');
    writeFileSync(path, `a:${bcrypt.hashSync('pa', 4).replace('$2b$', '$2y$')}\nb:${bcrypt.hashSync('pb', 4)}\n\n# comment\n`);
    const users = Htpasswd.load(path);
    expect(users.size).toBe(2);
    expect(await users.verify('a', 'pa')).toBe(true);
    expect(await users.verify('a', 'pa')).toBe(true);
    expect(await users.verify('b', 'pb')).toBe(true);
    expect(await users.verify('a', 'pb')).toBe(false);
    expect(await users.verify('c', 'pa')).toBe(false);
  });

  test.each([
    ['an MD5 (apr1) entry', 'u:$apr1$abc$def'],
    ['a SHA entry', 'u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='],
    ['a line without a colon', 'justtext'],
  ])('%s stops start-up naming the file and line', (_name, line) => {
    const path = join(dir.path, 'bad');
    writeFileSync(path, `# ok\n${line}\n`);
    expect(() => Htpasswd.load(path)).toThrow(ConfigError);
    expect(() => Htpasswd.load(path)).toThrow(/line 2/);
  });
});

describe('a user removed from the htpasswd file gets nothing new', () => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] }));
  const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const cleanup: Array<() => Promise<void>> = [];
  // The tokens' audience is the public host: fixed, so a restarted mirror on another port accepts them.
  const PUBLIC_URL = 'http://mirror.test';
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  const entry = (user: string): string => `${user}:${bcrypt.hashSync(`${user}-secret`, 4)}\n`;
  /** An upstream with one image, `library/x:latest`. */
  const upstream = async (): Promise<Started> => {
    const started = await fakeUpstream((req, res) => {
      if (req.url?.startsWith('/v2/library/x/manifests/'))
        res
          .writeHead(200, {
            'content-type': 'application/vnd.oci.image.manifest.v1+json',
            'content-length': String(manifest.length),
            'docker-content-digest': manifestDigest,
          })
          .end(req.method === 'HEAD' ? undefined : manifest);
      else res.writeHead(404).end();
    });
    cleanup.push(() => started.close());
    return started;
  };
  const start = async (up: Started, overrides: Partial<ConfigInput>) => {
    const mirror = await mirrorOf(up, overrides);
    cleanup.push(() => mirror.stop());
    return mirror;
  };
  const login = async (mirrorUrl: string, user?: string): Promise<Response> =>
    fetch(`${mirrorUrl}/auth/token?service=x&scope=repository:x:pull`, {
      headers: user ? { authorization: basic(user, `${user}-secret`) } : {},
    });
  const tokenOf = async (response: Response): Promise<string> => {
    expect(response.status).toBe(200);
    return ((await response.json()) as { token: string }).token;
  };
  const pull = async (mirrorUrl: string, token: string): Promise<number> =>
    (await fetch(`${mirrorUrl}/v2/x/manifests/latest`, { headers: { authorization: `Bearer ${token}` } })).status;
  const base = async (mirrorUrl: string, token: string): Promise<number> =>
    (await fetch(`${mirrorUrl}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status;

  test('the file is re-read when it changes: his token and his login stop working at once, others keep theirs', async () => {
    const htpasswd = join(dir.path, 'live-users');
    writeFileSync(htpasswd, entry('bob') + entry('carol'));
    const mirror = await start(await upstream(), { auth: { mode: 'proxy', anonymous: false, htpasswd } });
    const bob = await tokenOf(await login(mirror.url, 'bob'));
    const carol = await tokenOf(await login(mirror.url, 'carol'));
    expect(await pull(mirror.url, bob)).toBe(200);

    writeFileSync(htpasswd, entry('carol'));
    expect(await pull(mirror.url, bob)).toBe(401);
    expect(await base(mirror.url, bob)).toBe(401);
    expect((await login(mirror.url, 'bob')).status).toBe(401);
    expect(await pull(mirror.url, carol)).toBe(200);

    // A broken file admits nobody until it is fixed.
    writeFileSync(htpasswd, `${entry('carol')}carol2:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n`);
    expect(await pull(mirror.url, carol)).toBe(401);
    writeFileSync(htpasswd, entry('carol'));
    expect(await pull(mirror.url, carol)).toBe(200);
  });

  test('after a restart without his entry and his rule, his token does not fall back to the default rule', async () => {
    const data = tempDir('removed-user');
    cleanup.push(async () => data.remove());
    const htpasswd = join(dir.path, 'restart-users');
    writeFileSync(htpasswd, entry('bob'));
    const up = await upstream();
    const before = await start(up, {
      publicUrl: PUBLIC_URL,
      dataDir: data.path,
      auth: { mode: 'proxy', anonymous: true, htpasswd },
      access: { rules: { users: { bob: { registries: ['docker.io'], allow: ['docker.io/library/x'], block: [] } } } },
    });
    const bob = await tokenOf(await login(before.url, 'bob'));
    const anonymous = await tokenOf(await login(before.url));
    expect(await pull(before.url, bob)).toBe(200);
    expect(await pull(before.url, anonymous)).toBe(200);
    await cleanup.pop()!();

    writeFileSync(htpasswd, entry('carol'));
    // Same data dir and public URL, so the same signing key and audience: the old tokens still verify.
    const after = await start(up, { publicUrl: PUBLIC_URL, dataDir: data.path, auth: { mode: 'proxy', anonymous: false, htpasswd } });
    expect(await pull(after.url, await tokenOf(await login(after.url, 'carol')))).toBe(200);
    expect(await pull(after.url, bob)).toBe(401);
    expect(await base(after.url, bob)).toBe(401);
    // Anonymous access turned off voids the anonymous tokens too.
    expect(await pull(after.url, anonymous)).toBe(401);
  });
});
