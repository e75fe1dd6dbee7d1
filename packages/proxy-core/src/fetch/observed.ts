/** A Fetcher layer that reports each exchange (status, time to headers, quota left) to MirrorEvents. */
import type { MirrorEvents } from '../events.js';
import type { Fetcher } from './types.js';

/** `ratelimit-remaining: 76;w=21600` → 76. */
function remainingOf(header: string | null): number | undefined {
  const value = header ? Number.parseInt(header, 10) : Number.NaN;
  return Number.isFinite(value) ? value : undefined;
}

export function withObserver(next: Fetcher, registry: string, events: MirrorEvents): Fetcher {
  const report = events.upstreamExchange;
  if (!report) return next;
  return async (request) => {
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const response = await next(request);
      const status = response.status;
      const outcome = status >= 500 ? 'server-error' : status >= 400 ? 'client-error' : 'ok';
      report({
        registry,
        method: request.method,
        status,
        outcome,
        seconds: seconds(),
        remaining: remainingOf(response.headers.get('ratelimit-remaining')),
      });
      return response;
    } catch (err) {
      report({ registry, method: request.method, outcome: 'error', seconds: seconds() });
      throw err;
    }
  };
}
