/**
 * A real ACME CA for tests: Debian's `pebble`, with `pebble-challtestsrv` as its DNS
 * server, so that an HTTP-01 validation really resolves the test domain and connects to
 * the mirror. Everything listens on free loopback ports; config and certificates are
 * generated in a temp dir (pebble ships neither).
 *
 * Use (e.g. to have the mirror obtain a certificate for a name):
 *
 *   const httpPort = await freePort();                 // the mirror's "port 80"
 *   const pebble = await startPebble({ httpPort });
 *   await pebble.addDomain('mirror.test', '127.0.0.1'); // or '::1' (an AAAA record)
 *   startMirror(validateConfig({ ..., acme: {
 *     domains: ['mirror.test'], directoryUrl: pebble.directoryUrl,
 *     caBundle: pebble.apiCaPath,                       // trust pebble's own API
 *     httpListen: `127.0.0.1:${httpPort}` } }));
 *   // clients verify the mirror with pebble.rootCaPem (https `ca`, NODE_EXTRA_CA_CERTS,
 *   // /etc/docker/certs.d/<host:port>/ca.crt); a separate process can use
 *   // DOCXY_ACME_* variables instead of the config block.
 *   await pebble.stop();                                // in afterAll, after the mirror
 *
 * pebble validates `http://<domain>:<httpPort>/.well-known/acme-challenge/<token>`, with
 * the domain resolved only through challtestsrv (names not added do not resolve).
 * Issued certificates chain to a root generated at each start (`rootCaPem`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { freePort } from './http-server.js';
import { tempDir } from './tmp.js';

export interface PebbleOptions {
  /** The port pebble's HTTP-01 validation connects to on each domain: the mirror's `acme.httpListen` port. */
  httpPort: number;
  /** Lifetime of issued certificates, in seconds (pebble's default is five years). */
  validitySeconds?: number;
}

export interface Pebble {
  /** The ACME directory (HTTPS on 127.0.0.1). */
  directoryUrl: string;
  /** PEM file of the certificate pebble's API serves: give it as `acme.caBundle`. */
  apiCaPath: string;
  /** PEM of the root that issued certificates chain to: what the mirror's clients trust. */
  rootCaPem: string;
  /** Same, as a file. */
  rootCaPath: string;
  /** Makes `name` resolve (for pebble only) to `address`: an A record, or AAAA for an IPv6 address. */
  addDomain(name: string, address: string): Promise<void>;
  /** Makes `name` unresolvable again. */
  removeDomain(name: string): Promise<void>;
  /** How many orders pebble has accepted so far (from its log). */
  orders(): number;
  /** Everything pebble and challtestsrv printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function collect(child: ChildProcess, sink: { text: string }): void {
  child.stdout?.on('data', (d: Buffer) => (sink.text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (sink.text += d.toString()));
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** A small HTTP(S) exchange with pebble's or challtestsrv's management API. */
function request(url: string, options: https.RequestOptions & { body?: string } = {}): Promise<{ status: number; body: string }> {
  const { body, ...rest } = options;
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, rest, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Retries `fn` until it resolves (a process starting up); fails with the processes' output. */
async function until<T>(what: string, fn: () => Promise<T>, alive: () => boolean, output: () => string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!alive() || attempt > 150) throw new Error(`${what}: ${(err as Error).message}\n${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const dir = tempDir('pebble');
  const path = (file: string): string => join(dir.path, file);
  const log = { text: '' };
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopChild));
    dir.remove();
  };
  try {
    // pebble serves its API over TLS: a throwaway self-signed certificate for 127.0.0.1.
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat(
        ['-keyout', path('api.key'), '-out', path('api.crt'), '-days', '2', '-subj', '/CN=pebble'],
        ['-addext', 'subjectAltName=IP:127.0.0.1'],
      ),
      { stdio: 'ignore' },
    );
    const [apiPort, managementPort, tlsPort, dnsPort, dnsManagementPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    writeFileSync(
      path('pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${apiPort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: path('api.crt'),
          privateKey: path('api.key'),
          httpPort: options.httpPort,
          tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
          ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {}),
        },
      }),
    );
    // challtestsrv only as DNS: no default answers (a name resolves only once added), no challenge servers.
    const dns = spawn(
      'pebble-challtestsrv',
      ['-defaultIPv4', '', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', ''].concat([
        '-management',
        `127.0.0.1:${dnsManagementPort}`,
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(dns);
    collect(dns, log);
    // NOSLEEP: validate at once; NONCEREJECT=0: no deliberately rejected nonces (deterministic runs).
    const pebble = spawn('pebble', ['-config', path('pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(pebble);
    collect(pebble, log);
    const alive = (): boolean => children.every((c) => c.exitCode === null && c.signalCode === null);
    const output = (): string => log.text;
    const apiCa = readFileSync(path('api.crt'));

    const manage = async (endpoint: string, body: object): Promise<void> => {
      const res = await request(`http://127.0.0.1:${dnsManagementPort}/${endpoint}`, { method: 'POST', body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`challtestsrv ${endpoint}: ${res.status} ${res.body}`);
    };
    // Both ready: the root is generated at start-up; challtestsrv's management API answers.
    const rootCaPem = await until(
      'pebble did not start',
      async () => {
        const res = await request(`https://127.0.0.1:${managementPort}/roots/0`, { ca: apiCa });
        if (res.status !== 200) throw new Error(`roots/0: ${res.status}`);
        return res.body;
      },
      alive,
      output,
    );
    await until('challtestsrv did not start', () => manage('clear-a', { host: 'ready.invalid' }), alive, output);
    writeFileSync(path('root.pem'), rootCaPem);

    return {
      directoryUrl: `https://127.0.0.1:${apiPort}/dir`,
      apiCaPath: path('api.crt'),
      rootCaPem,
      rootCaPath: path('root.pem'),
      addDomain: (name, address) => manage(isIPv6(address) ? 'add-aaaa' : 'add-a', { host: name, addresses: [address] }),
      async removeDomain(name) {
        await manage('clear-a', { host: name });
        await manage('clear-aaaa', { host: name });
      },
      orders: () => log.text.match(/Added order /g)?.length ?? 0,
      output,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
