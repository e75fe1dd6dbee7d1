/**
 * A certificate for the mirror's domain name from a real ACME CA: Debian's pebble, asked
 * with acme-client over HTTP-01 (pebble connects to `<name>:<httpPort>`, which must resolve
 * to loopback: see docker-mirror-host.ts). Returns pebble's root, which clients must trust.
 *
 * STOPGAP for the daemon.json test until the mirror's built-in ACME (config `acme`, the
 * shared pebble helper) lands; then the mirror should obtain the certificate itself.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import acme from 'acme-client';
import { freePort, startHttp } from './http-server.js';
import { tempDir } from './tmp.js';

export interface IssuedCertificate {
  /** PEM of pebble's root CA, the trust anchor for the issued chain. */
  caPem: string;
  /** Leaf and intermediate, PEM. */
  certPath: string;
  keyPath: string;
  remove(): Promise<void>;
}

/** Issues a certificate for `name`, which resolves to `address`, from a pebble started for the call. */
export async function issueCertificate(name: string, address: string): Promise<IssuedCertificate> {
  const dir = tempDir('pebble');
  const path = (file: string): string => join(dir.path, file);
  // pebble serves its own API over TLS: a throwaway certificate for 127.0.0.1.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      path('api.key'),
      '-out',
      path('api.crt'),
    ].concat(['-days', '2', '-subj', '/CN=pebble', '-addext', 'subjectAltName=IP:127.0.0.1']),
    { stdio: 'ignore' },
  );
  const [apiPort, managementPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    path('pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${apiPort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: path('api.crt'),
        privateKey: path('api.key'),
        httpPort,
        tlsPort: await freePort(),
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const pebble = spawn('pebble', ['-config', path('pebble.json')], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  pebble.stdout.on('data', (d: Buffer) => (output += d.toString()));
  pebble.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const stopPebble = (): Promise<void> =>
    new Promise((resolve) => {
      if (pebble.exitCode !== null || pebble.signalCode !== null) return resolve();
      pebble.once('exit', () => resolve());
      pebble.kill('SIGTERM');
    });
  // HTTP-01: pebble asks http://<name>:<httpPort>/.well-known/acme-challenge/<token>.
  const answers = new Map<string, string>();
  const responder = await startHttp((req, res) => {
    const token = /^\/\.well-known\/acme-challenge\/([^/]+)$/.exec(req.url ?? '')?.[1];
    const answer = token ? answers.get(token) : undefined;
    res.writeHead(answer ? 200 : 404).end(answer ?? '');
  });
  await responder.close();
  await new Promise<void>((resolve) => responder.server.listen(httpPort, address, resolve));

  let restore = (): void => {};
  try {
    // pebble's API certificate is throwaway: skip its verification for this exchange only.
    const agent = new https.Agent({ rejectUnauthorized: false });
    const getText = (url: string): Promise<string> =>
      new Promise((resolve, reject) => {
        https
          .get(url, { agent }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
          })
          .on('error', reject);
      });
    // pebble's root is generated at start-up; poll until the management API answers.
    let caPem = '';
    for (let i = 0; !caPem; i++) {
      caPem = await getText(`https://127.0.0.1:${managementPort}/roots/0`).catch((err: Error) => {
        if (i > 100 || pebble.exitCode !== null) throw new Error(`pebble did not answer: ${err.message}\n${output}`);
        return new Promise<string>((r) => setTimeout(() => r(''), 100));
      });
    }
    const client = new acme.Client({
      directoryUrl: `https://127.0.0.1:${apiPort}/dir`,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      backoffAttempts: 20,
    });
    // acme-client talks to pebble's API with its shared axios instance.
    const previousAgent = acme.axios.defaults.httpsAgent;
    acme.axios.defaults.httpsAgent = agent;
    restore = () => (acme.axios.defaults.httpsAgent = previousAgent);
    const [key, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, await acme.crypto.createPrivateEcdsaKey());
    const cert = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // acme-client's own pre-check would ask port 80; pebble checks the real port.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        answers.set(challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        answers.delete(challenge.token);
      },
    });
    writeFileSync(path('mirror.crt'), cert);
    writeFileSync(path('mirror.key'), key);
    return {
      caPem,
      certPath: path('mirror.crt'),
      keyPath: path('mirror.key'),
      async remove() {
        dir.remove();
      },
    };
  } catch (err) {
    dir.remove();
    throw err;
  } finally {
    restore();
    await responder.close();
    await stopPebble();
  }
}
