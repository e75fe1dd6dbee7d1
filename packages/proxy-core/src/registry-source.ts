/**
 * The RegistrySource port: what the HTTP edge talks to. `UpstreamRegistry` implements
 * it over HTTP; a cache implements it around another source (distribution's
 * proxyBlobStore pattern), so routes never learn whether they talk to a cache.
 * Names here are the upstream's names (after `library/` fix-up), already validated.
 */
import type { Readable } from 'node:stream';
import type { CacheOutcome } from './events.js';

export interface SourceRequest {
  /** Repository name as the upstream knows it. */
  repo: string;
  /** The client's Authorization header, relayed in passthrough mode. */
  authorization?: string;
  /** Aborted when the client goes away before the upstream answered. */
  signal?: AbortSignal;
}

export interface Conditional {
  ifNoneMatch?: string;
  ifMatch?: string;
  ifModifiedSince?: string;
  ifRange?: string;
}

export interface ManifestRequest extends SourceRequest {
  reference: string;
  method: 'GET' | 'HEAD';
  /** The client's Accept header, forwarded verbatim (media-type negotiation). */
  accept?: string;
  conditional?: Conditional;
}

export interface BlobRequest extends SourceRequest {
  digest: string;
  method: 'GET' | 'HEAD';
  /** Raw `Range` header (`bytes=a-b`). */
  range?: string;
  conditional?: Conditional;
}

export interface ListRequest extends SourceRequest {
  /** Query parameters to forward (`n`, `last`, `artifactType`). */
  query: URLSearchParams;
}

export interface ReferrersRequest extends ListRequest {
  digest: string;
}

export interface RegistryResponse {
  status: number;
  /** Only allowlisted headers, lower-cased names. */
  headers: Record<string, string>;
  body: Readable | null;
  /** Answered by a fallback mirror, anonymously: says nothing about the client's access upstream. */
  fromFallback?: boolean;
  /** How the cache answered (for logs and metrics); unset when no cache was involved. */
  cache?: CacheOutcome;
}

export interface RegistrySource {
  manifest(request: ManifestRequest): Promise<RegistryResponse>;
  blob(request: BlobRequest): Promise<RegistryResponse>;
  tags(request: ListRequest): Promise<RegistryResponse>;
  referrers(request: ReferrersRequest): Promise<RegistryResponse>;
}

/** Headers a response may carry to the client; everything else from upstream is dropped. */
export const RESPONSE_HEADER_ALLOWLIST = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'docker-content-digest',
  'etag',
  'last-modified',
  'link',
  'oci-filters-applied',
  'ratelimit-limit',
  'ratelimit-remaining',
  'docker-ratelimit-source',
] as const;

export function pickHeaders(headers: Headers, allow: readonly string[] = RESPONSE_HEADER_ALLOWLIST): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of allow) {
    const value = headers.get(name);
    if (value !== null) out[name] = value;
  }
  return out;
}
