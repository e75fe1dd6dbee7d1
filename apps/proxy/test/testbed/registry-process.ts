/**
 * Debian's `docker-registry` (CNCF distribution 2.8) as the real upstream: token auth,
 * filesystem storage, and the `redirect` storage middleware so blob GETs answer 307 to
 * the CDN origin, as Docker Hub's do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './http-server.js';

export interface RegistryProcess {
  url: string;
  host: string;
  port: number;
  storageRoot: string;
  /** The registry process (benchmarks read its CPU time). */
  pid: number;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  dir: string;
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  redirectBaseUrl?: string;
  /** distribution as a pull-through cache of another registry (the reference peer). */
  proxyRemoteUrl?: string;
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${log()}`);
    try {
      await fetch(`${url}/v2/`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`docker-registry did not start: ${log()}`);
}

export async function startRegistry(options: RegistryOptions): Promise<RegistryProcess> {
  const port = await freePort();
  const storageRoot = join(options.dir, 'storage');
  const lines = [
    'version: 0.1',
    'log: {level: error, accesslog: {disabled: true}}',
    'storage:',
    `  filesystem: {rootdirectory: "${storageRoot}"}`,
    '  delete: {enabled: true}',
    `http: {addr: "127.0.0.1:${port}", secret: docxy-test-secret}`,
  ];
  if (options.redirectBaseUrl) {
    lines.push('middleware:', '  storage:', '    - name: redirect', `      options: {baseurl: "${options.redirectBaseUrl}"}`);
  }
  if (options.token) {
    const t = options.token;
    lines.push(
      'auth:',
      `  token: {realm: "${t.realm}", service: "${t.service}", issuer: "${t.issuer}", rootcertbundle: "${t.rootCertBundle}"}`,
    );
  }
  if (options.proxyRemoteUrl) lines.push(`proxy: {remoteurl: "${options.proxyRemoteUrl}"}`);
  mkdirSync(options.dir, { recursive: true });
  const configPath = join(options.dir, `registry-${port}.yml`);
  writeFileSync(configPath, `${lines.join('\n')}\n`);
  const child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  child.stderr?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child, () => output);
  return {
    url,
    host: '127.0.0.1',
    port,
    storageRoot,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
