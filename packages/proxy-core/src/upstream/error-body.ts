/**
 * Turns a non-2xx upstream response into a RegistryError, reading at most a small,
 * bounded part of its body for the registry error code.
 */
import type { Readable } from 'node:stream';
import { RegistryError, isErrorCode, type ErrorCode } from '../errors.js';
import { parseChallenge, type Challenge } from '../auth/challenge.js';
import { discard, type FetchResponse } from '../fetch/types.js';

const MAX_ERROR_BODY = 64 * 1024;

/** An upstream 401, with the upstream's challenge so the edge can re-issue its own. */
export class UpstreamAuthError extends RegistryError {
  constructor(
    message: string,
    readonly challenge: Challenge | undefined,
    detail?: unknown,
  ) {
    super('UNAUTHORIZED', message, { detail });
    this.name = 'UpstreamAuthError';
  }
}

export async function readBounded(body: Readable | null, limit: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      body.destroy();
      break;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function firstError(text: Buffer): { code?: string; message?: string; detail?: unknown } | undefined {
  try {
    const parsed = JSON.parse(text.toString('utf8')) as { errors?: Array<{ code?: string; message?: string; detail?: unknown }> };
    return parsed.errors?.[0];
  } catch {
    return undefined;
  }
}

export async function upstreamError(response: FetchResponse, fallback: ErrorCode): Promise<RegistryError> {
  const status = response.status;
  const text = response.body ? await readBounded(response.body, MAX_ERROR_BODY).catch(() => Buffer.alloc(0)) : Buffer.alloc(0);
  discard(response);
  const upstream = firstError(text);
  const code = isErrorCode(upstream?.code) ? upstream.code : undefined;
  const message = upstream?.message ?? `upstream answered ${status}`;
  if (status === 401) return new UpstreamAuthError(message, parseChallenge(response.headers.get('www-authenticate')), upstream?.detail);
  if (status === 429) {
    const retryAfter = response.headers.get('retry-after');
    return new RegistryError('TOOMANYREQUESTS', message, {
      headers: retryAfter ? { 'retry-after': retryAfter } : {},
      detail: upstream?.detail,
    });
  }
  if (status >= 500) return new RegistryError('UNAVAILABLE', `upstream answered ${status}`, { status: status === 504 ? 504 : 502 });
  if (status === 404) return new RegistryError(code ?? fallback, message, { status: 404, detail: upstream?.detail });
  if (status === 416) return new RegistryError('RANGE_INVALID', message, { status: 416, headers: pickRange(response) });
  return new RegistryError(code ?? fallback, message, { status, detail: upstream?.detail });
}

function pickRange(response: FetchResponse): Record<string, string> {
  const value = response.headers.get('content-range');
  return value ? { 'content-range': value } : {};
}
