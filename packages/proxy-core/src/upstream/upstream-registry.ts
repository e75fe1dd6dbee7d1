/**
 * RegistrySource over HTTP to one upstream registry. HEAD stays HEAD (a manifest GET
 * costs Docker Hub quota, a HEAD does not); bodies stream through untouched.
 */
import type { Fetcher, FetchRequest, FetchResponse } from '../fetch/types.js';
import { type ErrorCode, RegistryError } from '../errors.js';
import { AddressRefusedError } from '../net/address-policy.js';
import { upstreamError } from './error-body.js';
import type { UpstreamConfig } from './upstream-config.js';
import {
  pickHeaders,
  type BlobRequest,
  type Conditional,
  type ListRequest,
  type ManifestRequest,
  type ReferrersRequest,
  type RegistryResponse,
  type RegistrySource,
  type SourceRequest,
} from '../registry-source.js';

const CONDITIONAL_HEADERS: Record<keyof Conditional, string> = {
  ifNoneMatch: 'if-none-match',
  ifMatch: 'if-match',
  ifModifiedSince: 'if-modified-since',
  ifRange: 'if-range',
};

export class UpstreamRegistry implements RegistrySource {
  constructor(
    readonly config: UpstreamConfig,
    private readonly fetcher: Fetcher,
  ) {}

  manifest(request: ManifestRequest): Promise<RegistryResponse> {
    const headers = this.headers(request, request.conditional);
    if (request.accept) headers.accept = request.accept;
    return this.exchange(request, `manifests/${request.reference}`, request.method, headers, 'MANIFEST_UNKNOWN');
  }

  blob(request: BlobRequest): Promise<RegistryResponse> {
    const headers = this.headers(request, request.conditional);
    if (request.range) headers.range = request.range;
    return this.exchange(request, `blobs/${request.digest}`, request.method, headers, 'BLOB_UNKNOWN');
  }

  tags(request: ListRequest): Promise<RegistryResponse> {
    return this.exchange(request, `tags/list${query(request.query)}`, 'GET', this.headers(request), 'NAME_UNKNOWN');
  }

  referrers(request: ReferrersRequest): Promise<RegistryResponse> {
    const headers = this.headers(request);
    headers.accept = 'application/vnd.oci.image.index.v1+json';
    return this.exchange(request, `referrers/${request.digest}${query(request.query)}`, 'GET', headers, 'MANIFEST_UNKNOWN');
  }

  private headers(request: SourceRequest, conditional: Conditional = {}): Record<string, string> {
    const headers: Record<string, string> = {};
    if (request.authorization) headers.authorization = request.authorization;
    for (const [key, header] of Object.entries(CONDITIONAL_HEADERS) as Array<[keyof Conditional, string]>) {
      const value = conditional[key];
      if (value) headers[header] = value;
    }
    return headers;
  }

  private url(repo: string, rest: string): URL {
    const base = this.config.url.href.replace(/\/+$/, '');
    return new URL(`${base}/v2/${repo}/${rest}`);
  }

  private async exchange(
    request: SourceRequest,
    rest: string,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    notFound: ErrorCode,
  ): Promise<RegistryResponse> {
    const fetchRequest: FetchRequest = { url: this.url(request.repo, rest), method, headers, signal: request.signal };
    const response: FetchResponse = await this.fetcher(fetchRequest).catch((err: unknown) => {
      // The policy names the host it refused; the operator also needs the registry it was for.
      if (err instanceof AddressRefusedError) {
        throw new RegistryError('UNAVAILABLE', `registry ${this.config.name}: ${err.message}`, { status: 502, cause: err });
      }
      throw err;
    });
    if (response.status >= 400) throw await upstreamError(response, notFound);
    return { status: response.status, headers: pickHeaders(response.headers), body: response.body };
  }
}

function query(params: URLSearchParams): string {
  const text = params.toString();
  return text ? `?${text}` : '';
}
