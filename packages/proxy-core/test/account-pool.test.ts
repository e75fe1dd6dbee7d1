import { describe, expect, test } from '@jest/globals';
import { AccountPool, parseRateLimit } from '../src/upstream/account-pool.js';
import { RegistryError } from '../src/errors.js';

const headers = (values: Record<string, string>): Headers => new Headers(values);

describe('account pool', () => {
  test('reads ratelimit-remaining with and without a window', () => {
    expect(parseRateLimit('97;w=21600')).toEqual({ remaining: 97, windowMs: 21_600_000 });
    expect(parseRateLimit('5')).toEqual({ remaining: 5, windowMs: undefined });
    expect(parseRateLimit('nonsense')).toBeUndefined();
  });

  test('picks the account with the most pulls left; anonymous only when no named one is awake', () => {
    let now = 0;
    const a = { username: 'a', password: 'x' };
    const b = { username: 'b', password: 'y' };
    const pool = new AccountPool([a, b], () => now);
    pool.observe(a, 200, headers({ 'ratelimit-remaining': '10;w=3600' }));
    pool.observe(b, 200, headers({ 'ratelimit-remaining': '50;w=3600' }));
    expect(pool.pick()).toBe(b);
    pool.observe(b, 429, headers({ 'retry-after': '120' }));
    expect(pool.pick()).toBe(a);
    pool.observe(a, 200, headers({ 'ratelimit-remaining': '0;w=3600' }));
    // Both named accounts rest: anonymous, the last account, serves.
    expect(pool.pick().username).toBeUndefined();
    now += 121_000;
    expect(pool.pick()).toBe(b);
  });

  test('when every account rests, the caller is told when the first comes back', () => {
    let now = 1_000_000;
    const a = { username: 'a', password: 'x' };
    const pool = new AccountPool([a], () => now);
    pool.observe(a, 429, headers({ 'retry-after': '300' }));
    const anonymous = pool.pick();
    pool.observe(anonymous, 429, headers({ 'retry-after': '90' }));
    const err = (() => {
      try {
        pool.pick();
      } catch (e) {
        return e as RegistryError;
      }
      throw new Error('expected TOOMANYREQUESTS');
    })();
    expect(err.code).toBe('TOOMANYREQUESTS');
    expect(err.headers['retry-after']).toBe('90');
    now += 30_000;
    expect(() => pool.pick()).toThrow(RegistryError);
  });
});
