/**
 * What the mirror tells about itself: Prometheus metrics, readiness, the status page and
 * the per-request log fields. Created before the cache and the registries (they report
 * to `events`), attached to them once they exist, started once the mirror listens.
 */
import type { MirrorEvents } from '@docxy/proxy-core';
import type Koa from 'koa';
import type { Cache } from '../cache.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { RegistryRouter } from '../registry-router.js';

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
  /** Once the mirror listens (e.g. a separate metrics listener). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createObservability(_deps: ObservabilityDeps): Observability {
  return {
    events: {},
    attach: () => {},
    middleware: [],
    start: async () => {},
    stop: async () => {},
  };
}
