/** Builds one RoutedRegistry per configured registry, sharing one Fetcher stack. */
import { CachedRegistry, RealmDiscovery, TokenRelay, UpstreamRegistry, createFetcherStack, type Fetcher, type UpstreamConfig } from '@docxy/proxy-core';
import type { Cache } from './cache.js';
import type { Config } from './config/schema.js';
import { RegistryRouter, type RoutedRegistry } from './registry-router.js';

export function createFetcher(config: Config): Fetcher {
  return createFetcherStack({
    base: {
      connectTimeoutMs: config.upstream.connectTimeoutMs,
      headersTimeoutMs: config.upstream.headersTimeoutMs,
      idleTimeoutMs: config.upstream.idleTimeoutMs,
      maxSockets: config.upstream.maxSockets,
    },
    retry: { retries: config.upstream.retries },
  });
}

export function createRouter(config: Config, fetcher: Fetcher, cache: Cache): RegistryRouter {
  const registries = new Map<string, RoutedRegistry>();
  let router: RegistryRouter | undefined;
  for (const [name, entry] of Object.entries(config.registries)) {
    const upstream: UpstreamConfig = {
      name,
      url: new URL(entry.url),
      trustedRealms: entry.trustedRealms,
      libraryPrefix: name === 'docker.io',
    };
    const discovery = new RealmDiscovery(upstream, fetcher);
    // Scopes are the client's view of names; map each to this registry's name, drop others.
    const mapName = (clientName: string): string | undefined => {
      try {
        const route = router!.resolve(clientName);
        return route.registry.upstream.name === name ? route.upstreamName : undefined;
      } catch {
        return undefined;
      }
    };
    const source = new CachedRegistry({
      registry: name,
      upstream: new UpstreamRegistry(upstream, fetcher),
      store: cache.store,
      fills: cache.fills,
      manifests: cache.manifests,
      access: cache.access,
      tagFreshnessMs: config.cache.tagFreshness,
      maxStaleMs: config.cache.maxStale,
      redirectBlobs: config.cache.redirect,
    });
    const tokens = new TokenRelay(discovery, fetcher, mapName, cache.access && ((token) => cache.access!.noteAnonymousToken(token)));
    registries.set(name, { upstream, source, tokens });
  }
  router = new RegistryRouter(registries, config.defaultRegistry);
  return router;
}
