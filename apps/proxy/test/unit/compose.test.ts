/**
 * compose.yaml at the repository root (one VPS: ports 80/443, a named volume, ACME on).
 * `docker compose` is not installed here, so the file is parsed as compose reads it and
 * its Docxy configuration is loaded by the mirror's own loader, with the environment the
 * container gets (the image's ENV, then the service's).
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { splitListen } from '../../src/server.js';
import { tempDir } from '../testbed/tmp.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface Service {
  build: string | { context: string };
  image?: string;
  restart?: string;
  ports: string[];
  volumes: string[];
  configs: Array<{ source: string; target: string }>;
  environment: Record<string, string>;
  stop_grace_period?: string;
}
interface Compose {
  services: Record<string, Service>;
  configs: Record<string, { content: string }>;
  volumes: Record<string, unknown>;
}

const compose = parse(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as Compose;
const service = compose.services.docxy!;

/** The image's ENV lines, as the container starts with them. */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const [, key, value] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[key!] = value!;
  }
  return env;
}

/** The configuration the container's `serve` loads: the compose config file at its target. */
function effectiveConfig(): ReturnType<typeof loadConfig> {
  const mount = service.configs[0]!;
  const dir = tempDir('compose');
  try {
    const file = join(dir.path, 'config.yml');
    writeFileSync(file, compose.configs[mount.source]!.content);
    const env = { ...imageEnv(), ...service.environment };
    expect(env.DOCXY_CONFIG).toBe(mount.target);
    return loadConfig({ env: { ...env, DOCXY_CONFIG: file } });
  } finally {
    dir.remove();
  }
}

/** host port → container port */
const published = (): Map<number, number> =>
  new Map(service.ports.map((p) => p.split(':').map(Number) as [number, number]).map(([host, container]) => [host, container]));

const seconds = (duration: string): number => {
  const m = /^(\d+)(s|m)$/.exec(duration);
  if (!m) throw new Error(`unsupported duration ${duration}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
};

describe('compose.yaml', () => {
  test('builds this repository and restarts unless stopped', () => {
    expect(typeof service.build === 'string' ? service.build : service.build.context).toBe('.');
    expect(service.restart).toBe('unless-stopped');
  });

  test('its configuration is valid, serves HTTPS at the public domain and has ACME on for it', () => {
    const config = effectiveConfig();
    const domain = new URL(config.publicUrl!).hostname;
    expect(new URL(config.publicUrl!).protocol).toBe('https:');
    expect(config.acme).toMatchObject({ domains: [domain] });
  });

  test('publishes 443 to the mirror listener and 80 to the ACME HTTP-01 listener', () => {
    const config = effectiveConfig();
    expect(published().get(443)).toBe(splitListen(config.listen).port);
    expect(published().get(80)).toBe(splitListen(config.acme!.httpListen).port);
  });

  test('keeps dataDir on a named volume', () => {
    const config = effectiveConfig();
    const mounts = service.volumes.map((v) => v.split(':'));
    const data = mounts.find(([, target]) => target === config.dataDir);
    expect(data).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(data![0]);
  });

  test('gives docker stop longer than the drain timeout', () => {
    const config = effectiveConfig();
    expect(seconds(service.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(config.server.drainTimeoutMs);
  });
});
