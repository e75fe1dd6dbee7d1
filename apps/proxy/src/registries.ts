/** Builds one RoutedRegistry per configured registry, sharing one Fetcher stack. */
import {
  AccountPool,
  FallbackRegistry,
  CachedRegistry,
  RealmDiscovery,
  TokenRelay,
  UpstreamRegistry,
  baseFetcher,
  withRedirects,
  withRetry,
  withTokenAuth,
  type Fetcher,
  type RegistrySource,
  type UpstreamConfig,
} from '@docxy/proxy-core';
import type { Cache } from './cache.js';
import type { Config } from './config/schema.js';
import { RegistryRouter, type RoutedRegistry } from './registry-router.js';

/** retry → [token auth with the operator's accounts, proxy mode] → redirects → node-fetch. */
export function createFetcher(config: Config): Fetcher {
  return withRedirects(
    baseFetcher({
      connectTimeoutMs: config.upstream.connectTimeoutMs,
      headersTimeoutMs: config.upstream.headersTimeoutMs,
      idleTimeoutMs: config.upstream.idleTimeoutMs,
      maxSockets: config.upstream.maxSockets,
      addressPolicy: { allowPrivate: config.upstream.allowPrivateNetworks },
    }),
  );
}

/** Fallback mirrors, each with an anonymous token handshake of its own (never a client's token). */
function withFallbacks(primary: RegistrySource, name: string, urls: string[], fetcher: Fetcher, config: Config): RegistrySource {
  if (urls.length === 0) return primary;
  const fallbacks = urls.map((url) => {
    const upstream: UpstreamConfig = { name, url: new URL(url), trustedRealms: [], libraryPrefix: name === 'docker.io' };
    const retrying = withRetry(fetcher, { retries: config.upstream.retries });
    const discovery = new RealmDiscovery(upstream, retrying);
    return new UpstreamRegistry(upstream, withTokenAuth(fetcher, { discovery, accounts: new AccountPool([]), tokenFetcher: retrying }));
  });
  return new FallbackRegistry(primary, fallbacks);
}

export function createRouter(config: Config, fetcher: Fetcher, cache: Cache): RegistryRouter {
  const registries = new Map<string, RoutedRegistry>();
  for (const [name, entry] of Object.entries(config.registries)) {
    const upstream: UpstreamConfig = {
      name,
      url: new URL(entry.url),
      trustedRealms: entry.trustedRealms,
      libraryPrefix: name === 'docker.io',
    };
    const retrying = withRetry(fetcher, { retries: config.upstream.retries });
    const discovery = new RealmDiscovery(upstream, retrying);
    // Proxy mode: upstream calls carry the operator's account tokens, never a client's.
    const upstreamFetcher =
      config.auth.mode === 'proxy'
        ? withRetry(withTokenAuth(fetcher, { discovery, accounts: new AccountPool(entry.accounts), tokenFetcher: retrying }), {
            retries: config.upstream.retries,
          })
        : retrying;
    const source = new CachedRegistry({
      registry: name,
      upstream: withFallbacks(new UpstreamRegistry(upstream, upstreamFetcher), name, entry.fallbacks, fetcher, config),
      store: cache.store,
      fills: cache.fills,
      manifests: cache.manifests,
      access: cache.access,
      tagFreshnessMs: config.cache.tagFreshness,
      maxStaleMs: config.cache.maxStale,
      redirectBlobs: config.cache.redirect,
    });
    const tokens = new TokenRelay(discovery, retrying, cache.access && ((token) => cache.access!.noteAnonymousToken(token)));
    registries.set(name, { upstream, source, tokens, hosts: entry.hosts });
  }
  return new RegistryRouter(registries, config.defaultRegistry);
}
