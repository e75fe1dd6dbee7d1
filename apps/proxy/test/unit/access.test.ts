import { describe, expect, test } from '@jest/globals';
import { globToRegExp, isValidGlob } from '../../src/access/glob.js';
import { CidrList, parseCidr } from '../../src/access/cidr.js';
import { clientIp } from '../../src/access/client-ip.js';
import { ImageRules } from '../../src/access/image-rules.js';
import { RateLimiter } from '../../src/access/rate-limiter.js';
import { RegistryError } from '@docxy/proxy-core';
import { Readable } from 'node:stream';

describe('image globs', () => {
  test.each([
    ['docker.io/library/*', 'docker.io/library/redis', true],
    ['docker.io/library/*', 'docker.io/library/redis/extra', false],
    ['docker.io/library/*', 'docker.io/bitnami/redis', false],
    ['ghcr.io/**', 'ghcr.io/a/b/c', true],
    ['ghcr.io/**', 'ghcr.io', true],
    ['**', 'quay.io/x/y', true],
    ['**/*-miner', 'docker.io/evil/coin-miner', true],
    ['**/*-miner', 'docker.io/evil/miner-tools', false],
    ['docker.io/*/redis', 'docker.io/bitnami/redis', true],
    ['docker.io/library/redis', 'docker.io/library/redis', true],
    ['docker.io/library/red.s', 'docker.io/library/redis', false],
  ])('%s matches %s: %s', (glob, image, ok) => expect(globToRegExp(glob).test(image)).toBe(ok));

  test.each(['', 'a//b', 'a/***', 'a/x**', 'A/b', 'a b', 'a/(b)'])('%j is not a glob', (glob) => expect(isValidGlob(glob)).toBe(false));
});

describe('CIDRs and client addresses', () => {
  test.each(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32', '::1/128'])('%s parses', (c) => expect(parseCidr(c)).toBeDefined());
  test.each(['10.0.0.0/33', '10.0.0/8', 'example.com/8', '2001:db8::/129', '10.0.0.0/8x', ''])('%j does not', (c) =>
    expect(parseCidr(c)).toBeUndefined(),
  );

  test('IPv4, IPv6 and IPv4-mapped addresses match', () => {
    const list = new CidrList(['10.0.0.0/8', '2001:db8::/32']);
    expect(list.has('10.1.2.3')).toBe(true);
    expect(list.has('::ffff:10.1.2.3')).toBe(true);
    expect(list.has('2001:db8::1')).toBe(true);
    expect(list.has('11.0.0.1')).toBe(false);
    expect(list.has('not-an-ip')).toBe(false);
  });

  test('X-Forwarded-For is believed only from trusted proxies', () => {
    const trusted = new CidrList(['10.0.0.0/8']);
    expect(clientIp('203.0.113.9', '198.51.100.7', trusted)).toBe('203.0.113.9');
    expect(clientIp('10.0.0.5', '198.51.100.7', trusted)).toBe('198.51.100.7');
    // A client-forged entry sits left of the real one: the right-most untrusted wins.
    expect(clientIp('10.0.0.5', '127.0.0.1, 198.51.100.7, 10.0.0.9', trusted)).toBe('198.51.100.7');
    expect(clientIp('10.0.0.5', undefined, trusted)).toBe('10.0.0.5');
    expect(clientIp('10.0.0.5', '198.51.100.7', new CidrList([]))).toBe('10.0.0.5');
  });
});

describe('image rules', () => {
  const rules = new ImageRules({
    anonymous: {
      registries: ['docker.io'],
      allow: ['docker.io/library/*'],
      block: ['docker.io/library/busybox'],
      message: 'log in for more',
    },
    default: { registries: ['*'], allow: ['**'], block: ['**/*-miner'] },
    users: { ci: { registries: ['ghcr.io'], allow: ['ghcr.io/acme/**'], block: [] } },
  });
  const denied = (fn: () => void): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (err) {
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe('DENIED');
      return (err as RegistryError).message;
    }
  };

  test.each([
    [undefined, 'docker.io', 'library/redis', undefined],
    [undefined, 'docker.io', 'library/busybox', 'log in for more'],
    [undefined, 'docker.io', 'bitnami/redis', 'log in for more'],
    [undefined, 'ghcr.io', 'library/redis', 'log in for more'],
    ['bob', 'quay.io', 'x/y', undefined],
    ['bob', 'docker.io', 'evil/coin-miner', 'this image is not available through this mirror'],
    ['ci', 'ghcr.io', 'acme/tool', undefined],
    ['ci', 'docker.io', 'library/redis', 'this image is not available through this mirror'],
  ])('user %s, %s/%s → %s', (user, registry, repo, message) => {
    expect(denied(() => rules.check(user, registry, repo))).toBe(message);
  });
});

describe('rate limiter', () => {
  test('requests per second with a one-second burst, per client', () => {
    let now = 0;
    const limiter = new RateLimiter(100, () => now);
    const limit = { requestsPerSecond: 2, bytesPerSecond: 0 };
    expect([limiter.takeRequest('a', limit), limiter.takeRequest('a', limit), limiter.takeRequest('a', limit)]).toEqual([0, 0, 1]);
    expect(limiter.takeRequest('b', limit)).toBe(0);
    now += 500;
    expect(limiter.takeRequest('a', limit)).toBe(0);
    expect(limiter.takeRequest('a', { requestsPerSecond: 0, bytesPerSecond: 0 })).toBe(0);
  });

  test('bytes per second: a client past its budget waits in proportion, shared across its responses', async () => {
    const waits: number[] = [];
    const limiter = new RateLimiter(
      100,
      () => 0,
      (release, ms) => {
        waits.push(Math.round(ms));
        release();
      },
    );
    const limit = { requestsPerSecond: 0, bytesPerSecond: 1000 };
    const chunk = Buffer.alloc(1000);
    const drain = async (stream: NodeJS.ReadableStream): Promise<number> => {
      let n = 0;
      for await (const c of stream) n += (c as Buffer).length;
      return n;
    };
    expect(await drain(limiter.pace('a', limit, Readable.from([chunk, chunk, chunk])))).toBe(3000);
    // One second's burst, then 1 s and 2 s of debt (the clock stands still here).
    expect(waits).toEqual([1000, 2000]);
    expect(await drain(limiter.pace('a', limit, Readable.from([chunk])))).toBe(1000);
    expect(waits).toEqual([1000, 2000, 3000]);
    expect(await drain(limiter.pace('b', limit, Readable.from([chunk])))).toBe(1000);
    expect(waits).toHaveLength(3);
    const unlimited = Readable.from([chunk]);
    expect(limiter.pace('a', { requestsPerSecond: 0, bytesPerSecond: 0 }, unlimited)).toBe(unlimited);
  });

  test('the client map is bounded', () => {
    const limiter = new RateLimiter(10, () => 0);
    for (let i = 0; i < 50; i++) limiter.takeRequest(`c${i}`, { requestsPerSecond: 1, bytesPerSecond: 0 });
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(10);
  });
});
