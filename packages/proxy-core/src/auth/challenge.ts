/**
 * `WWW-Authenticate` parsing and formatting (RFC 7235 auth-params, as used by the
 * Docker token spec: `Bearer realm="…",service="…",scope="…"`).
 */
export interface Challenge {
  scheme: string; // lower-cased: "bearer" | "basic"
  params: Record<string, string>;
}

const MAX_HEADER = 8 * 1024;

/** Parses the first challenge of a header. Returns undefined for anything unparseable. */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header || header.length > MAX_HEADER) return undefined;
  const match = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  const params: Record<string, string> = {};
  const paramRe = /\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/gy;
  const rest = match[2] ?? '';
  let consumed = 0;
  while (consumed < rest.length) {
    const m = paramRe.exec(rest);
    if (m === null) break;
    const key = m[1]!.toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (!(key in params)) params[key] = value;
    consumed = paramRe.lastIndex;
  }
  return { scheme, params };
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export function formatChallenge(scheme: 'Bearer' | 'Basic', params: Record<string, string | undefined>): string {
  const parts = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([k, v]) => `${k}=${quote(v)}`);
  return parts.length ? `${scheme} ${parts.join(',')}` : scheme;
}
