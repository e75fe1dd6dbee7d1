import { afterAll, describe, expect, test } from '@jest/globals';
import { writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ProxyTokens } from '../../src/auth/proxy-tokens.js';
import { loadSigningKey } from '../../src/auth/signing-key.js';
import { Htpasswd } from '../../src/auth/htpasswd.js';
import { ConfigError } from '../../src/config/load.js';
import { tempDir } from '../testbed/tmp.js';

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
