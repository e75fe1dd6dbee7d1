/** Bodies stream through; a failure mid-body reaches the client as a failed transfer. */
import { afterEach, describe, expect, test } from '@jest/globals';
import http from 'node:http';
import { DIGEST, fakeUpstream, mirrorOf } from './fake-upstream.js';
import type { Started } from '../testbed/http-server.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** GETs `url`, reporting how the transfer ended; `onFirstData` runs when the first body bytes arrive. */
function get(url: string, onFirstData?: () => void): Promise<{ status: number; received: number; outcome: 'end' | 'error' }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: 'Bearer t' } }, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => {
          if (received === 0) onFirstData?.();
          received += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode!, received, outcome: 'end' }));
        res.on('error', () => resolve({ status: res.statusCode!, received, outcome: 'error' }));
        res.on('aborted', () => resolve({ status: res.statusCode!, received, outcome: 'error' }));
      })
      .on('error', reject);
  });
}

describe('mid-body failures', () => {
  test('an upstream cut mid-blob is a failed transfer for the client, not a clean short body', async () => {
    // The cut comes only once the client has bytes in hand: the response has started, so
    // the only way left to fail it is to break the transfer (no timing race).
    let cut!: () => void;
    const clientHasBytes = new Promise<void>((resolve) => (cut = resolve));
    const upstream = await fakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': '100000', 'docker-content-digest': DIGEST });
      res.write(Buffer.alloc(50_000));
      void clientHasBytes.then(() => res.socket?.destroy());
    });
    cleanup.push(() => upstream.close());
    const mirror = await mirrorOf(upstream);
    cleanup.push(() => mirror.stop());
    const result = await get(`${mirror.url}/v2/library/x/blobs/${DIGEST}`, cut);
    expect(result.status).toBe(200);
    expect(result.outcome).toBe('error');
    expect(result.received).toBeLessThan(100_000);
    // ... and the mirror keeps serving.
    const health = await fetch(`${mirror.url}/healthz`);
    expect(health.status).toBe(200);
  });

  test('an upstream that goes silent mid-blob is cut by the idle timeout', async () => {
    const upstream = await fakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
    });
    cleanup.push(() => upstream.close());
    const mirror = await mirrorOf(upstream, { upstream: { idleTimeoutMs: 200, retries: 0 } });
    cleanup.push(() => mirror.stop());
    const result = await get(`${mirror.url}/v2/library/x/blobs/${DIGEST}`);
    expect(result.outcome).toBe('error');
    expect(result.received).toBe(1000);
  });

  test('a client hanging up stops an uncached (pass-through) upstream transfer', async () => {
    // sha512 content is not cached, so nothing else needs the transfer once the client leaves.
    const sha512 = `sha512:${'d'.repeat(128)}`;
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    const upstream: Started = await fakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': String(1 << 30) });
      const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024)), 5);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosed();
      });
    });
    cleanup.push(() => upstream.close());
    const mirror = await mirrorOf(upstream);
    cleanup.push(() => mirror.stop());
    await new Promise<void>((resolve) => {
      const req = http.get(`${mirror.url}/v2/library/x/blobs/${sha512}`, { headers: { authorization: 'Bearer t' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
    });
    await closed;
  });

  test('upstream unreachable → 502 UNAVAILABLE in registry format', async () => {
    const upstream = await fakeUpstream(() => {});
    await upstream.close();
    const mirror = await mirrorOf(upstream);
    cleanup.push(() => mirror.stop());
    const res = await fetch(`${mirror.url}/v2/library/x/manifests/latest`, { headers: { authorization: 'Bearer t' } });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNAVAILABLE');
  });

  test('upstream headers timeout → 504 UNAVAILABLE', async () => {
    const upstream = await fakeUpstream(() => {
      /* never answers */
    });
    cleanup.push(() => upstream.close());
    const mirror = await mirrorOf(upstream, { upstream: { headersTimeoutMs: 150, retries: 0 } });
    cleanup.push(() => mirror.stop());
    const res = await fetch(`${mirror.url}/v2/library/x/manifests/latest`, { headers: { authorization: 'Bearer t' } });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNAVAILABLE');
  });
});
