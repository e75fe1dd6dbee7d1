/** The standard Fetcher stack: retry → redirects → base (node-fetch with timeouts). */
import { baseFetcher, type BaseFetcherOptions } from '../fetch/base-fetcher.js';
import { withRedirects, type RedirectOptions } from '../fetch/redirects.js';
import { withRetry, type RetryOptions } from '../fetch/retry.js';
import type { Fetcher } from '../fetch/types.js';

export interface FetcherStackOptions {
  base?: Partial<BaseFetcherOptions>;
  redirects?: RedirectOptions;
  retry?: RetryOptions;
}

export function createFetcherStack(options: FetcherStackOptions = {}): Fetcher {
  return withRetry(withRedirects(baseFetcher(options.base), options.redirects), options.retry);
}
