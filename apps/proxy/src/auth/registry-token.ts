/**
 * Passthrough mode: every token the relay hands a client names the registry it was
 * issued for, `docxy1.<base64url(registry)>.<upstream token>`. To a client all
 * registries are one host (the mirror), so it may present any of its tokens on any
 * path; the wrapper lets the mirror forward a token only to its own registry, with no
 * shared state between replicas. The wrapper is not signed: it protects a client's
 * token from being sent where the client did not mean it to go, and a client that forges
 * one only sends its own token to a registry it chose.
 */
import type { TokenAnswer } from './client-auth.js';

const MARKER = 'docxy1';

export function wrapToken(registry: string, token: string): string {
  return `${MARKER}.${Buffer.from(registry).toString('base64url')}.${token}`;
}

/** The registry and upstream token of a wrapped token; undefined for anything else. */
export function unwrapToken(wrapped: string): { registry: string; token: string } | undefined {
  const first = wrapped.indexOf('.');
  const second = wrapped.indexOf('.', first + 1);
  if (first < 0 || second < 0 || wrapped.slice(0, first) !== MARKER) return undefined;
  const registry = Buffer.from(wrapped.slice(first + 1, second), 'base64url').toString('utf8');
  const token = wrapped.slice(second + 1);
  return registry && token ? { registry, token } : undefined;
}

/** Wraps `token` and `access_token` of a successful token answer; other fields (refresh_token, expires_in) pass. */
export function wrapTokenAnswer(registry: string, answer: TokenAnswer): TokenAnswer {
  if (answer.status !== 200) return answer;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    parsed = {};
  }
  const fields = ['token', 'access_token'].filter((key) => typeof parsed[key] === 'string' && parsed[key]);
  // An answer without a token would reach the client unwrapped and be useless to it anyway.
  if (fields.length === 0)
    return {
      status: 502,
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'upstream token service sent no token' }] })),
    };
  for (const key of fields) parsed[key] = wrapToken(registry, parsed[key] as string);
  return { status: 200, contentType: 'application/json', body: Buffer.from(JSON.stringify(parsed)) };
}
