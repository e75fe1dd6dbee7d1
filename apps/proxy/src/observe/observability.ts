/**
 * What the mirror tells about itself: Prometheus metrics, readiness, the status page and
 * the per-request log fields. Created before the cache and the registries (they report
 * to `events`), attached to them once they exist, started once the mirror listens.
 */
import { join } from 'node:path';
import { FsBlobStore, type MirrorEvents } from '@docxy/proxy-core';
import type Koa from 'koa';
import { ImageRules } from '../access/image-rules.js';
import type { Cache } from '../cache.js';
import { recentPullsPolicy } from '../config/observe-schema.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { createFetcher } from '../registries.js';
import type { RegistryRouter } from '../registry-router.js';
import { clientSetup } from './client-setup.js';
import { startMetricsListener, type MetricsListener } from './metrics-listener.js';
import { absent, createMetrics, present } from './metrics.js';
import { QuotaBoard } from './quota.js';
import { Readiness, type ReadinessReport } from './readiness.js';
import { requestMetrics } from './request-metrics.js';
import { statusRoutes } from './status-routes.js';
import { TrafficStats } from './traffic-stats.js';

export interface ObservabilityDeps {
  config: Config;
  logger: Logger;
}

export interface Observability {
  /** Handed to the core: cache outcomes, upstream bytes and exchanges. */
  events: MirrorEvents;
  /** Gives the metrics the live objects they read from (store, fills, registries). */
  attach(parts: { cache: Cache; router: RegistryRouter; publicUrl: URL }): void;
  /** Middleware placed first in the app (sees every request and its response). */
  middleware: Koa.Middleware[];
  /** Placed after admission (IP lists apply): the status page, `/-/stats`, `/metrics` on the main listener. */
  routes: Koa.Middleware;
  /** `/readyz`: store writable, configuration loaded; upstream reachability reported, not fatal. */
  readiness(): Promise<ReadinessReport>;
  /** The TLS certificate being served expires at `notAfter` (undefined: none). Call at start and on each renewal. */
  certificateExpiry(notAfter: Date | undefined): void;
  /** Once the mirror listens (e.g. a separate metrics listener). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Seconds between the status page's refreshes. */
const PAGE_REFRESH_SECONDS = 5;

export function createObservability({ config, logger }: ObservabilityDeps): Observability {
  const metrics = createMetrics();
  let cache: Cache | undefined;
  const pulls = recentPullsPolicy(config);
  const anonymousRules = new ImageRules(config.access.rules);
  /**
   * Could a client without a login have made this pull? The image must be open to
   * anonymous clients, and in passthrough mode (where the upstream decides) the
   * repository must have been read with an anonymous token: a private repository pulled
   * with a user's own credentials is never named to the page's visitors.
   */
  const neededNoLogin = (registry: string, repository: string): boolean =>
    anonymousRules.allows(undefined, registry, repository) &&
    (config.auth.mode === 'proxy' || (cache?.access?.isPublic(registry, repository) ?? false));
  const stats = new TrafficStats({ recentPulls: pulls !== 'none', listable: pulls === 'no-login' ? neededNoLogin : undefined });
  const quota = new QuotaBoard();
  const registryNames = Object.keys(config.registries);
  const readiness = new Readiness({
    spoolDir: join(config.dataDir, 'tmp'),
    // Its own connection pool, with the same address policy and timeouts as the mirror's;
    // not observed, so probes do not count as upstream traffic.
    fetcher: createFetcher(config),
    registries: Object.entries(config.registries).map(([name, entry]) => ({ name, url: entry.url })),
  });
  let listener: MetricsListener | undefined;
  let routes: Koa.Middleware = (_ctx, next) => next();

  const events: MirrorEvents = {
    cacheOutcome: ({ registry, kind, outcome }) => {
      metrics.cacheRequests.inc({ registry, kind, outcome });
      stats.cacheOutcome(outcome);
    },
    upstreamBytes: ({ registry, bytes }) => {
      metrics.upstreamBytes.inc({ registry }, bytes);
      stats.fetchedUpstream(bytes);
    },
    upstreamExchange: ({ registry, method, status, outcome, seconds, remaining }) => {
      metrics.upstreamSeconds.observe({ registry, method }, seconds);
      metrics.upstreamRequests.inc({ registry, method, outcome, status: status === undefined ? 'none' : String(status) });
      quota.observe(registry, remaining);
    },
  };

  /** Gauges read from live objects, set just before each scrape. */
  const refreshGauges = (): void => {
    if (cache) {
      metrics.fillsInFlight.set(cache.fills.active);
      metrics.fillReaders.set(cache.fills.readers);
      if (cache.store instanceof FsBlobStore) {
        for (const gauge of [metrics.storeBytes, metrics.storeObjects, metrics.storeMaxBytes]) present(metrics.registry, gauge);
        metrics.storeBytes.set(cache.store.index.total);
        metrics.storeObjects.set(cache.store.index.size);
        if (cache.maxSize !== undefined) metrics.storeMaxBytes.set(cache.maxSize);
      }
    }
    metrics.quotaRemaining.reset();
    for (const entry of quota.entries()) metrics.quotaRemaining.set({ registry: entry.registry, account: entry.account }, entry.remaining);
  };
  const metricsText = async (): Promise<{ contentType: string; text: string }> => {
    refreshGauges();
    return { contentType: metrics.registry.contentType, text: await metrics.registry.metrics() };
  };
  const figures = () => ({
    ...stats.snapshot(),
    registries: registryNames,
    fills: { active: cache?.fills.active ?? 0, readers: cache?.fills.readers ?? 0 },
    quota: quota.entries(),
  });

  return {
    events,
    attach(parts) {
      cache = parts.cache;
      readiness.attach(parts.cache.store);
      parts.cache.onEvict((_digest, size) => {
        metrics.evictions.inc();
        metrics.evictedBytes.inc(size);
      });
      quota.usePools(
        registryNames.flatMap((registry) => {
          const pool = parts.router.select({ ns: registry }).accounts;
          return pool ? [{ registry, pool }] : [];
        }),
      );
      const shown = config.registries[config.defaultRegistry] ? config.defaultRegistry : registryNames[0]!;
      routes = statusRoutes({
        statusPage: config.metrics.statusPage,
        metricsPath: config.metrics.enabled && !config.metrics.listen ? config.metrics.path : undefined,
        figures,
        metricsText,
        page: {
          publicUrl: parts.publicUrl,
          registries: registryNames,
          snippets: clientSetup(parts.publicUrl, { name: shown, url: config.registries[shown]!.url }),
          refreshSeconds: PAGE_REFRESH_SECONDS,
        },
      });
    },
    middleware: [requestMetrics(metrics, stats, config.metrics.path)],
    routes: (ctx, next) => routes(ctx, next),
    readiness: () => readiness.check(),
    certificateExpiry(notAfter) {
      if (notAfter) {
        present(metrics.registry, metrics.certificateExpiry);
        metrics.certificateExpiry.set(Math.floor(notAfter.getTime() / 1000));
      } else absent(metrics.registry, metrics.certificateExpiry);
    },
    async start() {
      if (config.metrics.enabled && config.metrics.listen) {
        listener = await startMetricsListener(config.metrics.listen, config.metrics.path, metricsText);
        logger.info({ url: `${listener.url}${config.metrics.path}` }, 'metrics listening');
      }
    },
    async stop() {
      await listener?.close();
      listener = undefined;
    },
  };
}
