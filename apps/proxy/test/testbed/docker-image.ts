/**
 * The Docxy image as users build it (the repository's Dockerfile, context the repository
 * root), on the local base image, and containers of it run against the test bed with
 * `--network host` (the engine runs without a bridge).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { importBaseImage } from './base-image.js';
import type { Dockerd } from './dockerd.js';
import { freePort } from './http-server.js';
import type { Testbed } from './testbed.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const DOCXY_IMAGE = 'docxy-test/docxy:local';

/** Builds the image once per engine; the build fetches packages, hence the host network. */
export async function buildDocxyImage(engine: Dockerd): Promise<string> {
  const base = await importBaseImage(engine);
  await engine.docker(['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${base}`, '--tag', DOCXY_IMAGE, REPO_ROOT], {
    timeoutMs: 15 * 60_000,
  });
  return DOCXY_IMAGE;
}

export interface DocxyContainer {
  name: string;
  /** `http://127.0.0.1:<port>` (`https://` with TLS) */
  url: string;
  hostPort: string;
  /** Host PID of the container's main process. */
  pid: number;
  inspect(): Promise<ContainerState>;
  logs(): Promise<string>;
  remove(): Promise<void>;
}

export interface ContainerState {
  Status: string;
  ExitCode: number;
  Pid: number;
  Health?: { Status: string; Log: Array<{ ExitCode: number; Output: string }> };
}

let serial = 0;

/**
 * Runs the image with the bed as Docker Hub and `volume` mounted on /data. The
 * configuration comes as a file (DOCXY_CONFIG) plus DOCXY_LISTEN, as an operator would
 * pass them; `extraRunArgs` go before the image name.
 */
export async function runDocxy(
  engine: Dockerd,
  bed: Testbed,
  options: {
    volume: string;
    config?: Record<string, unknown>;
    extraRunArgs?: string[];
    /** PEM files on this machine, served as the mirror's certificate (config `tls`). */
    tls?: { cert: string; key: string };
    /** Serves HTTPS with a certificate of its own (config `acme`). */
    https?: boolean;
  },
): Promise<DocxyContainer> {
  const port = await freePort();
  const name = `docxy-${process.pid}-${++serial}`;
  const configFile = join(engine.dir, `${name}.yml`);
  writeFileSync(
    configFile,
    stringify({
      registries: { 'docker.io': { url: bed.upstreamUrl, trustedRealms: [bed.token.realm] } },
      // The bed lives on loopback, which production defaults refuse.
      upstream: { allowPrivateNetworks: true, retries: 0 },
      ...(options.tls ? { tls: { cert: '/etc/docxy/tls/cert.pem', key: '/etc/docxy/tls/key.pem' } } : {}),
      ...options.config,
    }),
  );
  const tlsMounts: string[] = [];
  if (options.tls) {
    // The server runs as node (uid 1000): a test key may be world-readable.
    chmodSync(options.tls.key, 0o644);
    tlsMounts.push(
      '--volume',
      `${options.tls.cert}:/etc/docxy/tls/cert.pem:ro`,
      '--volume',
      `${options.tls.key}:/etc/docxy/tls/key.pem:ro`,
    );
  }
  await engine.docker([
    'run',
    '--detach',
    '--name',
    name,
    '--network',
    'host',
    '--volume',
    `${options.volume}:/data`,
    '--volume',
    `${configFile}:/etc/docxy/config.yml:ro`,
    '--env',
    'DOCXY_CONFIG=/etc/docxy/config.yml',
    '--env',
    `DOCXY_LISTEN=127.0.0.1:${port}`,
    ...tlsMounts,
    ...(options.extraRunArgs ?? []),
    DOCXY_IMAGE,
  ]);
  const inspect = async (): Promise<ContainerState> =>
    JSON.parse(await engine.docker(['inspect', '--format', '{{json .State}}', name])) as ContainerState;
  const logs = async (): Promise<string> => {
    // docker logs writes the container's stdout and stderr to its own.
    const child = engine.spawnDocker(['logs', name]);
    let text = '';
    child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise((resolve) => child.once('close', resolve));
    return text;
  };
  const url = `${options.tls || options.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const state = await inspect();
    if (state.Status === 'exited') throw new Error(`container ${name} exited ${state.ExitCode}:\n${await logs()}`);
    if ((await healthzStatus(url)) === 200) {
      let removed: Promise<void> | undefined;
      // Idempotent: a test may remove its container before afterAll does.
      const remove = (): Promise<void> => (removed ??= engine.docker(['rm', '--force', '--volumes', name]).then(() => {}));
      return { name, url, hostPort: `127.0.0.1:${port}`, pid: state.Pid, inspect, logs, remove };
    }
    if (i > 300) throw new Error(`container ${name} did not serve /healthz:\n${await logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Status of GET /healthz, 0 when unreachable. Over HTTPS the certificate is verified
 * against `ca` when given, not verified otherwise (a self-signed test certificate).
 * `servername` is the name the certificate must carry (sent as SNI), when `base` is an address.
 */
export function healthzStatus(base: string, ca?: string, servername?: string): Promise<number> {
  return new Promise((resolve) => {
    const client = base.startsWith('https:') ? https : http;
    const options: https.RequestOptions = { ...(ca ? { ca } : { rejectUnauthorized: false }), timeout: 2000 };
    if (servername) options.servername = servername;
    const req = client.get(`${base}/healthz`, options, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}
