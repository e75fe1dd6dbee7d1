/** The listening socket: TLS with each key format, slow-client guard, graceful drain. */
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { fakeUpstream, mirrorOf } from './fake-upstream.js';
import { tempDir } from '../testbed/tmp.js';

const dir = tempDir('tls');
afterAll(() => dir.remove());
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const openssl = (args: string[]): void => {
  execFileSync('openssl', args, { stdio: 'ignore' });
};

/** Makes a key in the given PEM flavour and a self-signed certificate for 127.0.0.1. */
function keyPair(kind: 'rsa-pkcs1' | 'ec-sec1' | 'pkcs8'): { cert: string; key: string; header: string } {
  const key = join(dir.path, `${kind}.key`);
  const cert = join(dir.path, `${kind}.crt`);
  if (kind === 'rsa-pkcs1') openssl(['genrsa', '-traditional', '-out', key, '2048']);
  if (kind === 'ec-sec1') openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  if (kind === 'pkcs8') openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  openssl(['req', '-x509', '-key', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { cert, key, header: readFileSync(key, 'utf8').split('\n')[0]! };
}

describe('TLS', () => {
  test.each([
    ['rsa-pkcs1', '-----BEGIN RSA PRIVATE KEY-----'],
    ['ec-sec1', '-----BEGIN EC PRIVATE KEY-----'],
    ['pkcs8', '-----BEGIN PRIVATE KEY-----'],
  ] as const)('serves HTTPS with a %s key', async (kind, header) => {
    const pair = keyPair(kind);
    expect(pair.header).toBe(header);
    const upstream = await fakeUpstream(() => {});
    cleanup.push(() => upstream.close());
    const mirror = await mirrorOf(upstream, { tls: { cert: pair.cert, key: pair.key } });
    cleanup.push(() => mirror.stop());
    expect(mirror.url).toMatch(/^https:/);
    expect(mirror.publicUrl.protocol).toBe('https:');
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`${mirror.url}/healthz`, { ca: readFileSync(pair.cert) }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(body).toBe('ok');
  });
});

describe('slow clients', () => {
  test('a client that never finishes its headers is cut off', async () => {
    const upstream = await fakeUpstream(() => {});
    cleanup.push(() => upstream.close());
    const mirror = await mirrorOf(upstream, { server: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    cleanup.push(() => mirror.stop());
    const url = new URL(mirror.url);
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname, () => socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('graceful drain', () => {
  test('finishes in-flight downloads, refuses new connections, then resolves', async () => {
    const upstream = await fakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': '30000' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(1000));
        if (++n === 30) {
          clearInterval(timer);
          res.end();
        }
      }, 5);
    });
    cleanup.push(() => upstream.close());
    const mirror = await mirrorOf(upstream);
    const zeros = `sha256:${createHash('sha256').update(Buffer.alloc(30000)).digest('hex')}`;
    const inflight = fetch(`${mirror.url}/v2/library/x/blobs/${zeros}`, { headers: { authorization: 'Bearer t' } }).then(
      async (r) => (await r.arrayBuffer()).byteLength,
    );
    await new Promise((r) => setTimeout(r, 30));
    const drained = mirror.stop();
    await expect(fetch(`${mirror.url}/healthz`)).rejects.toThrow();
    expect(await inflight).toBe(30000);
    await drained;
  });

  test('a download that outlives the drain timeout does not hold the stop past it', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    // An upstream that never finishes the blob: the fill would run forever.
    const upstream = await fakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': String(1 << 30) });
      const timer = setInterval(() => res.write(Buffer.alloc(1000)), 10);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosed();
      });
    });
    cleanup.push(() => upstream.close());
    const mirror = await mirrorOf(upstream, { server: { drainTimeoutMs: 200 } });
    const digest = `sha256:${'e'.repeat(64)}`;
    const controller = new AbortController();
    const response = await fetch(`${mirror.url}/v2/library/x/blobs/${digest}`, {
      headers: { authorization: 'Bearer t' },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    await mirror.stop();
    controller.abort();
    // The mirror has stopped although its fill never ended; the upstream is let go with it.
    await closed;
  }, 15_000);
});
