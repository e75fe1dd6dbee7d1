/**
 * The bottom of the Fetcher stack: node-fetch over keep-alive agents with three
 * timeouts that suit multi-GB layers: connect, time-to-headers, and an idle timeout
 * on the body (no bytes for N ms). There is deliberately no total-time cap on bodies.
 */
import fetch, { type Response } from 'node-fetch';
import { PassThrough, type Readable } from 'node:stream';
import { UpstreamUnavailableError } from '../errors.js';
import { createAgents } from './timed-agent.js';
import { AddressRefusedError, guardedLookup, isBlockedUrl, type AddressPolicy } from '../net/address-policy.js';
import type { FetchRequest, FetchResponse, Fetcher } from './types.js';

export interface BaseFetcherOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxSockets: number;
  userAgent: string;
  /** Which addresses may be connected to (link-local/metadata never; private only if allowed). */
  addressPolicy: AddressPolicy;
}

export const DEFAULT_FETCH_OPTIONS: BaseFetcherOptions = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  maxSockets: 256,
  userAgent: 'docxy',
  addressPolicy: { allowPrivate: false },
};

function isBlocked(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; erroredSysCall?: string };
  return e?.code === 'EADDRBLOCKED' || e?.cause?.code === 'EADDRBLOCKED' || /address not allowed/.test(String((err as Error)?.message));
}

function isTimeoutCode(err: unknown): boolean {
  const code = (err as { code?: string; cause?: { code?: string } })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  return code === 'ECONNECTTIMEOUT';
}

/** Relays body bytes and fails the stream when none arrive for `idleMs`. */
function withIdleTimeout(body: Readable, idleMs: number, abort: (err: Error) => void): Readable {
  const out = new PassThrough({ highWaterMark: 64 * 1024 });
  // The body may fail before its consumer attaches; the consumer still sees the error
  // (stream.errored), but an unheard 'error' event must not crash the process.
  out.on('error', () => {});
  // Resetting a timer per chunk (thousands per second) costs more than the check: note
  // the time of the last bytes, and let one timer look at it when it could have expired.
  let lastBytesAt = Date.now();
  const check = (): void => {
    const quiet = Date.now() - lastBytesAt;
    if (quiet < idleMs) {
      timer = setTimeout(check, idleMs - quiet);
      return;
    }
    const err = new UpstreamUnavailableError(`upstream sent no bytes for ${idleMs} ms`, 'idle');
    out.destroy(err); // first, so the abort's own error below does not replace this one
    abort(err);
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(check, idleMs);
  body.on('data', () => {
    lastBytesAt = Date.now();
  });
  body.on('end', () => clearTimeout(timer));
  body.on('error', (err) => {
    clearTimeout(timer);
    if (out.destroyed) return;
    out.destroy(
      err instanceof UpstreamUnavailableError ? err : new UpstreamUnavailableError(`upstream body failed: ${err.message}`, 'network', err),
    );
  });
  out.on('close', () => {
    clearTimeout(timer);
    // The reader went away (client hung up): stop pulling from upstream.
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(out);
  return out;
}

export function baseFetcher(options: Partial<BaseFetcherOptions> = {}): Fetcher {
  const opts = { ...DEFAULT_FETCH_OPTIONS, ...options };
  const agents = createAgents({ ...opts, lookup: guardedLookup(opts.addressPolicy) as never });
  return async (request: FetchRequest): Promise<FetchResponse> => {
    const controller = new AbortController();
    // IP literals skip DNS lookup, so the address policy is applied to them here.
    if (isBlockedUrl(request.url, opts.addressPolicy)) throw AddressRefusedError.forLiteral(request.url, opts.addressPolicy);
    const onOuterAbort = (): void => controller.abort(request.signal?.reason);
    if (request.signal?.aborted) onOuterAbort();
    request.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const headersTimer = setTimeout(
      () => controller.abort(new UpstreamUnavailableError(`no response headers within ${opts.headersTimeoutMs} ms`, 'headers')),
      opts.headersTimeoutMs,
    );
    let response: Response;
    try {
      response = await fetch(request.url.href, {
        method: request.method,
        headers: { 'user-agent': opts.userAgent, ...request.headers },
        body: request.body,
        redirect: 'manual',
        compress: false,
        signal: controller.signal,
        agent: (url: URL) => (url.protocol === 'https:' ? agents.https : agents.http),
      });
    } catch (err) {
      request.signal?.removeEventListener('abort', onOuterAbort);
      const reason: unknown = controller.signal.reason;
      if (reason instanceof UpstreamUnavailableError) throw reason;
      if (request.signal?.aborted) throw err;
      if (isBlocked(err)) throw new AddressRefusedError(request.url.host, 'resolved', opts.addressPolicy);
      if (isTimeoutCode(err)) throw new UpstreamUnavailableError(`connect to ${request.url.host} timed out`, 'connect', err);
      throw new UpstreamUnavailableError(`upstream ${request.url.host} unreachable`, 'network', err);
    } finally {
      clearTimeout(headersTimer);
    }
    const raw = response.body as unknown as Readable | null;
    const bodiless = request.method === 'HEAD' || response.status === 204 || response.status === 304;
    if (bodiless) raw?.resume();
    const body = raw && !bodiless ? withIdleTimeout(raw, opts.idleTimeoutMs, (err) => controller.abort(err)) : null;
    body?.once('close', () => request.signal?.removeEventListener('abort', onOuterAbort));
    return {
      status: response.status,
      url: new URL(response.url || request.url.href),
      headers: response.headers as unknown as Headers,
      body,
    };
  };
}
