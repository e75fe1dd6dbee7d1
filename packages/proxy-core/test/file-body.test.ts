/**
 * FileBody: a stored blob sent through a few reused buffers. A buffer must never be read
 * into again before the socket is done with it, or a slow client would get bytes of a
 * later chunk; these tests make the consumer slow on purpose.
 */
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FileBody } from '../src/cache/file-body.js';
import { readAll, serve, type TestServer } from './servers.js';

const dir = mkdtempSync(join(tmpdir(), 'docxy-file-body-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

// Not a multiple of the 1 MiB chunk: the last read is short.
const data = randomBytes(3 * 1024 * 1024 + 12345);
const file = join(dir, 'blob');
writeFileSync(file, data);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function body(start = 0, end = data.length): Promise<{ body: FileBody; closed: () => boolean }> {
  let closed = false;
  const handle = await open(file, 'r');
  return { body: new FileBody(handle, start, end, () => (closed = true)), closed: () => closed };
}

describe('FileBody.sendTo', () => {
  test('a chunk handed to the writer is not overwritten before its write callback', async () => {
    const { body: b, closed } = await body();
    const received: Buffer[] = [];
    let reusedEarly = 0;
    // Completes each write a while later, checking the chunk still holds what it held when written.
    const slow = new Writable({
      write(chunk: Buffer, _enc, done) {
        const copy = Buffer.from(chunk);
        received.push(copy);
        setTimeout(() => {
          if (!chunk.equals(copy)) reusedEarly++;
          done();
        }, 2);
      },
    });
    const err = await new Promise<Error | undefined>((resolve) => b.sendTo(slow, resolve));
    expect(err).toBeUndefined();
    expect(reusedEarly).toBe(0);
    expect(sha(Buffer.concat(received))).toBe(sha(data));
    await new Promise((r) => setTimeout(r, 20)); // the handle closes right after done
    expect(closed()).toBe(true);
  });

  test('a range sends exactly its bytes', async () => {
    const { body: b } = await body(300_000, 1_300_001);
    const received: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        received.push(Buffer.from(chunk));
        done();
      },
    });
    await new Promise<Error | undefined>((resolve) => b.sendTo(sink, resolve));
    expect(Buffer.concat(received).equals(data.subarray(300_000, 1_300_001))).toBe(true);
  });

  test('over a real socket to a client that reads slowly, the bytes arrive intact', async () => {
    const server = await serve(async (_req, res) => {
      const { body: b } = await body();
      res.writeHead(200, { 'content-length': String(data.length) });
      b.sendTo(res, (err) => (err ? res.destroy(err) : res.end()));
    });
    servers.push(server);
    const got = await new Promise<Buffer>((resolve, reject) => {
      http.get(server.url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          // Reading in bursts keeps the socket's buffers full, so writes wait on the client.
          res.pause();
          setTimeout(() => res.resume(), 1);
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      });
    });
    expect(sha(got)).toBe(sha(data));
  });

  test('a client hanging up mid-blob ends the send with an error and closes the file', async () => {
    let outcome: { err: Error | undefined; closed: boolean } | undefined;
    const settled = new Promise<void>((resolve) => {
      void serve(async (_req, res) => {
        const { body: b, closed } = await body();
        res.writeHead(200, { 'content-length': String(data.length) });
        b.sendTo(res, (err) => {
          outcome = { err, closed: false };
          // The handle closes asynchronously, right after done.
          setTimeout(() => {
            outcome!.closed = closed();
            resolve();
          }, 50);
        });
      }).then((server) => {
        servers.push(server);
        const req = http.get(server.url, (res) => {
          res.once('data', () => req.destroy());
        });
        req.on('error', () => {});
      });
    });
    await settled;
    // (node's own errors come from another realm than jest's Error: check the shape)
    expect(outcome?.err?.message).toEqual(expect.any(String));
    expect(outcome?.closed).toBe(true);
  });
});

describe('FileBody as a Readable', () => {
  test('reads the same bytes, and closes the file at the end', async () => {
    const { body: b, closed } = await body();
    expect(sha(await readAll(b))).toBe(sha(data));
    await new Promise((r) => setImmediate(r));
    expect(closed()).toBe(true);
  });
});
