import { describe, expect, test } from '@jest/globals';
import { isDigest, isValidName, parseManifestReference, splitRegistryHost, withLibraryPrefix } from '../src/reference.js';
import { RegistryError } from '../src/errors.js';

describe('repository names', () => {
  test.each([
    ['redis', true],
    ['library/redis', true],
    ['a/b/c/d', true],
    ['my-org/my_app', true],
    ['a__b', true],
    ['a.b-c', true],
    ['Redis', false],
    ['-redis', false],
    ['redis-', false],
    ['a//b', false],
    ['a/../b', false],
    ['a/./b', false],
    ['a b', false],
    ['', false],
    ['a'.repeat(255), true],
    ['a'.repeat(256), false],
  ])('%s → %s', (name, ok) => expect(isValidName(name)).toBe(ok));
});

describe('registry host prefixes', () => {
  test.each([
    ['ghcr.io/owner/img', { host: 'ghcr.io', repository: 'owner/img' }],
    ['localhost:5000/x', { host: 'localhost:5000', repository: 'x' }],
    ['registry.local:8443/a/b', { host: 'registry.local:8443', repository: 'a/b' }],
    ['localhost/x', { host: 'localhost', repository: 'x' }],
    ['library/redis', { repository: 'library/redis' }],
    ['redis', { repository: 'redis' }],
    ['a.b', { repository: 'a.b' }],
  ])('%s splits', (name, parts) => expect(splitRegistryHost(name)).toEqual(parts));

  test.each([
    'localhost:5000/X',
    'localhost:5000/',
    'localhost:5000/a:b',
    'host:port/x',
    'a..b/x',
    '-a.b/x',
    'a.b:123456/x',
    'localhost:5000',
  ])('%s is NAME_INVALID', (name) => expect(() => splitRegistryHost(name)).toThrow(expect.objectContaining({ code: 'NAME_INVALID' })));
});

describe('digests', () => {
  test.each([
    [`sha256:${'a'.repeat(64)}`, true],
    [`sha256:${'A'.repeat(64)}`, false],
    [`sha256:${'a'.repeat(63)}`, false],
    [`sha512:${'0'.repeat(128)}`, true],
    [`md5:${'0'.repeat(32)}`, false],
    ['sha256:', false],
    ['latest', false],
  ])('%s → %s', (digest, ok) => expect(isDigest(digest)).toBe(ok));
});

describe('manifest references', () => {
  test.each([
    ['latest', 'tag'],
    ['v1.2.3_rc-1', 'tag'],
    [`sha256:${'b'.repeat(64)}`, 'digest'],
  ])('%s is a %s', (ref, kind) => expect(parseManifestReference(ref).kind).toBe(kind));

  test.each([
    ['-bad', 'MANIFEST_INVALID'],
    ['.bad', 'MANIFEST_INVALID'],
    ['x'.repeat(129), 'MANIFEST_INVALID'],
    ['sha256:short', 'DIGEST_INVALID'],
  ])('%s → %s', (ref, code) => {
    expect(() => parseManifestReference(ref)).toThrow(RegistryError);
    try {
      parseManifestReference(ref);
    } catch (err) {
      expect((err as RegistryError).code).toBe(code);
      expect((err as RegistryError).status).toBe(400);
    }
  });
});

test.each([
  ['redis', 'library/redis'],
  ['library/redis', 'library/redis'],
  ['bitnami/redis', 'bitnami/redis'],
])('library/ fix-up: %s → %s', (name, expected) => expect(withLibraryPrefix(name)).toBe(expected));
