/**
 * Retries idempotent requests (GET/HEAD) that failed before any body byte reached us:
 * network errors, and 502/503/504. 429 is not retried here: it is quota, and the
 * caller decides (serve stale, or pass it on). Honours `Retry-After` up to a cap.
 */
import { UpstreamUnavailableError } from '../errors.js';
import { discard, type Fetcher } from './types.js';

export interface RetryOptions {
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

const RETRY_STATUSES = new Set([502, 503, 504]);

export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

export function withRetry(next: Fetcher, options: RetryOptions = {}): Fetcher {
  const retries = options.retries ?? 2;
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 5_000;
  return async (request) => {
    const idempotent = request.method === 'GET' || request.method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      const last = !idempotent || attempt >= retries;
      try {
        const response = await next(request);
        if (last || !RETRY_STATUSES.has(response.status)) return response;
        const delay = Math.min(cap, retryAfterMs(response.headers.get('retry-after')) ?? base * 2 ** attempt);
        discard(response);
        await sleep(delay, request.signal);
      } catch (err) {
        // Connect/idle timeouts and resets are worth another try; a caller's abort is not, nor
        // a refusal by the address policy (AddressRefusedError): that is configuration.
        if (last || request.signal?.aborted || !(err instanceof UpstreamUnavailableError)) throw err;
        await sleep(Math.min(cap, base * 2 ** attempt), request.signal);
      }
    }
  };
}
