/**
 * Fallback mirrors for one registry (e.g. mirror.gcr.io for Docker Hub): used only for
 * content addressed by digest (blobs, manifests by digest), and only when the primary
 * is in trouble (unreachable, 5xx, 429). Their answers are trusted no more than the
 * primary's: the cache verifies every digest before a byte is committed or a response
 * ends, so a fallback can make a pull succeed but never make it wrong. Tags, tag lists
 * and referrers always come from the primary. Client credentials never go to a fallback.
 */
import { RegistryError } from '../errors.js';
import { isDigest } from '../reference.js';
import type { BlobRequest, ListRequest, ManifestRequest, ReferrersRequest, RegistryResponse, RegistrySource } from '../registry-source.js';

function trouble(err: unknown): boolean {
  return err instanceof RegistryError && (err.code === 'UNAVAILABLE' || err.code === 'TOOMANYREQUESTS' || err.status >= 500);
}

export class FallbackRegistry implements RegistrySource {
  constructor(
    private readonly primary: RegistrySource,
    private readonly fallbacks: readonly RegistrySource[],
  ) {}

  private async withFallbacks<T extends { authorization?: string }>(
    request: T,
    call: (source: RegistrySource, request: T) => Promise<RegistryResponse>,
  ): Promise<RegistryResponse> {
    try {
      return await call(this.primary, request);
    } catch (err) {
      if (!trouble(err)) throw err;
      for (const fallback of this.fallbacks) {
        try {
          // Marked, so the cache does not take a fallback's answer as the primary accepting this client.
          return { ...(await call(fallback, { ...request, authorization: undefined })), fromFallback: true };
        } catch {
          // Try the next one; the primary's error is what the client sees if all fail.
        }
      }
      throw err;
    }
  }

  manifest(request: ManifestRequest): Promise<RegistryResponse> {
    if (!isDigest(request.reference)) return this.primary.manifest(request);
    return this.withFallbacks(request, (source, r) => source.manifest(r));
  }

  blob(request: BlobRequest): Promise<RegistryResponse> {
    return this.withFallbacks(request, (source, r) => source.blob(r));
  }

  tags(request: ListRequest): Promise<RegistryResponse> {
    return this.primary.tags(request);
  }

  referrers(request: ReferrersRequest): Promise<RegistryResponse> {
    return this.primary.referrers(request);
  }
}
