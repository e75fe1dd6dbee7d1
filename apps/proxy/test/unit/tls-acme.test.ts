/**
 * The ACME pieces that need no CA: when to renew and retry, the certificate store on
 * disk, and the port-80 listener's answers. Issuance itself is tested against pebble in
 * test/e2e/acme.test.ts.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import type { AcmeTransport } from '../../src/tls/acme-http.js';
import { AcmeManager } from '../../src/tls/acme-manager.js';
import { CertificateSlot } from '../../src/tls/certificate-slot.js';
import { coversDomains, parseCertificate, type ServedCertificate } from '../../src/tls/certificate.js';
import { CertificateStore, caFolderName } from '../../src/tls/certificate-store.js';
import { ChallengeResponder } from '../../src/tls/challenge-responder.js';
import { startHttpListener } from '../../src/tls/http-listener.js';
import { EARLIEST_RENEWAL, nextCheckDelay, renewalDueAt, retryDelay, type RenewalPolicy } from '../../src/tls/renewal-schedule.js';
import { freePort, startHttp } from '../testbed/http-server.js';
import { fakeUpstream, mirrorOf } from './fake-upstream.js';
import { tempDir } from '../testbed/tmp.js';

const dir = tempDir('tls-acme');
afterAll(() => dir.remove());

const DAY = 86_400_000;

/** A self-signed pair naming `names` (openssl), as PEM text. */
function pemPair(name: string, names: string[]): { cert: string; key: string } {
  const key = join(dir.path, `${name}.key`);
  const cert = join(dir.path, `${name}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert].concat([
      '-days',
      '1',
      '-subj',
      `/CN=${names[0]}`,
      '-addext',
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    ]),
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

/** A self-signed pair for `name` valid from `notBefore` to `notAfter` (openssl ca, which takes explicit dates). */
function agedPair(name: string, notBefore: Date, notAfter: Date): { cert: string; key: string } {
  const ca = join(dir.path, `${name}-ca`);
  mkdirSync(ca);
  writeFileSync(join(ca, 'index.txt'), '');
  writeFileSync(join(ca, 'serial'), '01\n');
  writeFileSync(
    join(ca, 'ca.cnf'),
    `[ca]\ndefault_ca=d\n[d]\ndatabase=${ca}/index.txt\nnew_certs_dir=${ca}\nserial=${ca}/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n`,
  );
  const opensslDate = (d: Date) => `${d.toISOString().replace(/[-:T]|\.\d+/g, '')}`;
  const key = join(ca, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      key,
      '-out',
      join(ca, 'csr.pem'),
      '-subj',
      `/CN=${name}`,
    ]),
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    [
      'ca',
      '-batch',
      '-config',
      join(ca, 'ca.cnf'),
      '-selfsign',
      '-keyfile',
      key,
      '-in',
      join(ca, 'csr.pem'),
      '-out',
      join(ca, 'crt.pem'),
    ].concat(['-notext', '-startdate', opensslDate(notBefore), '-enddate', opensslDate(notAfter)]),
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(join(ca, 'crt.pem'), 'utf8'), key: readFileSync(key, 'utf8') };
}

/** A certificate valid from `notBefore` for `lifetimeMs` (only the dates matter to the schedule). */
function dated(notBefore: number, lifetimeMs: number): ServedCertificate {
  return { chainPem: '', keyPem: '', serial: '01', notBefore: new Date(notBefore), notAfter: new Date(notBefore + lifetimeMs) };
}

const policy: RenewalPolicy = { checkIntervalMs: 12 * 3600_000, retryMinMs: 60_000, retryMaxMs: 3600_000 };

describe('renewal schedule', () => {
  test('by default renews with 30 days left, or a third of the lifetime for short-lived certificates', () => {
    expect(renewalDueAt(dated(0, 90 * DAY), policy)).toBe(60 * DAY);
    expect(renewalDueAt(dated(0, 6 * DAY), policy)).toBe(4 * DAY);
    expect(renewalDueAt(dated(0, 90 * DAY), { ...policy, renewBeforeMs: 10 * DAY })).toBe(80 * DAY);
  });

  test('checks again at the check interval or when due, whichever is sooner, up to 10% sooner at random; never past a timer’s range', () => {
    const cert = dated(0, 90 * DAY);
    expect(nextCheckDelay(cert, policy, 0, 0)).toBe(policy.checkIntervalMs);
    expect(nextCheckDelay(cert, policy, 0, 1)).toBe(policy.checkIntervalMs * 0.9);
    expect(nextCheckDelay(cert, policy, 60 * DAY - 1000, 0)).toBe(1000);
    expect(nextCheckDelay(cert, policy, 61 * DAY, 0.5)).toBe(0);
    expect(nextCheckDelay(cert, { ...policy, checkIntervalMs: 40 * DAY }, 0, 0)).toBe(2 ** 31 - 1);
  });

  test('an explicit renewBefore as long as the lifetime or longer is due a third of the way through it, never at issuance', () => {
    expect(EARLIEST_RENEWAL).toBe(1 / 3);
    for (const renewBeforeMs of [6 * DAY, 30 * DAY, 365 * DAY]) {
      expect(renewalDueAt(dated(0, 6 * DAY), { ...policy, renewBeforeMs })).toBe(2 * DAY);
    }
    expect(renewalDueAt(dated(0, 90 * DAY), { ...policy, renewBeforeMs: 89 * DAY })).toBe(30 * DAY);
    // Below the clamp, renewBefore is taken as given.
    expect(renewalDueAt(dated(0, 90 * DAY), { ...policy, renewBeforeMs: 50 * DAY })).toBe(40 * DAY);
    expect(nextCheckDelay(dated(0, 6 * DAY), { ...policy, renewBeforeMs: 30 * DAY }, 0, 0)).toBe(policy.checkIntervalMs);
  });

  test('a certificate this process issued is not due again before retryMin has passed, even if it is already old', () => {
    const old = dated(0, 6 * DAY);
    const issuedAt = 5 * DAY; // handed out with a day left: due by any measure
    expect(renewalDueAt(old, policy)).toBe(4 * DAY);
    expect(renewalDueAt(old, policy, issuedAt)).toBe(issuedAt + policy.retryMinMs);
    expect(nextCheckDelay(old, policy, issuedAt, 0, issuedAt)).toBe(policy.retryMinMs);
    // retryMin does not delay a renewal that is due later anyway.
    expect(renewalDueAt(dated(0, 90 * DAY), policy, 0)).toBe(60 * DAY);
  });

  test('retries a failed order after retryMin, doubling to retryMax, less up to 20% at random', () => {
    expect([1, 2, 3, 7, 8, 100].map((n) => retryDelay(n, policy, 0))).toEqual([60_000, 120_000, 240_000, 3600_000, 3600_000, 3600_000]);
    expect(retryDelay(1, policy, 1)).toBe(48_000);
  });
});

/**
 * An AcmeManager whose CA answers every order at once with `pair` (a counting stand-in for
 * the transport, which is where the CA is reached; issuance against a real CA is in
 * test/e2e/acme.test.ts). Records when each order was placed and the manager's log lines.
 */
function managerWith(pair: { cert: string; key: string }, policy: RenewalPolicy) {
  const orders: number[] = [];
  const logs: Array<{ msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as { msg: string });
      done();
    },
  });
  const transport: AcmeTransport = {
    run: async <T>() => {
      orders.push(Date.now());
      return parseCertificate(pair.cert, pair.key) as T;
    },
    close() {},
  };
  const data = join(dir.path, `manager-${Math.random().toString(36).slice(2)}`);
  const manager = new AcmeManager({
    domains: ['m.example.com'],
    directoryUrl: 'https://ca.example.com/directory',
    store: new CertificateStore(data, 'https://ca.example.com/directory'),
    challenges: new ChallengeResponder(),
    slot: new CertificateSlot(),
    transport,
    logger: createLogger('debug', sink),
    policy,
  });
  return { manager, orders, logs };
}

/** Waits (polling, bounded) until `done()` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!done()) throw new Error(`timed out waiting for ${what}`);
}

describe('renewal loop guards', () => {
  const fast: RenewalPolicy = { checkIntervalMs: 20, retryMinMs: 400, retryMaxMs: 1000 };

  test('a renewBefore longer than the lifetime: one order, then checks that find nothing due', async () => {
    // A 1-day certificate and renewBefore of 2 days: without the clamp every issuance is due at once.
    const { manager, orders, logs } = managerWith(pemPair('renew-before-long', ['m.example.com']), { ...fast, renewBeforeMs: 2 * DAY });
    manager.start();
    try {
      const notDue = () => logs.filter((l) => l.msg === 'ACME: certificate not due for renewal').length;
      await until(() => notDue() >= 5 || orders.length >= 5, 'five checks or five orders');
      expect(orders).toHaveLength(1);
    } finally {
      await manager.stop();
    }
  });

  test('a CA handing out certificates already due: the next order waits retryMin after the issuance', async () => {
    const now = Date.now();
    const pair = agedPair('m.example.com', new Date(now - 23 * 3600_000), new Date(now + 3600_000));
    const { manager, orders } = managerWith(pair, fast);
    manager.start();
    try {
      await until(() => orders.length >= 3, 'three orders');
      const gaps = orders.slice(1).map((at, i) => at - orders[i]!);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(fast.retryMinMs);
    } finally {
      await manager.stop();
    }
  });
});

describe('certificate pairs', () => {
  test('a key that does not belong to the certificate is refused; the names it covers are checked', () => {
    const a = pemPair('a', ['a.example.com', 'b.example.com']);
    const other = pemPair('other', ['a.example.com']);
    expect(() => parseCertificate(a.cert, other.key)).toThrow(/does not match/);
    const parsed = parseCertificate(a.cert, a.key);
    expect(coversDomains(parsed, ['a.example.com', 'b.example.com'])).toBe(true);
    expect(coversDomains(parsed, ['a.example.com', 'c.example.com'])).toBe(false);
  });
});

describe('certificate store', () => {
  test('keeps the account key and the certificate with its key in 0600 files, one folder per CA', async () => {
    const data = join(dir.path, 'data');
    const production = new CertificateStore(data, 'https://acme.example.org/directory');
    const staging = new CertificateStore(data, 'https://acme-staging.example.org/directory');
    expect(production.dir).not.toBe(staging.dir);
    expect(caFolderName('https://127.0.0.1:14000/dir')).toBe('127.0.0.1_14000_dir');
    expect(production.load()).toBeUndefined();

    let created = 0;
    const make = async () => {
      created++;
      return Buffer.from('account key');
    };
    expect((await production.accountKey(make)).toString()).toBe('account key');
    expect((await production.accountKey(make)).toString()).toBe('account key');
    expect(created).toBe(1);

    const pair = pemPair('stored', ['m.example.com']);
    production.save(parseCertificate(pair.cert, pair.key));
    expect(production.load()).toMatchObject({ keyPem: pair.key, serial: parseCertificate(pair.cert, pair.key).serial });
    expect(staging.load()).toBeUndefined();
    for (const file of ['account.key', 'certificate.pem']) expect(statSync(join(production.dir, file)).mode & 0o777).toBe(0o600);
    expect(statSync(production.dir).mode & 0o777).toBe(0o700);

    // A damaged file is reported, not served.
    writeFileSync(production.certificatePath, pair.cert);
    expect(() => production.load()).toThrow(/no private key/);
  });
});

describe('port-80 listener', () => {
  test('answers pending challenges only, and redirects to a configured domain with the path, whatever the request line or Host says', async () => {
    const challenges = new ChallengeResponder();
    const port = await freePort();
    const listener = await startHttpListener({
      listen: `127.0.0.1:${port}`,
      challenges,
      domains: ['a.example.com', 'b.example.com'],
      httpsPort: '8443',
    });
    try {
      const ask = (path: string, options: { method?: string; host?: string } = {}) =>
        new Promise<{ status: number; location?: string; body: string }>((resolve, reject) => {
          const req = http.request(
            { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host: options.host ?? 'a.example.com' } },
            (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, body }));
            },
          );
          req.on('error', reject);
          req.end();
        });
      challenges.add('tok-1', 'tok-1.thumbprint');
      expect(await ask('/.well-known/acme-challenge/tok-1')).toMatchObject({ status: 200, body: 'tok-1.thumbprint' });
      challenges.remove('tok-1');
      expect((await ask('/.well-known/acme-challenge/tok-1')).status).toBe(404);
      expect((await ask('/.well-known/acme-challenge/../../etc/passwd')).status).toBe(404);

      expect(await ask('/v2/?a=1', { host: 'b.example.com:80' })).toMatchObject({
        status: 301,
        location: 'https://b.example.com:8443/v2/?a=1',
      });
      expect((await ask('/x', { host: 'evil.example' })).location).toBe('https://a.example.com:8443/x');
      // An absolute-form request line keeps only its path.
      expect((await ask('http://evil.example/y?z', { host: 'evil.example' })).location).toBe('https://a.example.com:8443/y?z');
      // Anything but a read keeps its method through a 308.
      expect(await ask('/v2/x/blobs/uploads/', { method: 'POST' })).toMatchObject({ status: 308 });
    } finally {
      await listener.close();
    }
  });
});

describe('start-up errors name the setting', () => {
  test('a taken acme.httpListen port, a missing tls file', async () => {
    const upstream = await fakeUpstream(() => {});
    const taken = await startHttp(() => {});
    try {
      await expect(
        mirrorOf(upstream, {
          acme: { domains: ['m.example.com'], directoryUrl: 'https://127.0.0.1:9/dir', httpListen: `127.0.0.1:${taken.port}` },
        }),
      ).rejects.toThrow(/acme\.httpListen: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
      await expect(
        mirrorOf(upstream, { tls: { cert: join(dir.path, 'missing.crt'), key: join(dir.path, 'missing.key') } }),
      ).rejects.toThrow(/tls: cannot serve .*missing\.crt.*ENOENT/);
    } finally {
      await taken.close();
      await upstream.close();
    }
  });
});
