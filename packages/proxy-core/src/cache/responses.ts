/** Responses the cache builds itself (from stored manifests and blobs). */
import { Readable } from 'node:stream';
import type { RegistryResponse } from '../registry-source.js';
import type { ByteRange } from './blob-store.js';
import type { CachedManifest } from './manifest-cache.js';

export function manifestResponse(manifest: CachedManifest, method: 'GET' | 'HEAD', extra: Record<string, string> = {}): RegistryResponse {
  return {
    status: 200,
    headers: {
      'content-type': manifest.mediaType,
      'content-length': String(manifest.body.length),
      'docker-content-digest': manifest.digest,
      etag: `"${manifest.digest}"`,
      ...extra,
    },
    body: method === 'HEAD' ? null : Readable.from([manifest.body]),
  };
}

export function blobHeaders(digest: string, size: number | undefined, range?: ByteRange): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'docker-content-digest': digest,
    'accept-ranges': 'bytes',
    etag: `"${digest}"`,
  };
  if (range) {
    headers['content-length'] = String(range.end - range.start + 1);
    headers['content-range'] = `bytes ${range.start}-${range.end}/${size ?? '*'}`;
  } else if (size !== undefined) {
    headers['content-length'] = String(size);
  }
  return headers;
}
