/**
 * Splits `/v2/<name>/<kind>/<rest>` (the name may contain slashes, so a router's
 * single-segment params do not fit). Returns undefined for paths outside the API.
 */
export type V2Kind = 'manifests' | 'blobs' | 'tags' | 'referrers';

export interface V2Path {
  name: string;
  kind: V2Kind;
  /** Reference or digest; `list` for tags. */
  rest: string;
}

const V2_RE = /^\/v2\/(.+?)\/(manifests|blobs|tags|referrers)\/([^/]+)$/;
const UPLOAD_RE = /^\/v2\/(.+?)\/blobs\/uploads(\/.*)?$/;

export function parseV2Path(path: string): V2Path | undefined {
  if (UPLOAD_RE.test(path)) return undefined;
  const match = V2_RE.exec(path);
  if (!match) return undefined;
  const [, name, kind, rest] = match as unknown as [string, string, V2Kind, string];
  if (kind === 'tags' && rest !== 'list') return undefined;
  return { name, kind, rest };
}
