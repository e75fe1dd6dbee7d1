/**
 * Turns a non-2xx upstream response into a RegistryError, reading at most a small,
 * bounded part of its body for the registry error code.
 */
import { RegistryError, UpstreamAuthError, isErrorCode, type ErrorCode } from '../errors.js';
import { parseChallenge } from '../auth/challenge.js';
import { discard, type FetchResponse } from '../fetch/types.js';
import { readBounded } from '../net/read-bounded.js';

const MAX_ERROR_BODY = 64 * 1024;

class ErrorBodyTooLarge extends Error {}

/** The error body, or a note that it was too large (or unreadable) to parse. */
async function errorText(response: FetchResponse): Promise<{ text: Buffer; note?: string }> {
  try {
    return { text: await readBounded(response.body, MAX_ERROR_BODY, () => new ErrorBodyTooLarge()) };
  } catch (err) {
    return {
      text: Buffer.alloc(0),
      note: err instanceof ErrorBodyTooLarge ? `its error body exceeds ${MAX_ERROR_BODY} bytes` : 'its error body was cut',
    };
  }
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
  const { text, note } = await errorText(response);
  discard(response);
  const upstream = firstError(text);
  const code = isErrorCode(upstream?.code) ? upstream.code : undefined;
  const message = upstream?.message ?? `upstream answered ${status}${note ? ` (${note})` : ''}`;
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
