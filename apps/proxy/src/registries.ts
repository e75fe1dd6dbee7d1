/** Builds one RoutedRegistry per configured registry, sharing one transport (one socket pool). */
import {
  AccountPool,
  CachedRegistry,
  FallbackRegistry,
  TokenRelay,
  UpstreamRegistry,
  createRegistryFetchers,
  createTransport,
  type Fetcher,
  type MirrorEvents,
  type RegistrySource,
  type UpstreamConfig,
} from '@docxy/proxy-core';
import type { Cache } from './cache.js';
import type { Config } from './config/schema.js';
import { RegistryRouter, type RoutedRegistry } from './registry-router.js';

export function createFetcher(config: Config): Fetcher {
  return createTransport({
    connectTimeoutMs: config.upstream.connectTimeoutMs,
    headersTimeoutMs: config.upstream.headersTimeoutMs,
    idleTimeoutMs: config.upstream.idleTimeoutMs,
    maxSockets: config.upstream.maxSockets,
    addressPolicy: { allowPrivate: config.upstream.allowPrivateNetworks },
  });
}

/** Fallback mirrors, each with an anonymous token handshake of its own (never a client's token). */
function withFallbacks(primary: RegistrySource, name: string, urls: string[], transport: Fetcher, config: Config): RegistrySource {
  if (urls.length === 0) return primary;
  const fallbacks = urls.map((url) => {
    const upstream: UpstreamConfig = { name, url: new URL(url), trustedRealms: [], libraryPrefix: name === 'docker.io' };
    const { api } = createRegistryFetchers(transport, upstream, {
      retry: { retries: config.upstream.retries },
      accounts: new AccountPool([]),
    });
    return new UpstreamRegistry(upstream, api);
  });
  return new FallbackRegistry(primary, fallbacks);
}

export function createRouter(config: Config, transport: Fetcher, cache: Cache, events: MirrorEvents = {}): RegistryRouter {
  const registries = new Map<string, RoutedRegistry>();
  for (const [name, entry] of Object.entries(config.registries)) {
    const upstream: UpstreamConfig = {
      name,
      url: new URL(entry.url),
      trustedRealms: entry.trustedRealms,
      libraryPrefix: name === 'docker.io',
    };
    // Proxy mode: upstream calls carry the operator's account tokens, never a client's.
    const accounts = config.auth.mode === 'proxy' ? new AccountPool(entry.accounts) : undefined;
    const fetchers = createRegistryFetchers(transport, upstream, { retry: { retries: config.upstream.retries }, accounts, events });
    const source = new CachedRegistry({
      registry: name,
      upstream: withFallbacks(new UpstreamRegistry(upstream, fetchers.api), name, entry.fallbacks, transport, config),
      store: cache.store,
      fills: cache.fills,
      manifests: cache.manifests,
      links: cache.links,
      access: cache.access,
      tagFreshnessMs: config.cache.tagFreshness,
      maxStaleMs: config.cache.maxStale,
      redirectBlobs: config.cache.redirect,
      events,
    });
    const tokens = new TokenRelay(
      fetchers.discovery,
      fetchers.tokens,
      cache.access && ((token) => cache.access!.noteAnonymousToken(token)),
    );
    registries.set(name, { upstream, source, tokens, hosts: entry.hosts, accounts });
  }
  return new RegistryRouter(registries, config.defaultRegistry);
}
