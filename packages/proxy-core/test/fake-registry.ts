/**
 * An in-process registry for cache unit tests: tags, manifests and blobs it can change
 * between requests, Accept negotiation, token checks (anonymous reads public repos,
 * "alice" reads private ones) and programmable faults. Counts every request.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { serve, type TestServer } from './servers.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export interface Call {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface FakeRegistry extends TestServer {
  calls: Call[];
  /** Sets a tag to a new manifest; returns its digest. */
  tag(repo: string, tag: string, content: string, mediaType?: string): string;
  blob(data: Buffer): string;
  fault: ((call: Call) => { status: number; headers?: Record<string, string>; body?: string | Buffer } | 'hang-up' | undefined) | undefined;
  /** Serve wrong bytes for this manifest digest. */
  corrupt: Set<string>;
  /** No token needed (a registry open to anonymous pulls, like a public mirror). */
  open: boolean;
  count(method: string, kind: 'manifests' | 'blobs'): number;
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startFakeRegistry(): Promise<FakeRegistry> {
  const tags = new Map<string, string>();
  const manifests = new Map<string, { body: Buffer; mediaType: string }>();
  const blobs = new Map<string, Buffer>();
  const calls: Call[] = [];
  const corrupt = new Set<string>();
  const state: { fault: FakeRegistry['fault']; open: boolean } = { fault: undefined, open: false };
  const server = await serve((req: http.IncomingMessage, res: http.ServerResponse) => {
    const call = { method: req.method ?? 'GET', path: req.url ?? '/', authorization: req.headers.authorization };
    calls.push(call);
    const fault = state.fault?.(call);
    if (fault === 'hang-up') return req.socket.destroy();
    if (fault) return res.writeHead(fault.status, fault.headers).end(fault.body);
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/?]+)$/.exec(call.path);
    if (!match) return res.writeHead(404).end();
    const [, repo, kind, ref] = match as unknown as [string, string, string, string];
    const token = call.authorization?.replace(/^Bearer /, '');
    const allowed = state.open || token === 'alice' || (token?.startsWith('anon') && !repo.startsWith('private/'));
    if (!allowed) {
      return res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="fake",scope="repository:${repo}:pull"`,
        })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}');
    }
    if (kind === 'blobs') {
      const data = blobs.get(ref);
      if (!data) return res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"x"}]}');
      res.writeHead(200, { 'content-length': String(data.length), 'docker-content-digest': ref });
      return res.end(call.method === 'HEAD' ? undefined : data);
    }
    const digest = ref.startsWith('sha256:') ? ref : tags.get(`${repo}:${ref}`);
    const manifest = digest ? manifests.get(digest) : undefined;
    if (!digest || !manifest) return res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"x"}]}');
    if (!(req.headers.accept ?? '').includes(manifest.mediaType))
      return res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not acceptable"}]}');
    const body = corrupt.has(digest) ? Buffer.concat([manifest.body, Buffer.from(' ')]) : manifest.body;
    res.writeHead(200, {
      'content-type': manifest.mediaType,
      'content-length': String(body.length),
      'docker-content-digest': digest,
      'ratelimit-remaining': '99;w=21600',
    });
    res.end(call.method === 'HEAD' ? undefined : body);
  });
  return {
    ...server,
    calls,
    corrupt,
    get fault() {
      return state.fault;
    },
    get open() {
      return state.open;
    },
    set open(value) {
      state.open = value;
    },
    set fault(value) {
      state.fault = value;
    },
    tag(repo, tag, content, mediaType = OCI_MANIFEST) {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, content }));
      const digest = sha(body);
      manifests.set(digest, { body, mediaType });
      tags.set(`${repo}:${tag}`, digest);
      return digest;
    },
    blob(data) {
      const digest = sha(data);
      blobs.set(digest, data);
      return digest;
    },
    count: (method, kind) => calls.filter((c) => c.method === method && c.path.includes(`/${kind}/`)).length,
  };
}
