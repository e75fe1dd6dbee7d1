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
      addressPolicy: { allowPrivate: config.upstream.allowPrivateNetworks },
    },
    retry: { retries: config.upstream.retries },
  });
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
    const discovery = new RealmDiscovery(upstream, fetcher);
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
    const tokens = new TokenRelay(discovery, fetcher, cache.access && ((token) => cache.access!.noteAnonymousToken(token)));
    registries.set(name, { upstream, source, tokens, hosts: entry.hosts });
  }
  return new RegistryRouter(registries, config.defaultRegistry);
}
