/**
 * A RegistrySource that wraps another (the upstream) with the verified cache, in the
 * shape of distribution's proxyBlobStore: routes cannot tell it from the upstream.
 *
 * Quota economy (Docker Hub counts manifest GETs, not HEADs):
 *  - manifests by digest are immutable: cached, never fetched again;
 *  - a tag is fresh for `tagFreshnessMs` (no upstream call), then revalidated with a HEAD;
 *    only a changed or unknown tag costs a GET;
 *  - when the upstream is down, answers 5xx or 429, a cached tag is served stale (with a
 *    Warning) up to `maxStaleMs`.
 * In passthrough mode (`access` set) cached content goes only to clients the upstream
 * accepts for that repository (see AccessMemo).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { RegistryError } from '../errors.js';
import { isDigest } from '../reference.js';
import { readBounded } from '../net/read-bounded.js';
import type {
  BlobRequest,
  ListRequest,
  ManifestRequest,
  ReferrersRequest,
  RegistryResponse,
  RegistrySource,
  SourceRequest,
} from '../registry-source.js';
import type { AccessMemo } from './access-memo.js';
import type { BlobStore } from './blob-store.js';
import type { BlobFill } from './blob-fill.js';
import { isCacheableDigest } from './digester.js';
import type { FillCoordinator } from './fill-coordinator.js';
import { MAX_MANIFEST_BYTES, type CachedManifest, type ManifestCache } from './manifest-cache.js';
import { parseRange } from './range.js';
import { accepts, blobHeaders, manifestResponse } from './responses.js';
import { verifyingStream } from './verify-stream.js';

/** The media types whose tag → digest mapping is recorded (schema1 is signed per request). */
const TAGGABLE_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
]);

const STALE_WARNING = '110 - "Response is Stale"';

export interface CachedRegistryOptions {
  registry: string;
  upstream: RegistrySource;
  store: BlobStore;
  fills: FillCoordinator;
  manifests: ManifestCache;
  /** Set in passthrough mode: cached content needs the upstream's consent per client. */
  access?: AccessMemo;
  tagFreshnessMs: number;
  maxStaleMs: number;
  /** Answer warm blob GETs with a 307 to a presigned store URL (S3). */
  redirectBlobs?: boolean;
  now?: () => number;
}

/** Upstream trouble that justifies serving a stale tag. */
function upstreamTrouble(err: unknown): boolean {
  return err instanceof RegistryError && (err.code === 'UNAVAILABLE' || err.code === 'TOOMANYREQUESTS' || err.status >= 500);
}

const sha256 = (body: Buffer): string => `sha256:${createHash('sha256').update(body).digest('hex')}`;

export class CachedRegistry implements RegistrySource {
  private readonly now: () => number;

  constructor(private readonly options: CachedRegistryOptions) {
    this.now = options.now ?? Date.now;
  }

  private get upstream(): RegistrySource {
    return this.options.upstream;
  }

  // ---- manifests -------------------------------------------------------------------

  async manifest(request: ManifestRequest): Promise<RegistryResponse> {
    return isDigest(request.reference) ? this.manifestByDigest(request) : this.manifestByTag(request);
  }

  private async manifestByDigest(request: ManifestRequest): Promise<RegistryResponse> {
    const cached = isCacheableDigest(request.reference) ? await this.options.manifests.getManifest(request.reference) : undefined;
    if (cached && accepts(request.accept, cached.mediaType)) {
      await this.authorize(request, () => this.upstream.manifest({ ...request, method: 'HEAD', conditional: undefined }));
      return manifestResponse(cached, request.method);
    }
    if (request.method === 'HEAD') return this.upstream.manifest(request);
    return this.fetchManifest(request);
  }

  private async manifestByTag(request: ManifestRequest): Promise<RegistryResponse> {
    const { registry, manifests } = this.options;
    const record = await manifests.getTag(registry, request.repo, request.reference);
    const cached = record ? await manifests.getManifest(record.digest) : undefined;
    const usable = record && cached && accepts(request.accept, cached.mediaType) ? { record, cached } : undefined;
    const age = usable ? this.now() - usable.record.validatedAt : Infinity;
    const stale = async (err: unknown): Promise<RegistryResponse> => {
      if (usable && upstreamTrouble(err) && age < this.options.maxStaleMs && this.mayServeWithoutUpstream(request)) {
        return manifestResponse(usable.cached, request.method, { warning: STALE_WARNING });
      }
      throw err;
    };
    if (usable) {
      if (age < this.options.tagFreshnessMs) {
        await this.authorize(request, () => this.upstream.manifest({ ...request, method: 'HEAD', conditional: undefined }));
        return manifestResponse(usable.cached, request.method);
      }
      let head: RegistryResponse;
      try {
        head = await this.upstream.manifest({ ...request, method: 'HEAD', conditional: undefined });
      } catch (err) {
        return stale(err);
      }
      head.body?.destroy();
      this.options.access?.allow(request.authorization, registry, request.repo);
      if (head.headers['docker-content-digest'] === usable.record.digest) {
        await manifests.putTag(registry, request.repo, request.reference, { ...usable.record, validatedAt: this.now() });
        return manifestResponse(usable.cached, request.method);
      }
      if (request.method === 'HEAD') return head;
    } else if (request.method === 'HEAD') {
      return this.upstream.manifest(request);
    }
    try {
      return await this.fetchManifest(request, request.reference);
    } catch (err) {
      return stale(err);
    }
  }

  /** GETs a manifest upstream, verifies its digest, caches it (and the tag), serves it. */
  private async fetchManifest(request: ManifestRequest, tag?: string): Promise<RegistryResponse> {
    const response = await this.upstream.manifest({ ...request, method: 'GET' });
    if (response.status !== 200 || !response.body) return response;
    const body = await readBounded(
      response.body,
      MAX_MANIFEST_BYTES,
      (limit) => new RegistryError('MANIFEST_INVALID', `upstream manifest exceeds ${limit} bytes`, { status: 502 }),
    );
    this.options.access?.allow(request.authorization, this.options.registry, request.repo);
    const mediaType = response.headers['content-type'] ?? 'application/octet-stream';
    const passthrough = { ...response, body: null };
    if (!TAGGABLE_TYPES.has(mediaType)) {
      // Signed schema1 and other legacy forms: served as received, not cached.
      return { ...passthrough, body: request.method === 'HEAD' ? null : Readable.from([body]) };
    }
    const digest = sha256(body);
    const announced = response.headers['docker-content-digest'];
    const wanted = tag ? announced : request.reference;
    if (wanted?.startsWith('sha256:') && wanted !== digest) {
      throw new RegistryError('DIGEST_INVALID', 'upstream manifest does not match its digest', {
        status: 502,
        detail: { expected: wanted, actual: digest },
      });
    }
    const manifest: CachedManifest = { digest, mediaType, body };
    await this.options.manifests.putManifest(manifest);
    if (tag) await this.options.manifests.putTag(this.options.registry, request.repo, tag, { digest, mediaType, validatedAt: this.now() });
    const quota = Object.fromEntries(
      Object.entries(response.headers).filter(([name]) => name.startsWith('ratelimit-') || name === 'docker-ratelimit-source'),
    );
    return manifestResponse(manifest, request.method, quota);
  }

  // ---- blobs -----------------------------------------------------------------------

  async blob(request: BlobRequest): Promise<RegistryResponse> {
    if (!isCacheableDigest(request.digest)) return this.upstream.blob(request);
    const check = (): Promise<RegistryResponse> =>
      this.upstream.blob({ ...request, method: 'HEAD', range: undefined, conditional: undefined });
    const stored = await this.options.store.stat(request.digest);
    if (stored) {
      await this.authorize(request, check);
      const response = await this.serveStored(request, stored.size);
      if (response) return response;
    }
    const running = this.options.fills.get(request.digest);
    if (running) {
      await this.authorize(request, check);
      return this.serveFill(request, running);
    }
    if (request.method === 'HEAD') return this.upstream.blob(request);
    let owner = false;
    const acquired = await this.options.fills.acquire(request.digest, () => {
      owner = true;
      // No client signal: the fill serves every asker and the cache, not just this client.
      return this.upstream.blob({ ...request, method: 'GET', range: undefined, conditional: undefined, signal: undefined });
    });
    if (owner) this.options.access?.allow(request.authorization, this.options.registry, request.repo);
    else await this.authorize(request, check);
    switch (acquired.kind) {
      case 'fill':
        return this.serveFill(request, acquired.fill);
      case 'direct':
        if (!request.range) return this.verified(request.digest, acquired.response);
        acquired.response.body?.destroy();
        return this.upstream.blob(request);
      case 'none':
        return request.range ? this.upstream.blob(request) : this.verified(request.digest, await this.upstream.blob(request));
    }
  }

  /** A full blob served uncached still never reaches the client corrupt. */
  private verified(digest: string, response: RegistryResponse): RegistryResponse {
    if (response.status !== 200 || !response.body) return response;
    const length = response.headers['content-length'];
    return { ...response, body: verifyingStream(response.body, digest, length ? Number(length) : undefined) };
  }

  private async serveStored(request: BlobRequest, size: number): Promise<RegistryResponse | undefined> {
    const range = parseRange(request.range, size);
    if (range.kind === 'unsatisfiable')
      throw new RegistryError('RANGE_INVALID', 'range not satisfiable', { headers: { 'content-range': `bytes */${size}` } });
    const store = this.options.store;
    if (request.method === 'GET' && this.options.redirectBlobs && store.presign) {
      const location = await store.presign(request.digest, 300);
      return { status: 307, headers: { location, 'docker-content-digest': request.digest, 'content-length': '0' }, body: null };
    }
    const slice = range.kind === 'range' ? range.range : undefined;
    const headers = blobHeaders(request.digest, size, slice);
    if (request.method === 'HEAD') return { status: slice ? 206 : 200, headers, body: null };
    const body = await store.open(request.digest, slice);
    if (!body) return undefined; // evicted meanwhile: fetch again
    return { status: slice ? 206 : 200, headers, body };
  }

  private async serveFill(request: BlobRequest, fill: BlobFill): Promise<RegistryResponse> {
    if (!fill.readable) {
      // The fill ended before this caller attached: read what it committed, else start over.
      const stored = fill.state === 'verified' ? await this.options.store.stat(request.digest) : undefined;
      return (stored && (await this.serveStored(request, stored.size))) || this.upstream.blob(request);
    }
    const size = fill.size;
    const range = size === undefined ? { kind: 'full' as const } : parseRange(request.range, size);
    if (range.kind === 'unsatisfiable')
      throw new RegistryError('RANGE_INVALID', 'range not satisfiable', { headers: { 'content-range': `bytes */${size}` } });
    const slice = range.kind === 'range' ? range.range : undefined;
    const headers = blobHeaders(request.digest, size, slice);
    if (request.method === 'HEAD') return { status: slice ? 206 : 200, headers, body: null };
    return { status: slice ? 206 : 200, headers, body: fill.reader(slice) };
  }

  // ---- access (passthrough mode) ---------------------------------------------------

  /** May this client get cached content without upstream confirming it right now? */
  private mayServeWithoutUpstream(request: SourceRequest): boolean {
    const access = this.options.access;
    if (!access) return true;
    return (
      access.isAllowed(request.authorization, this.options.registry, request.repo) || access.isPublic(this.options.registry, request.repo)
    );
  }

  /**
   * Passthrough: cached content is served only to a client the upstream accepts for the
   * repository. `check` is a HEAD with the client's token (free on Docker Hub); the
   * answer is remembered for the token's lifetime.
   */
  private async authorize(request: SourceRequest, check: () => Promise<RegistryResponse>): Promise<void> {
    const access = this.options.access;
    if (!access || access.isAllowed(request.authorization, this.options.registry, request.repo)) return;
    try {
      const response = await check();
      response.body?.destroy();
    } catch (err) {
      // A 404 means the token was accepted (content gone upstream, still cached here).
      if (!(err instanceof RegistryError && err.status === 404)) {
        if (upstreamTrouble(err) && access.isPublic(this.options.registry, request.repo)) return;
        throw err;
      }
    }
    access.allow(request.authorization, this.options.registry, request.repo);
  }

  // ---- pass-through ----------------------------------------------------------------

  tags(request: ListRequest): Promise<RegistryResponse> {
    return this.upstream.tags(request);
  }

  referrers(request: ReferrersRequest): Promise<RegistryResponse> {
    return this.upstream.referrers(request);
  }
}
