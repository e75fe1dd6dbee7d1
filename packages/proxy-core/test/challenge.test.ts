import { describe, expect, test } from '@jest/globals';
import { formatChallenge, parseChallenge } from '../src/auth/challenge.js';
import { mapScopes, parseScope } from '../src/auth/scope.js';
import { isTrustedRealm } from '../src/auth/realm-trust.js';
import { withLibraryPrefix } from '../src/reference.js';

describe('WWW-Authenticate parsing', () => {
  test.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
      'bearer',
      { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' },
    ],
    [
      'Bearer realm="https://a/t",service="s",scope="repository:library/redis:pull",error="insufficient_scope"',
      'bearer',
      { realm: 'https://a/t', service: 's', scope: 'repository:library/redis:pull', error: 'insufficient_scope' },
    ],
    ['Basic realm="Registry Realm"', 'basic', { realm: 'Registry Realm' }],
    ['bearer realm=https://x/t, service=svc', 'bearer', { realm: 'https://x/t', service: 'svc' }],
    ['Bearer realm="a\\"b"', 'bearer', { realm: 'a"b' }],
    ['Bearer', 'bearer', {}],
  ])('%s', (header, scheme, params) => {
    expect(parseChallenge(header)).toEqual({ scheme, params });
  });

  test('rejects absent and oversized headers', () => {
    expect(parseChallenge(undefined)).toBeUndefined();
    expect(parseChallenge(`Bearer realm="${'x'.repeat(10_000)}"`)).toBeUndefined();
  });

  test('formats and round-trips, escaping quotes', () => {
    const header = formatChallenge('Bearer', { realm: 'https://m/auth/token', service: 'm', scope: 'repository:a:pull', error: undefined });
    expect(header).toBe('Bearer realm="https://m/auth/token",service="m",scope="repository:a:pull"');
    expect(parseChallenge(formatChallenge('Bearer', { realm: 'a"b' }))?.params.realm).toBe('a"b');
  });
});

describe('scopes', () => {
  test('parse', () => {
    expect(parseScope('repository:library/redis:pull,push')).toEqual({
      type: 'repository',
      name: 'library/redis',
      actions: ['pull', 'push'],
    });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    expect(parseScope('nonsense')).toBeUndefined();
  });

  test('map repository scopes, split space-joined ones, drop unmappable names', () => {
    const mapped = mapScopes(
      ['repository:redis:pull', 'repository:bitnami/redis:pull repository:BAD:pull', 'registry:catalog:*'],
      (name) => (name === 'BAD' ? undefined : withLibraryPrefix(name)),
    );
    expect(mapped).toEqual(['repository:library/redis:pull', 'repository:bitnami/redis:pull', 'registry:catalog:*']);
  });
});

describe('realm trust', () => {
  const registry = new URL('https://registry-1.docker.io');
  const trusted = ['https://auth.docker.io/token'];
  test.each([
    ['https://registry-1.docker.io/token', true],
    ['https://auth.docker.io/token', true],
    ['https://auth.docker.io/token/../evil', false],
    ['https://auth.docker.io/other', false],
    ['http://auth.docker.io/token', false],
    ['https://auth.docker.io.evil.example/token', false],
    ['https://user:pw@auth.docker.io/token', false],
    ['https://169.254.169.254/latest', false],
    ['http://registry-1.docker.io/token', false],
    ['file:///etc/passwd', false],
  ])('%s → %s', (realm, ok) => expect(isTrustedRealm(new URL(realm), registry, trusted)).toBe(ok));

  test.each([
    ['https://us-west1-docker.pkg.dev/v2/token', true],
    ['https://a.b.pkg.dev/v2/token', true],
    ['https://pkg.dev/v2/token', false],
    ['https://evilpkg.dev/v2/token', false],
    ['https://x.pkg.dev.evil.example/v2/token', false],
    ['https://x.pkg.dev/v2/other', false],
    ['http://x.pkg.dev/v2/token', false],
  ])('wildcard realm %s → %s', (realm, ok) =>
    expect(isTrustedRealm(new URL(realm), new URL('https://registry.k8s.io'), ['https://*.pkg.dev/v2/token'])).toBe(ok),
  );
});
