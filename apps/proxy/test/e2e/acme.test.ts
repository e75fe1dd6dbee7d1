/**
 * Built-in ACME against a real CA: Debian's pebble validates HTTP-01 by resolving the test
 * domain through pebble-challtestsrv and connecting to the mirror's HTTP listener. Covers
 * issuance at start, HTTPS with the issued chain, renewal swapped in under live
 * connections, restart on the stored certificate, a failing order retried with backoff in
 * a real process that keeps answering on its HTTP port, and the port-80 redirect.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startMirror, type Mirror } from '../../src/start.js';
import { fakeUpstream } from '../unit/fake-upstream.js';
import { freePort, type Started } from '../testbed/http-server.js';
import { startPebble, type Pebble } from '../testbed/pebble.js';
import { tempDir } from '../testbed/tmp.js';

const DOMAIN = 'mirror.test';
/** Issued certificates live this long; renewal tests renew long before (a third of the way through at the earliest). */
const VALIDITY_SECONDS = 60;

let pebble: Pebble;
let httpPort: number;
let upstream: Started;
/** Released by the renewal test once the new certificate is in: the upstream then finishes the blob. */
let releaseBlob: () => void = () => {};
const blobReleased = new Promise<void>((resolve) => (releaseBlob = resolve));
/** Resolved when the mirror has asked the upstream for the blob (the download is in flight). */
let blobStarted: () => void = () => {};
const blobInFlight = new Promise<void>((resolve) => (blobStarted = resolve));
const BLOB = Buffer.alloc(256 * 1024, 7);
const BLOB_DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;

beforeAll(async () => {
  httpPort = await freePort();
  pebble = await startPebble({ httpPort, validitySeconds: VALIDITY_SECONDS });
  await pebble.addDomain(DOMAIN, '127.0.0.1');
  // A registry whose blob stalls halfway until the test says so: a download in flight.
  upstream = await fakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-length': String(BLOB.length), 'docker-content-digest': BLOB_DIGEST });
    res.write(BLOB.subarray(0, BLOB.length / 2));
    blobStarted();
    void blobReleased.then(() => res.end(BLOB.subarray(BLOB.length / 2)));
  });
}, 60_000);

interface AcmeMirror extends Mirror {
  logs: Array<Record<string, unknown>>;
  port: number;
}

const running: AcmeMirror[] = [];
afterAll(async () => {
  // Mirrors first (an order in flight finishes against a live CA), then what they talk to.
  for (const mirror of running.splice(0)) await mirror.stop();
  releaseBlob();
  await upstream?.close();
  await pebble?.stop();
});

async function startAcmeMirror(
  dataDir: string,
  acme: Partial<NonNullable<ConfigInput['acme']>>,
  extra: Partial<ConfigInput> = {},
): Promise<AcmeMirror> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const mirror = await startMirror(
    validateConfig({
      listen: '127.0.0.1:0',
      dataDir,
      log: { level: 'debug' },
      registries: { 'docker.io': { url: upstream.url } },
      upstream: { retries: 0, allowPrivateNetworks: true },
      acme: {
        domains: [DOMAIN],
        directoryUrl: pebble.directoryUrl,
        caBundle: pebble.apiCaPath,
        httpListen: `127.0.0.1:${httpPort}`,
        ...acme,
      },
      ...extra,
    }),
    sink,
  );
  const started = { ...mirror, logs, port: Number(new URL(mirror.url).port) };
  running.push(started);
  return started;
}

async function stopMirror(mirror: AcmeMirror): Promise<void> {
  running.splice(running.indexOf(mirror), 1);
  await mirror.stop();
}

/** Waits for a log line matching `predicate` (the mirror works in the background). */
async function logLine(
  logs: Array<Record<string, unknown>>,
  predicate: (line: Record<string, unknown>) => boolean,
  what: string,
  limitMs = 30_000,
) {
  for (let i = 0; i < limitMs / 50; i++) {
    const line = logs.find(predicate);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no log line: ${what}\n${logs.map((l) => JSON.stringify(l)).join('\n')}\n${pebble.output().slice(-3000)}`);
}
const issuances = (logs: Array<Record<string, unknown>>) => logs.filter((l) => l.msg === 'ACME: certificate issued and installed').length;
const issued = (n: number, limitMs?: number) => (logs: Array<Record<string, unknown>>) =>
  logLine(logs, () => issuances(logs) >= n, `issuance #${n}`, limitMs);

/** A fresh TLS handshake with the mirror as a client of `DOMAIN` trusting only pebble's root. */
function handshake(port: number): Promise<{ authorized: boolean; error?: string; serial?: string; chainLength: number }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: DOMAIN, ca: pebble.rootCaPem }, () => {
      const peer = socket.getPeerCertificate(true);
      let chainLength = 1;
      for (let c = peer; c.issuerCertificate && c.issuerCertificate !== c; c = c.issuerCertificate) chainLength++;
      resolve({ authorized: socket.authorized, serial: peer.serialNumber, chainLength });
      socket.end();
    });
    socket.on('error', (err) => resolve({ authorized: false, error: err.message, chainLength: 0 }));
  });
}

function get(
  url: string,
  options: https.RequestOptions = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; req: http.ClientRequest; serial?: string }> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, options, (res) => {
      const chunks: Buffer[] = [];
      const serial = (res.socket as tls.TLSSocket).getPeerCertificate?.().serialNumber;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), req, serial }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('ACME issuance', () => {
  test('orders a certificate at start, serves HTTPS with the issued chain, and keeps it 0600 under dataDir/acme', async () => {
    const data = tempDir('acme-issue');
    try {
      const mirror = await startAcmeMirror(data.path, {});
      expect(mirror.url).toMatch(/^https:/);
      // publicUrl defaults to the first domain.
      expect(mirror.publicUrl.href).toBe(`https://${DOMAIN}/`);
      await issued(1)(mirror.logs);
      const peer = await handshake(mirror.port);
      expect(peer).toMatchObject({ authorized: true });
      // Leaf + pebble's intermediate were sent; the root is the client's own.
      expect(peer.chainLength).toBeGreaterThanOrEqual(3);
      const health = await get(`https://127.0.0.1:${mirror.port}/healthz`, { servername: DOMAIN, ca: pebble.rootCaPem });
      expect(health.body.toString()).toBe('ok');
      // The expiry metric follows the served certificate.
      const metrics = await get(`https://127.0.0.1:${mirror.port}/metrics`, { servername: DOMAIN, ca: pebble.rootCaPem });
      expect(metrics.body.toString()).toMatch(/docxy_certificate_expiry_timestamp_seconds \d+/);
      await stopMirror(mirror);

      const acmeDir = join(data.path, 'acme');
      const [caDir] = readdirSync(acmeDir);
      expect(statSync(join(acmeDir, caDir!)).mode & 0o777).toBe(0o700);
      for (const file of ['account.key', 'certificate.pem']) expect(statSync(join(acmeDir, caDir!, file)).mode & 0o777).toBe(0o600);
      // No secret in the log: no key material, no key authorization.
      const text = mirror.logs.map((l) => JSON.stringify(l)).join('\n');
      expect(text).not.toMatch(/PRIVATE KEY|BEGIN/);
    } finally {
      data.remove();
    }
  }, 60_000);

  test('port 80 answers health, misses unknown challenges with 404, and redirects the rest to HTTPS preserving the path', async () => {
    const data = tempDir('acme-redirect');
    try {
      const mirror = await startAcmeMirror(data.path, {});
      const base = `http://127.0.0.1:${httpPort}`;
      expect((await get(`${base}/healthz`)).body.toString()).toBe('ok');
      expect(JSON.parse((await get(`${base}/health`)).body.toString())).toEqual({ status: 'ok' });
      expect((await get(`${base}/.well-known/acme-challenge/unknown-token`)).status).toBe(404);
      const redirect = await get(`${base}/v2/library/redis/manifests/7?x=1`, { headers: { host: DOMAIN } });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.location).toBe(`https://${DOMAIN}/v2/library/redis/manifests/7?x=1`);
      // A foreign Host cannot steer the redirect elsewhere, nor can a path that looks like a host.
      const foreign = await get(`${base}//evil.example/x`, { headers: { host: 'evil.example' } });
      expect(foreign.headers.location).toBe(`https://${DOMAIN}//evil.example/x`);
      await stopMirror(mirror);
    } finally {
      data.remove();
    }
  }, 60_000);
});

describe('renewal', () => {
  test('a due certificate is renewed and swapped in: new handshakes get it, a keep-alive socket and a download in flight are not dropped', async () => {
    const data = tempDir('acme-renew');
    try {
      // renewBefore all but ~2 s of the validity: held back to a third of the way through
      // (~20 s after issuance) so that it cannot loop, and renewed then.
      const mirror = await startAcmeMirror(
        data.path,
        { renewBefore: VALIDITY_SECONDS - 2, checkInterval: '500ms', retryMin: '1s' },
        { server: { keepAliveTimeoutMs: 120_000 } },
      );
      await issued(1)(mirror.logs);
      const first = await handshake(mirror.port);
      const options = { servername: DOMAIN, ca: pebble.rootCaPem };
      // A keep-alive socket opened on the first certificate ...
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      const before = await get(`https://127.0.0.1:${mirror.port}/healthz`, { ...options, agent });
      // ... and a blob download that stalls halfway until the renewal is done.
      const download = get(`https://127.0.0.1:${mirror.port}/v2/library/x/blobs/${BLOB_DIGEST}`, {
        ...options,
        headers: { authorization: 'Bearer t' },
      });
      await blobInFlight;
      // Wait for a renewal that is installed after both connections were established.
      expect(issuances(mirror.logs)).toBe(1);
      await issued(2, 45_000)(mirror.logs);
      const renewed = await handshake(mirror.port);
      expect(renewed.authorized).toBe(true);
      expect(renewed.serial).not.toBe(first.serial);
      releaseBlob();
      const blob = await download;
      expect(blob.status).toBe(200);
      expect(`sha256:${createHash('sha256').update(blob.body).digest('hex')}`).toBe(BLOB_DIGEST);
      const after = await get(`https://127.0.0.1:${mirror.port}/healthz`, { ...options, agent });
      expect(after.req.reusedSocket).toBe(true);
      expect(after.serial).toBe(before.serial);
      expect(after.body.toString()).toBe('ok');
      // One renewal, not a loop of them.
      expect(issuances(mirror.logs)).toBe(2);
      agent.destroy();
      await stopMirror(mirror);
    } finally {
      data.remove();
    }
  }, 90_000);

  test('a restart serves the stored certificate and places no new order', async () => {
    const data = tempDir('acme-restart');
    try {
      const first = await startAcmeMirror(data.path, {});
      await issued(1)(first.logs);
      const servedFirst = await handshake(first.port);
      await stopMirror(first);
      const ordersBefore = pebble.orders();
      expect(ordersBefore).toBeGreaterThan(0);

      const second = await startAcmeMirror(data.path, {});
      expect(second.logs.some((l) => l.msg === 'ACME: serving the stored certificate')).toBe(true);
      // The first check has run and found nothing to do.
      await logLine(second.logs, (l) => l.msg === 'ACME: certificate not due for renewal', 'check');
      const servedSecond = await handshake(second.port);
      expect(servedSecond).toMatchObject({ authorized: true, serial: servedFirst.serial });
      expect(pebble.orders()).toBe(ordersBefore);
      expect(second.logs.some((l) => l.msg === 'ACME: ordering a certificate')).toBe(false);
      await stopMirror(second);
    } finally {
      data.remove();
    }
  }, 60_000);
});

// apps/proxy/dist/main.js: the failing-order test runs the real command, as a container would.
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

describe('a failing order', () => {
  test('is logged with the CA reason and retried with backoff by a live process that keeps answering on port 80, then succeeds', async () => {
    const data = tempDir('acme-fail');
    const domain = 'unresolved.test';
    const port = await freePort();
    const config = join(data.path, 'docxy.yml');
    writeFileSync(
      config,
      [
        `listen: "127.0.0.1:${port}"`,
        `dataDir: "${join(data.path, 'data')}"`,
        'log: { level: debug }',
        'acme: { retryMin: "200ms", retryMax: "800ms" }',
        '',
      ].join('\n'),
    );
    // The acme settings themselves come from the environment, as an operator might give them.
    const child = spawn(process.execPath, [MAIN, '--config', config], {
      env: {
        ...process.env,
        DOCXY_ACME_DOMAINS: domain,
        DOCXY_ACME_DIRECTORY_URL: pebble.directoryUrl,
        DOCXY_ACME_CA_BUNDLE: pebble.apiCaPath,
        DOCXY_ACME_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs: Array<Record<string, unknown>> = [];
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines.filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Three failures in a row, each with pebble's reason and a growing wait.
      const failures = () => logs.filter((l) => l.msg === 'ACME: order failed; HTTPS has no certificate yet');
      await logLine(logs, () => failures().length >= 3, 'three failed orders');
      const [one, two, three] = failures();
      // pebble's problem detail: its validation could not resolve the name.
      expect(String(one!.reason)).toMatch(new RegExp(`could not resolve URL "http://${domain}:${httpPort}/`));
      expect([one!.failures, two!.failures, three!.failures]).toEqual([1, 2, 3]);
      expect(Number(two!.retryInMs)).toBeGreaterThan(Number(one!.retryInMs));
      expect(child.exitCode).toBeNull();
      // Port 80 still answers while there is no certificate.
      expect((await get(`http://127.0.0.1:${httpPort}/healthz`)).body.toString()).toBe('ok');
      expect((await get(`http://127.0.0.1:${httpPort}/.well-known/acme-challenge/nothing`)).status).toBe(404);
      // The name becomes resolvable: the next retry succeeds and HTTPS is served.
      await pebble.addDomain(domain, '127.0.0.1');
      await logLine(logs, (l) => l.msg === 'ACME: certificate issued and installed', 'issuance after the failures');
      const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: domain, ca: pebble.rootCaPem }, () => {
          resolve(socket.getPeerCertificate());
          socket.end();
        });
        socket.on('error', reject);
      });
      expect(peer.subjectaltname).toBe(`DNS:${domain}`);
      // Nothing was thrown past the retry loop.
      expect(stderr).not.toMatch(/error|unhandled/i);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      data.remove();
    }
  }, 90_000);
});
