/**
 * The one place the Fetcher stack is built, for the app and the tests alike.
 *
 *   transport (one per process: one socket pool)  = redirects → base (node-fetch, timeouts, address policy)
 *   per registry: tokens (realm discovery, token relay) = retry → [observer] → transport
 *                 api (manifests, blobs, tags)         = retry → [token auth with accounts] → [observer] → transport
 *
 * `accounts` is given for proxy mode and for fallback mirrors: their requests carry
 * tokens the mirror fetches itself, never a client's.
 */
import { baseFetcher, type BaseFetcherOptions } from '../fetch/base-fetcher.js';
import { withRedirects, type RedirectOptions } from '../fetch/redirects.js';
import { withRetry, type RetryOptions } from '../fetch/retry.js';
import type { Fetcher } from '../fetch/types.js';
import { withObserver } from '../fetch/observed.js';
import type { MirrorEvents } from '../events.js';
import { RealmDiscovery } from '../auth/realm-discovery.js';
import { withTokenAuth } from '../auth/token-auth.js';
import type { AccountPool } from './account-pool.js';
import type { UpstreamConfig } from './upstream-config.js';

export function createTransport(options: Partial<BaseFetcherOptions> = {}, redirects?: RedirectOptions): Fetcher {
  return withRedirects(baseFetcher(options), redirects);
}

export interface RegistryFetchers {
  /** For registry API calls. */
  api: Fetcher;
  /** For token requests (relay, account tokens) and realm discovery. */
  tokens: Fetcher;
  discovery: RealmDiscovery;
}

export interface RegistryFetcherOptions {
  retry?: RetryOptions;
  /** Told about every upstream exchange (each attempt of a retried one). */
  events?: MirrorEvents;
  /** Upstream calls authenticate with these accounts (proxy mode, fallbacks). */
  accounts?: AccountPool;
}

export function createRegistryFetchers(shared: Fetcher, upstream: UpstreamConfig, options: RegistryFetcherOptions = {}): RegistryFetchers {
  const transport = options.events ? withObserver(shared, upstream.name, options.events) : shared;
  const tokens = withRetry(transport, options.retry);
  const discovery = new RealmDiscovery(upstream, tokens);
  const api = options.accounts
    ? withRetry(withTokenAuth(transport, { discovery, accounts: options.accounts, tokenFetcher: tokens }), options.retry)
    : tokens;
  return { api, tokens, discovery };
}
