import { describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { verifyingStream } from '../src/cache/verify-stream.js';
import { digestOf } from './blob-store-contract.js';
import { readAll } from './servers.js';

const chunks = (data: Buffer): Readable => Readable.from([data.subarray(0, 1000), data.subarray(1000, 5000), data.subarray(5000)]);

describe('verifyingStream', () => {
  test('passes matching content through whole', async () => {
    const data = randomBytes(10_000);
    expect((await readAll(verifyingStream(chunks(data), digestOf(data), data.length))).equals(data)).toBe(true);
  });

  test('fails instead of ending when one byte is wrong, before the last chunk is released', async () => {
    const data = randomBytes(10_000);
    const digest = digestOf(data);
    data[7000]! ^= 1;
    const received: Buffer[] = [];
    const stream = verifyingStream(chunks(data), digest, data.length);
    stream.on('data', (c: Buffer) => received.push(c));
    await expect(new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject))).rejects.toMatchObject({
      code: 'DIGEST_INVALID',
    });
    expect(Buffer.concat(received).length).toBeLessThan(data.length);
  });

  test('fails on a short body', async () => {
    const data = randomBytes(10_000);
    await expect(readAll(verifyingStream(chunks(data.subarray(0, 9000)), digestOf(data), data.length))).rejects.toMatchObject({
      code: 'DIGEST_INVALID',
    });
  });
});
