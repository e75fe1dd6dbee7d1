/**
 * A tiny upstream registry for the metrics and readiness unit tests: one repository
 * (`library/app`) with a tag, its manifest and blobs, answering GET and HEAD with the
 * quota header Docker Hub sends. Builds on fakeUpstream (challenge and token routes).
 */
import { createHash, randomBytes } from 'node:crypto';
import { fakeUpstream } from './fake-upstream.js';
import type { Started } from '../testbed/http-server.js';
import { CATALOGUE } from '../../src/config/catalogue.js';

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface FakeRegistry {
  upstream: Started;
  manifest: { digest: string; data: Buffer };
  blobs: Array<{ digest: string; data: Buffer }>;
  /** Requests seen, as "METHOD path". */
  calls: string[];
}

export async function fakeRegistry(options: { blobSizes?: number[]; remaining?: number } = {}): Promise<FakeRegistry> {
  const blobs = (options.blobSizes ?? [3000]).map((size) => {
    const data = randomBytes(size);
    return { digest: sha256(data), data };
  });
  const [config, ...layers] = blobs;
  const data = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config!.digest, size: config!.data.length },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        digest: l.digest,
        size: l.data.length,
      })),
    }),
  );
  const manifest = { digest: sha256(data), data };
  const calls: string[] = [];
  const quota: Record<string, string> =
    options.remaining === undefined ? {} : { 'ratelimit-remaining': `${options.remaining};w=21600`, 'ratelimit-limit': '100;w=21600' };
  const upstream = await fakeUpstream((req, res) => {
    const path = req.url ?? '';
    calls.push(`${req.method} ${path}`);
    const send = (body: Buffer, headers: Record<string, string>): void => {
      res.writeHead(200, { 'content-length': String(body.length), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/v2/library/app/manifests/latest' || path === `/v2/library/app/manifests/${manifest.digest}`) {
      send(data, { 'content-type': MANIFEST_TYPE, 'docker-content-digest': manifest.digest, ...quota });
      return;
    }
    const blob = blobs.find((b) => path === `/v2/library/app/blobs/${b.digest}`);
    if (blob) send(blob.data, { 'content-type': 'application/octet-stream', 'docker-content-digest': blob.digest });
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
  });
  return { upstream, manifest, blobs, calls };
}

/** GET or HEAD through a mirror with a (passthrough) bearer token; the body read whole. */
export async function pull(base: string, path: string, method = 'GET'): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: 'Bearer t', accept: MANIFEST_TYPE },
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** The value of one sample in Prometheus text (`name{labels} value`), undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/**
 * `registries` with only docker.io (at `url`): the catalogue's public registries disabled,
 * so probes that visit every registry (/readyz) stay on loopback.
 */
export function loopbackRegistries(url: string): Record<string, { url?: string; enabled?: boolean }> {
  const others = Object.keys(CATALOGUE).filter((name) => name !== 'docker.io');
  return { 'docker.io': { url }, ...Object.fromEntries(others.map((name) => [name, { enabled: false }])) };
}
