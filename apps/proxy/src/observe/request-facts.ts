/**
 * What a finished request was, for its log line and its metrics: the route class, the
 * image it named (set by the registry routes in `ctx.state.target`), how the cache
 * answered (`ctx.state.cache`) and how many body bytes reached the client.
 */
import type { ServerResponse } from 'node:http';
import type { CacheOutcome } from '@docxy/proxy-core';
import type { Context } from 'koa';
import { parseV2Path } from '../http/v2-path.js';

/** Set by routes/registry-api.ts once the request is routed and validated. */
export interface RequestTarget {
  registry: string;
  /** The name as the upstream knows it (`library/redis`). */
  repository: string;
  kind: 'tag' | 'digest' | 'blob' | 'tags' | 'referrers';
  /** Tag or digest, for manifests and blobs. */
  reference?: string;
}

export type RouteClass = 'manifest' | 'blob' | 'tags' | 'referrers' | 'v2' | 'token' | 'probe' | 'metrics' | 'status' | 'other';

const PROBES = new Set(['/health', '/healthz', '/readyz']);
const KINDS = { manifests: 'manifest', blobs: 'blob', tags: 'tags', referrers: 'referrers' } as const;

export function routeClass(path: string, metricsPath: string): RouteClass {
  if (path === '/v2' || path === '/v2/') return 'v2';
  if (path.startsWith('/v2/')) {
    const parsed = parseV2Path(path);
    return parsed ? KINDS[parsed.kind] : 'other';
  }
  if (path === '/auth/token') return 'token';
  if (PROBES.has(path)) return 'probe';
  if (path === metricsPath) return 'metrics';
  if (path === '/' || path.startsWith('/-/')) return 'status';
  return 'other';
}

const counted = new WeakMap<ServerResponse, { bytes: number }>();

/**
 * Counts the body bytes written to `res` from now on (idempotent: the metrics and the
 * access log share one count). Registry bodies are piped straight to `res`, bypassing
 * Koa, so the count is taken at `write`/`end`: a transfer cut short counts what was sent.
 */
export function countBodyBytes(res: ServerResponse): () => number {
  let tally = counted.get(res);
  if (!tally) {
    const state = { bytes: 0 };
    tally = state;
    counted.set(res, state);
    const size = (chunk: unknown, encoding?: unknown): number =>
      typeof chunk === 'string'
        ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : chunk instanceof Uint8Array
          ? chunk.byteLength
          : 0;
    const write = res.write;
    const end = res.end;
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      state.bytes += size(chunk, rest[0]);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof res.write;
    res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      if (typeof chunk !== 'function') state.bytes += size(chunk, rest[0]);
      return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
    } as typeof res.end;
  }
  return () => tally.bytes;
}

/** The error code of a registry-format error body (`{"errors":[{"code"}]}`), if the response is one. */
export function errorCodeOf(ctx: Context): string | undefined {
  const body = ctx.body as { errors?: Array<{ code?: unknown }> } | undefined;
  const code = body && typeof body === 'object' && Array.isArray(body.errors) ? body.errors[0]?.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

export function targetOf(ctx: Context): RequestTarget | undefined {
  return ctx.state.target as RequestTarget | undefined;
}

export function cacheOutcomeOf(ctx: Context): CacheOutcome | undefined {
  return ctx.state.cache as CacheOutcome | undefined;
}
