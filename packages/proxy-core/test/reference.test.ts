import { describe, expect, test } from '@jest/globals';
import { isDigest, isValidName, parseManifestReference, withLibraryPrefix } from '../src/reference.js';
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
