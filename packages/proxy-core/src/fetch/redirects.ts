/**
 * Follows redirects server-side. Docker Hub answers blob GETs with a 307 to a CDN;
 * the registry's credentials must never travel there, so `Authorization` is dropped
 * whenever a hop leaves the original origin (as go-containerregistry and
 * distribution's proxy do). A `allowRedirect` hook lets the caller veto a target.
 */
import { RegistryError } from '../errors.js';
import { discard, type FetchRequest, type Fetcher } from './types.js';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface RedirectOptions {
  maxRedirects?: number;
  /** Returns false to refuse a redirect target (SSRF guard). */
  allowRedirect?: (target: URL) => boolean;
}

export function withRedirects(next: Fetcher, options: RedirectOptions = {}): Fetcher {
  const max = options.maxRedirects ?? 5;
  return async (request) => {
    const origin = request.url.origin;
    let current: FetchRequest = request;
    for (let hop = 0; ; hop++) {
      const response = await next(current);
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || !location) return response;
      discard(response);
      if (hop >= max) throw new RegistryError('UNAVAILABLE', 'upstream redirected too many times');
      let target: URL;
      try {
        target = new URL(location, current.url);
      } catch {
        throw new RegistryError('UNAVAILABLE', 'upstream sent an invalid redirect');
      }
      if (target.protocol !== 'http:' && target.protocol !== 'https:')
        throw new RegistryError('UNAVAILABLE', 'upstream redirected to a non-HTTP URL');
      if (options.allowRedirect && !options.allowRedirect(target))
        throw new RegistryError('UNAVAILABLE', 'upstream redirected to a refused host');
      const headers = { ...current.headers };
      if (target.origin !== origin) {
        for (const key of Object.keys(headers)) if (key.toLowerCase() === 'authorization') delete headers[key];
      }
      // 303 (and historically 301/302 for POST) turns into a GET without a body.
      const method = response.status === 303 && current.method === 'POST' ? 'GET' : current.method;
      current = { ...current, url: target, headers, method, body: method === 'GET' || method === 'HEAD' ? undefined : current.body };
    }
  };
}
