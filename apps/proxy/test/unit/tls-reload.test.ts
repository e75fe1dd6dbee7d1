/**
 * `tls` certificate files are reloaded when they change on disk: new connections get the
 * new certificate without a restart, a half-replaced pair is not served, and connections
 * already open keep theirs.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { fakeUpstream, mirrorOf } from './fake-upstream.js';
import { tempDir } from '../testbed/tmp.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A fresh self-signed pair for 127.0.0.1 (PEM text). */
function pair(dir: string, name: string): { cert: string; key: string; serial: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert].concat([
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]),
    { stdio: 'ignore' },
  );
  const certPem = readFileSync(cert, 'utf8');
  return { cert: certPem, key: readFileSync(key, 'utf8'), serial: new X509Certificate(certPem).serialNumber };
}

/** The serial a new connection is served (no verification: only which certificate). */
function servedSerial(url: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** Polls until new connections are served `serial` (the reload happens in the background). */
async function served(url: string, serial: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await servedSerial(url)) === serial) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`still not served ${serial}; served ${await servedSerial(url)}`);
}

async function mirrorWithFiles(certPath: string, keyPath: string) {
  const upstream = await fakeUpstream(() => {});
  cleanup.push(() => upstream.close());
  const mirror = await mirrorOf(upstream, { tls: { cert: certPath, key: keyPath }, server: { keepAliveTimeoutMs: 60_000 } });
  cleanup.push(() => mirror.stop());
  return mirror;
}

describe('tls files reloaded on change', () => {
  test('replaced files are served to new connections without a restart; open connections keep the old certificate', async () => {
    const dir = tempDir('tls-reload');
    cleanup.push(() => dir.remove());
    const first = pair(dir.path, 'first');
    const second = pair(dir.path, 'second');
    const live = join(dir.path, 'live');
    mkdirSync(live);
    writeFileSync(join(live, 'cert.pem'), first.cert);
    writeFileSync(join(live, 'key.pem'), first.key);
    const mirror = await mirrorWithFiles(join(live, 'cert.pem'), join(live, 'key.pem'));
    expect(await servedSerial(mirror.url)).toBe(first.serial);

    // A keep-alive connection opened on the first certificate.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    cleanup.push(() => agent.destroy());
    const ask = () =>
      new Promise<{ reused: boolean; serial: string }>((resolve, reject) => {
        const req = https.get(`${mirror.url}/healthz`, { agent }, (res) => {
          const serial = (res.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
          res.resume().on('end', () => resolve({ reused: req.reusedSocket, serial }));
        });
        req.on('error', reject);
      });
    expect((await ask()).serial).toBe(first.serial);

    // Half-way through a renewal: the new certificate beside the old key is not served.
    writeFileSync(join(live, 'cert.pem.tmp'), second.cert);
    renameSync(join(live, 'cert.pem.tmp'), join(live, 'cert.pem'));
    await (async () => {
      for (let i = 0; i < 100 && !mirror.logs.join('').includes('not a usable pair yet'); i++) await new Promise((r) => setTimeout(r, 50));
    })();
    expect(mirror.logs.join('')).toContain('the private key does not match the certificate');
    expect(await servedSerial(mirror.url)).toBe(first.serial);

    // The key follows: the new pair is served to new connections ...
    writeFileSync(join(live, 'key.pem.tmp'), second.key);
    renameSync(join(live, 'key.pem.tmp'), join(live, 'key.pem'));
    await served(mirror.url, second.serial);
    expect(mirror.logs.join('')).toContain('TLS certificate reloaded from disk');
    // ... while the connection opened before keeps its certificate and still works.
    expect(await ask()).toEqual({ reused: true, serial: first.serial });
  });

  test('a symlink swap (a mounted Kubernetes secret, certbot live/) is picked up', async () => {
    const dir = tempDir('tls-symlink');
    cleanup.push(() => dir.remove());
    const first = pair(dir.path, 'first');
    const second = pair(dir.path, 'second');
    // Kubernetes' layout: cert.pem -> ..data/cert.pem, ..data -> ..v1 (swapped atomically to ..v2).
    const mount = join(dir.path, 'mount');
    for (const [version, p] of [
      ['..v1', first],
      ['..v2', second],
    ] as const) {
      mkdirSync(join(mount, version), { recursive: true });
      writeFileSync(join(mount, version, 'cert.pem'), p.cert);
      writeFileSync(join(mount, version, 'key.pem'), p.key);
    }
    symlinkSync('..v1', join(mount, '..data'));
    symlinkSync('..data/cert.pem', join(mount, 'cert.pem'));
    symlinkSync('..data/key.pem', join(mount, 'key.pem'));
    const mirror = await mirrorWithFiles(join(mount, 'cert.pem'), join(mount, 'key.pem'));
    expect(await servedSerial(mirror.url)).toBe(first.serial);

    symlinkSync('..v2', join(mount, '..data_tmp'));
    renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
    await served(mirror.url, second.serial);
  });
});
