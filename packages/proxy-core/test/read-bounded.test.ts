/** Bounded reads fail on overflow: a body past its limit is never truncated into a smaller one. */
import { expect, test } from '@jest/globals';
import { Readable } from 'node:stream';
import { readBounded } from '../src/net/read-bounded.js';

const tooLarge = (limit: number) => new Error(`over ${limit}`);

test('a body within the limit is read whole; one byte over throws the caller’s error', async () => {
  const chunks = () => Readable.from([Buffer.alloc(600), Buffer.alloc(400)]);
  expect((await readBounded(chunks(), 1000, tooLarge)).length).toBe(1000);
  await expect(readBounded(chunks(), 999, tooLarge)).rejects.toThrow('over 999');
  expect((await readBounded(null, 10, tooLarge)).length).toBe(0);
});
