/**
 * A RegistrySource that wraps another (the upstream) with the verified cache, in the
 * shape of distribution's proxyBlobStore: routes cannot tell it from the upstream.
 *
 * Quota economy (Docker Hub counts manifest GETs, not HEADs):
 *  - manifests by digest are immutable: cached, never fetched again;
 *  - a tag is fresh for `tagFreshnessMs` (no upstream call), then revalidated with a HEAD;
 *    only a changed or unknown tag costs a GET. Tag records are kept per accept class
 *    (ManifestCache), so a client gets what the upstream would have sent for its Accept;
 *  - when the upstream is down, answers 5xx or 429, a cached tag is served stale (with a
 *    Warning) up to `maxStaleMs`.
 * Trust: nothing reaches a client unverified (manifests are hashed before they are
 * served, blobs hold their last byte until the digest checks out), and cached content is
 * served under a repository only through the AccessGate.
 */
import { RegistryError } from '../errors.js';
import type { CacheOutcome, ContentKind, MirrorEvents } from '../events.js';
import { readBounded } from '../net/read-bounded.js';
import { isDigest } from '../reference.js';
import type { BlobRequest, ListRequest, ManifestRequest, ReferrersRequest, RegistryResponse, RegistrySource } from '../registry-source.js';
import { AccessGate, upstreamTrouble } from './access-gate.js';
import type { AccessMemo } from './access-memo.js';
import type { BlobFill } from './blob-fill.js';
import type { BlobStore } from './blob-store.js';
import { digestOf, isCacheableDigest } from './digester.js';
import type { FillCoordinator } from './fill-coordinator.js';
import { type CachedManifest, MAX_MANIFEST_BYTES, type ManifestCache } from './manifest-cache.js';
import { referencedDigests } from './manifest-references.js';
import { ANY_MANIFEST, accepts, MANIFEST_MEDIA_TYPES, mediaTypeOf } from './manifest-types.js';
import { parseRange } from './range.js';
import type { RepositoryLinks } from './repository-links.js';
import { blobHeaders, manifestResponse } from './responses.js';
import { digestedBytes } from './signed-manifest.js';
import { verifyingStream } from './verify-stream.js';

const STALE_WARNING = '110 - "Response is Stale"';

export interface CachedRegistryOptions {
  registry: string;
  upstream: RegistrySource;
  store: BlobStore;
  fills: FillCoordinator;
  manifests: ManifestCache;
  /** Which digests belong to which repository (shared by every registry and replica). */
  links: RepositoryLinks;
  /** Set in passthrough mode: cached content needs the upstream's consent per client. */
  access?: AccessMemo;
  tagFreshnessMs: number;
  maxStaleMs: number;
  /** Answer warm blob GETs with a 307 to a presigned store URL (S3). */
  redirectBlobs?: boolean;
  /** Told how each request was answered and how many bytes came from upstream. */
  events?: MirrorEvents;
  now?: () => number;
}

/** The quota headers of an upstream answer, passed on with a manifest the cache serves. */
function quotaHeaders(response: RegistryResponse): Record<string, string> {
  return Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => name.startsWith('ratelimit-') || name === 'docker-ratelimit-source'),
  );
}

/** A manifest answer must be a manifest: a captive portal's `200 text/html` is an upstream error. */
function assertManifestType(response: RegistryResponse): string {
  const contentType = response.headers['content-type'];
  const mediaType = mediaTypeOf(contentType);
  if (MANIFEST_MEDIA_TYPES.has(mediaType)) return mediaType;
  response.body?.destroy();
  throw new RegistryError('MANIFEST_INVALID', `upstream answered ${JSON.stringify(contentType ?? '')} where a manifest was expected`, {
    status: 502,
  });
}

export class CachedRegistry implements RegistrySource {
  private readonly now: () => number;
  private readonly gate: AccessGate;

  constructor(private readonly options: CachedRegistryOptions) {
    this.now = options.now ?? Date.now;
    this.gate = new AccessGate({ registry: options.registry, links: options.links, memo: options.access });
  }

  private get upstream(): RegistrySource {
    return this.options.upstream;
  }

  // ---- manifests -------------------------------------------------------------------

  async manifest(request: ManifestRequest): Promise<RegistryResponse> {
    return isDigest(request.reference) ? this.manifestByDigest(request) : this.manifestByTag(request);
  }

  /** Labels a response with how it was answered, and reports it. */
  private answered(kind: ContentKind, outcome: CacheOutcome, response: RegistryResponse): RegistryResponse {
    this.options.events?.cacheOutcome?.({ registry: this.options.registry, kind, outcome });
    response.cache = outcome;
    return response;
  }

  private fetchedUpstream(bytes: number): void {
    this.options.events?.upstreamBytes?.({ registry: this.options.registry, bytes });
  }

  private async manifestByDigest(request: ManifestRequest): Promise<RegistryResponse> {
    const cached = await this.options.manifests.getManifest(request.reference);
    if (cached && accepts(request.accept, cached.mediaType)) {
      await this.gate.authorize(request, cached.digest, () => this.confirmManifest(request, cached.digest));
      return this.answered('digest', 'hit', manifestResponse(cached, request.method));
    }
    if (request.method === 'HEAD') return this.answered('digest', 'bypass', await this.headManifest(request));
    return this.answered('digest', 'miss', await this.fetchManifest(request));
  }

  private async manifestByTag(request: ManifestRequest): Promise<RegistryResponse> {
    const { registry, manifests } = this.options;
    const record = await manifests.getTag(registry, request.repo, request.reference, request.accept);
    const cached = record && (await manifests.getManifest(record.digest));
    if (!record || !cached) {
      if (request.method === 'HEAD') return this.answered('tag', 'bypass', await this.headManifest(request));
      return this.answered('tag', 'miss', await this.fetchManifest(request, request.reference));
    }
    const age = this.now() - record.validatedAt;
    if (age < this.options.tagFreshnessMs) {
      await this.gate.authorize(request, cached.digest, () => this.confirmManifest(request, cached.digest));
      return this.answered('tag', 'hit', manifestResponse(cached, request.method));
    }
    const stale = (err: unknown): RegistryResponse => {
      if (upstreamTrouble(err) && age < this.options.maxStaleMs && this.gate.mayServeOffline(request)) {
        return this.answered('tag', 'stale', manifestResponse(cached, request.method, { warning: STALE_WARNING }));
      }
      throw err;
    };
    let head: RegistryResponse;
    try {
      head = await this.headManifest(request);
    } catch (err) {
      return stale(err);
    }
    if (head.headers['docker-content-digest'] === record.digest) {
      await manifests.putTag(registry, request.repo, request.reference, request.accept, { ...record, validatedAt: this.now() });
      return this.answered('tag', 'hit', manifestResponse(cached, request.method));
    }
    if (request.method === 'HEAD') return this.answered('tag', 'bypass', head);
    try {
      return this.answered('tag', 'miss', await this.fetchManifest(request, request.reference));
    } catch (err) {
      return stale(err);
    }
  }

  /** A HEAD passed upstream; the digest it names is linked to the repository. */
  private async headManifest(request: ManifestRequest): Promise<RegistryResponse> {
    const response = await this.upstream.manifest({ ...request, method: 'HEAD', conditional: undefined });
    response.body?.destroy();
    assertManifestType(response);
    const digest = response.headers['docker-content-digest'];
    if (response.status === 200) await this.gate.confirmed(request, response, digest && isDigest(digest) ? [digest] : []);
    return { ...response, body: null };
  }

  /** Whether `digest` exists under the request's repository for this client (any manifest type will do). */
  private confirmManifest(request: ManifestRequest, digest: string): Promise<RegistryResponse> {
    return this.upstream.manifest({ ...request, reference: digest, method: 'HEAD', accept: ANY_MANIFEST, conditional: undefined });
  }

  /**
   * GETs a manifest upstream and serves it only if it is one: a manifest media type, at
   * most 4 MiB, hashing to the digest asked for (or, for a tag, the digest the upstream
   * announced). It is cached, linked to the repository with everything it refers to,
   * and recorded for the tag under the client's accept class.
   */
  private async fetchManifest(request: ManifestRequest, tag?: string): Promise<RegistryResponse> {
    const response = await this.upstream.manifest({ ...request, method: 'GET' });
    if (response.status !== 200 || !response.body) return response;
    const mediaType = assertManifestType(response);
    const body = await readBounded(
      response.body,
      MAX_MANIFEST_BYTES,
      (limit) => new RegistryError('MANIFEST_INVALID', `upstream manifest exceeds ${limit} bytes`, { status: 502 }),
    );
    this.fetchedUpstream(body.length);
    const digest = this.expectedDigest(body, mediaType, tag ? response.headers['docker-content-digest'] : request.reference);
    const manifest: CachedManifest = { digest, mediaType, body };
    await this.options.manifests.putManifest(manifest);
    // References are read from the verified bytes only (a signed schema1 body holds more).
    const verified = digestedBytes(body, mediaType) ?? Buffer.alloc(0);
    await this.gate.confirmed(request, response, [digest, ...referencedDigests(verified)]);
    if (tag) {
      await this.options.manifests.putTag(this.options.registry, request.repo, tag, request.accept, {
        digest,
        mediaType,
        validatedAt: this.now(),
      });
    }
    return manifestResponse(manifest, request.method, quotaHeaders(response));
  }

  /** The digest `body` must have: `wanted` (asked for, or announced), else its own sha256. */
  private expectedDigest(body: Buffer, mediaType: string, wanted: string | undefined): string {
    const digested = digestedBytes(body, mediaType);
    if (!digested) throw new RegistryError('MANIFEST_INVALID', 'upstream sent a signed manifest that cannot be parsed', { status: 502 });
    const actual = digestOf(digested, wanted ?? 'sha256:');
    if (wanted === undefined) return actual;
    if (!isDigest(wanted) || wanted !== actual) {
      throw new RegistryError('DIGEST_INVALID', 'upstream manifest does not match its digest', {
        status: 502,
        detail: { expected: wanted.slice(0, 200), actual },
      });
    }
    return wanted;
  }

  // ---- blobs -----------------------------------------------------------------------

  /**
   * 0. sha512 blobs are verified on their way through, never cached;
   * 1. resolve: is the blob stored, or being fetched right now?
   * 2. authorize: may this client read it under this repository (AccessGate)?
   * 3. serve warm | join the running fill | start a fill (one upstream GET for everyone).
   */
  async blob(request: BlobRequest): Promise<RegistryResponse> {
    if (!isCacheableDigest(request.digest)) return this.answered('blob', 'bypass', await this.uncached(request));
    const stored = await this.options.store.stat(request.digest);
    const running = stored ? undefined : this.options.fills.get(request.digest);
    if (stored || running) await this.gate.authorize(request, request.digest, () => this.confirmBlob(request));
    if (stored) {
      const warm = await this.serveStored(request, stored.size);
      if (warm) return this.answered('blob', 'hit', warm);
    }
    if (running) return this.answered('blob', 'coalesced', await this.serveFill(request, running));
    return this.startFill(request);
  }

  private confirmBlob(request: BlobRequest): Promise<RegistryResponse> {
    return this.upstream.blob({ ...request, method: 'HEAD', range: undefined, conditional: undefined });
  }

  private async startFill(request: BlobRequest): Promise<RegistryResponse> {
    if (request.method === 'HEAD') return this.answered('blob', 'bypass', await this.headBlob(request));
    let owner = false;
    const acquired = await this.options.fills.acquire(request.digest, async () => {
      owner = true;
      // No client signal: the fill serves every asker and the cache, not just this client.
      const response = await this.upstream.blob({ ...request, method: 'GET', range: undefined, conditional: undefined, signal: undefined });
      await this.linkOrRelease(request, response);
      return response;
    });
    switch (acquired.kind) {
      case 'fill': {
        const fill = acquired.fill;
        if (owner) void fill.finished.then(() => this.fetchedUpstream(fill.written));
        else await this.gate.authorize(request, request.digest, () => this.confirmBlob(request));
        return this.answered('blob', owner ? 'miss' : 'coalesced', await this.serveFill(request, fill));
      }
      case 'direct':
        return this.answered('blob', 'bypass', this.verified(request, acquired.response));
      case 'none':
        return this.answered('blob', 'bypass', await this.uncached(request));
    }
  }

  /** Links a blob the upstream is sending for this repository; if that fails, lets the transfer go. */
  private async linkOrRelease(request: BlobRequest, response: RegistryResponse): Promise<void> {
    try {
      await this.gate.confirmed(request, response, [request.digest]);
    } catch (err) {
      response.body?.destroy();
      throw err;
    }
  }

  /** A HEAD passed upstream; a 200 links the digest to the repository. */
  private async headBlob(request: BlobRequest): Promise<RegistryResponse> {
    const response = await this.upstream.blob({ ...request, method: 'HEAD' });
    if (response.status === 200) await this.gate.confirmed(request, response, [request.digest]);
    return response;
  }

  /** The blob fetched for this client alone (not cached), verified on its way through. */
  private async uncached(request: BlobRequest): Promise<RegistryResponse> {
    if (request.method === 'HEAD') return this.headBlob(request);
    // The whole blob, even for a Range: only the whole can be verified.
    const response = await this.upstream.blob({ ...request, range: undefined });
    if (response.status === 200) await this.linkOrRelease(request, response);
    return this.verified(request, response);
  }

  /**
   * Wraps a full upstream body so that it never ends cleanly unless it hashes to the
   * digest; a Range is cut out of the verified whole.
   */
  private verified(request: BlobRequest, response: RegistryResponse): RegistryResponse {
    if (response.status !== 200 || !response.body) return response;
    const length = response.headers['content-length'];
    const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    const range = size === undefined ? ({ kind: 'full' } as const) : parseRange(request.range, size);
    if (range.kind === 'unsatisfiable') {
      response.body.destroy();
      throw new RegistryError('RANGE_INVALID', 'range not satisfiable', { headers: { 'content-range': `bytes */${size}` } });
    }
    const counted = (bytes: number): void => this.fetchedUpstream(bytes);
    if (range.kind === 'range') {
      return {
        status: 206,
        headers: blobHeaders(request.digest, size, range.range),
        body: verifyingStream(response.body, request.digest, size, { range: range.range, onVerified: counted }),
      };
    }
    return { ...response, body: verifyingStream(response.body, request.digest, size, { onVerified: counted }) };
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
      // The fill ended before this caller attached: read what it committed, else fetch
      // for this caller alone (verified like everything else).
      const stored = fill.state === 'verified' ? await this.options.store.stat(request.digest) : undefined;
      return (stored && (await this.serveStored(request, stored.size))) || this.uncached(request);
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

  // ---- pass-through ----------------------------------------------------------------

  tags(request: ListRequest): Promise<RegistryResponse> {
    return this.upstream.tags(request);
  }

  referrers(request: ReferrersRequest): Promise<RegistryResponse> {
    return this.upstream.referrers(request);
  }
}
